package geo

import "math"

// The posterior: "which camp and tent is this pilgrim in", not "where is
// this fix". See docs/layout.md (Posterior) for the derivation; in short:
//
//   - Fusion. While a pilgrim stays put, fixes are averaged into one fused
//     position. GPS error is correlated in time (AR(1) with time constant
//     corrTauS), so a fix dt after the last adds (1−ρ)/(1+ρ) of an
//     independent fix's information, ρ = exp(−dt/τ) (the asymptotic
//     information rate of an AR(1) mean). Error common to every fix
//     (multipath, a device's bias) does not average out: it stays as a
//     floor. That floor differs between devices: most share little error
//     (floorLoM), some carry multipath or a bias of several metres
//     (floorHiM, a share floorHiShare), and fixes of a pilgrim at rest
//     cannot tell which. So the fused position's error is a mixture of two
//     Gaussians with per-axis σ² = floor² + 1/info, info = Σ Δn_k/σ_k²,
//     σ_k = accuracy_k/1.5096, and every mass below is the mixture's.
//     A fix moving faster than movingMps, a gap over maxGapS, or two fixes
//     in a row far from the fused position (one is taken for a jump) start
//     over from the newest fix: the answer follows a walking pilgrim.
//   - Likelihood. A region R (a tent, a camp's lanes, the streets) where the
//     pilgrim is uniformly placed gives the fused position the density
//     mass_R/area_R, mass_R being the Gaussian's mass over R (tents: the
//     exact erf product as in Locate; camps: the product over the fence's
//     edges of the half-plane masses).
//   - Prior. A density over the ground: resting pilgrims are in tents
//     (restTentToLane times as dense as the lanes), walking ones in lanes
//     and streets; the pilgrim's registered tent and camp are denser still
//     (assignedTentK, assignedCampK), but not so much that a pilgrim
//     visiting the next tent is put in their own.
//   - Posterior ∝ prior density × mass over each region, then mixed with
//     jumpShare of "this fix is garbage" (a jump), which caps every
//     probability below 1 − jumpShare.
const (
	floorLoM        = 1.5  // per-axis σ of error shared by successive fixes, most devices …
	floorHiM        = 9.0  // … and a device with multipath or a bias
	floorHiShare    = 0.3  // the share of the latter
	corrTauS        = 60.0 // time constant of the correlated part of GPS error
	movingMps       = 0.6  // a reported speed above this is walking
	maxGapS         = 600.0
	maxFusedFixes   = 30.0 // info is capped at this many independent fixes
	jumpGate        = 16.0 // squared Mahalanobis distance beyond which a fix is far
	jumpShare       = 0.01 // chance that a fix is a jump, kept out of every answer
	restTentToLane  = 20.0 // resting: tents this much denser than lanes …
	restStreetRatio = 1.0  // … and streets as dense as lanes
	walkTentToLane  = 0.05 // walking: tents this much less dense than lanes
	assignedTentK   = 50.0 // the registered tent's density over another tent's
	assignedCampK   = 2.0  // the registered camp's density over another camp's
	postReachSigmas = 3.5
	hiReachSigmas   = 3.0 // the wide component: tents beyond are < 0.3 % of its share
)

const maxPostCamps = 12

// Fix is one position report as the posterior reads it.
type Fix struct {
	T        int64 // Unix ns
	Lat, Lon float64
	AccM     float64 // reported accuracy, the 68 % radius; ≤ 0 unknown
	SpeedMps float64 // ≤ 0 unknown
}

// Track is what the posterior keeps of one pilgrim between fixes: the fused
// position and how much it is worth. 32 bytes; the zero value is empty.
type Track struct {
	t      int64
	x, y   float64 // fused position, frame metres
	info   float32 // 1/m²: information of the uncorrelated part
	far    uint8   // consecutive fixes far from the fused position
	moving bool
	valid  bool
}

// fusedWeight is how many independent fixes of accuracy accM the track is
// worth (0 when empty).
func (tr *Track) fusedWeight(accM float64) float64 {
	if !tr.valid {
		return 0
	}
	s := accM / accuracyToSigma
	return float64(tr.info) * s * s
}

// Prior is what the registry says of a pilgrim: their camp and tent ids
// ("" when unknown).
type Prior struct {
	Camp, Tent string
}

// postState is the scratch of one posterior evaluation; it lives on the stack.
type postState struct {
	n     int
	cand  [MaxCandidates]candidate
	nc    int
	camps [maxPostCamps]int32
	campW [maxPostCamps]float64
	tentW float64
	total float64
}

// Refine updates tr with f and replaces loc's camp, tent and probabilities
// (loc is Locate's answer for f) by the posterior: Camp is the camp holding
// the most probability (or "" when the streets outside every camp hold
// more), CampProbability its probability, Tent the most probable tent and
// TentProbability its probability, Candidates the most probable tents and
// StreetProbability the chance of being in no tent. It does not allocate.
func (ix *Index) Refine(loc *Location, tr *Track, f Fix, pr Prior) {
	if !(f.Lat >= -90 && f.Lat <= 90 && f.Lon >= -180 && f.Lon <= 180) {
		return
	}
	ix.fuse(tr, f)
	ix.Estimate(loc, tr, pr, f.AccM)
}

// Estimate fills loc's posterior fields from tr without a new fix (a query
// that recomputes what the last Refine said). accM is the newest fix's
// accuracy.
func (ix *Index) Estimate(loc *Location, tr *Track, pr Prior, accM float64) {
	if !tr.valid {
		return
	}
	var s postState
	v := 1 / float64(tr.info)
	ix.weighPosterior(&s, vec{tr.x, tr.y}, math.Sqrt(floorLoM*floorLoM+v), math.Sqrt(floorHiM*floorHiM+v), tr.moving, pr)
	ix.fillPosterior(loc, &s)
	loc.FusedFixes = round2(tr.fusedWeight(accOrDefault(accM)))
}

func accOrDefault(accM float64) float64 {
	if !(accM > 0) {
		accM = defaultAccuracyM
	}
	return min(max(accM, minAccuracyM), maxAccuracyM)
}

// fuse folds f into tr (see the model above).
func (ix *Index) fuse(tr *Track, f Fix) {
	acc := accOrDefault(f.AccM)
	σw := acc / accuracyToSigma
	wi := 1 / (σw * σw)
	p := ix.f.xy(Point{Lat: f.Lat, Lon: f.Lon})
	moving := f.SpeedMps >= movingMps
	dt := float64(f.T-tr.t) / 1e9
	reset := func(moving bool) {
		*tr = Track{t: f.T, x: p.X, y: p.Y, info: float32(wi), moving: moving, valid: true}
	}
	if !tr.valid || moving || dt > maxGapS {
		reset(moving)
		return
	}
	if dt < 0 {
		return // an older fix: the track has moved on
	}
	m := vec{tr.x, tr.y}
	d2 := p.dist2(m)
	if d2 > jumpGate*(1/float64(tr.info)+σw*σw) {
		// Far from where the pilgrim was: a jump, or a move. A device
		// that says it stands still gets one fix's benefit of the doubt;
		// a second far fix in a row (or no speed to go by) starts over.
		if tr.far == 0 && f.SpeedMps > 0 {
			tr.far = 1
			return
		}
		reset(true)
		return
	}
	ρ := math.Exp(-dt / corrTauS)
	w := (1 - ρ) / (1 + ρ) * wi
	info := float64(tr.info)
	k := w / (info + w)
	tr.x, tr.y = m.X+(p.X-m.X)*k, m.Y+(p.Y-m.Y)*k
	tr.info = float32(min(info+w, maxFusedFixes*wi))
	tr.t, tr.far, tr.moving = f.T, 0, false
}

// weighPosterior weighs every tent, every camp's lanes and the streets
// around m for a mixture of two Gaussians of per-axis σ lo and hi (shares
// 1−floorHiShare and floorHiShare).
func (ix *Index) weighPosterior(s *postState, m vec, lo, hi float64, moving bool, pr Prior) {
	reach := max(postReachSigmas*lo, hiReachSigmas*hi)
	invLo, invHi := 1/(lo*math.Sqrt2), 1/(hi*math.Sqrt2)
	cutLo := postReachSigmas * lo
	tentD, laneD, streetD := 1.0, 1/restTentToLane, restStreetRatio/restTentToLane
	if moving {
		tentD, laneD, streetD = walkTentToLane, 1, 1
	}
	aTent, aCamp := int32(-1), int32(-1)
	if pr.Tent != "" {
		if i, ok := ix.layout.lookup.tents[pr.Tent]; ok {
			aTent = int32(i)
			aCamp = ix.tents[i].camp
		}
	}
	if aCamp < 0 && pr.Camp != "" {
		if i, ok := ix.layout.lookup.camps[pr.Camp]; ok {
			aCamp = int32(i)
		}
	}

	// The camps in reach, each with its mass and prior weight.
	var campMass, campK, tentMass [maxPostCamps]float64
	addCamp := func(c int32) {
		if ix.campBoxes[c].dist2(m) > reach*reach || s.nc == maxPostCamps {
			return
		}
		if cm := (1-floorHiShare)*ix.campMass(c, m, invLo) + floorHiShare*ix.campMass(c, m, invHi); cm > 0 {
			s.camps[s.nc], campMass[s.nc], campK[s.nc] = c, cm, 1
			if c == aCamp {
				campK[s.nc] = assignedCampK
			}
			s.nc++
		}
	}
	k, centre, inGrid := ix.grid.cell(m)
	q := centre.dist(m)
	switch {
	case inGrid && reach+q < campReachM:
		lo, hi := ix.grid.spans[k], ix.grid.spans[k+1]
		for _, r := range ix.campRefs[lo.camp:hi.camp] {
			addCamp(r.i)
		}
	case !inGrid && ix.nearestCampDist(m) > reach:
		// Far from every camp: nothing but streets.
	default:
		for i := range ix.camps {
			addCamp(int32(i))
		}
	}
	slotOf := func(c int32) int {
		for j := 0; j < s.nc; j++ {
			if s.camps[j] == c {
				return j
			}
		}
		return -1
	}
	weigh := func(t int32, slot int) {
		p := ix.rectMass2(t, m, invLo, invHi, cutLo)
		if !(p > 0) {
			return
		}
		tentMass[slot] += p
		w := tentD * campK[slot] * p
		if t == aTent {
			w *= assignedTentK
		}
		s.campW[slot] += w
		s.tentW += w
		s.addCandidate(t, w)
	}
	if inGrid && reach <= tentReachM && s.nc > 0 {
		// The cell lists every tent within tentReachM, nearest first: the
		// same walk as Locate's scanCell.
		lo, hi := ix.grid.spans[k], ix.grid.spans[k+1]
		rel := m.sub(centre)
		stop := int(math.Ceil((reach + q) / refDistUnitM))
		rx, ry := int(math.Floor(rel.X/refUnitM+0.5)), int(math.Floor(rel.Y/refUnitM+0.5))
		rr := int(math.Ceil(reach/refUnitM)) + 1
		for _, r := range ix.tentRefs[lo.tent:hi.tent] {
			if int(r.d) > stop {
				break
			}
			ox, oy, lim := rx-int(r.dx), ry-int(r.dy), rr+int(r.rad)
			if ox*ox+oy*oy > lim*lim {
				continue
			}
			if slot := slotOf(ix.outlines[r.i].camp); slot >= 0 {
				weigh(r.i, slot)
			}
		}
	} else {
		for slot := 0; slot < s.nc; slot++ {
			for _, t := range ix.camps[s.camps[slot]].tentOrder {
				if ix.tents[t].box.dist2(m) <= reach*reach {
					weigh(t, slot)
				}
			}
		}
	}
	all := 0.0
	for j := 0; j < s.nc; j++ {
		s.campW[j] += laneD * campK[j] * max(0, campMass[j]-tentMass[j])
		s.total += s.campW[j]
		all += campMass[j]
	}
	s.total += streetD * max(0, 1-all)
}

// nearestCampDist is a lower bound of the distance from m to any camp.
func (ix *Index) nearestCampDist(m vec) float64 {
	d := math.Inf(1)
	for i := range ix.campBoxes {
		d = min(d, ix.campBoxes[i].dist2(m))
	}
	return math.Sqrt(d)
}

func (s *postState) addCandidate(t int32, p float64) {
	k := s.n
	if k == MaxCandidates {
		if p <= s.cand[k-1].p {
			return
		}
		k--
	} else {
		s.n++
	}
	for k > 0 && s.cand[k-1].p < p {
		s.cand[k] = s.cand[k-1]
		k--
	}
	s.cand[k] = candidate{t, p}
}

// rectMass2 is the mixture's mass over tent t's rectangle: for each
// component the exact erf product of Locate, sharing the geometry, and skipping the narrow one when
// the tent lies beyond cutLo of m along an axis (its mass there is < 0.03 %).
func (ix *Index) rectMass2(t int32, m vec, invLo, invHi, cutLo float64) float64 {
	r := &ix.rects[t]
	dx, dy := m.X-r.cx, m.Y-r.cy
	ax, ay := float64(r.ax), float64(r.ay)
	hu, hv := float64(r.hu), float64(r.hv)
	au, av := math.Abs(dx*ax+dy*ay), math.Abs(ax*dy-ay*dx)
	e := &ix.erf
	p := floorHiShare * 0.25 * (e.pos((hu+au)*invHi) - e.at((au-hu)*invHi)) * (e.pos((hv+av)*invHi) - e.at((av-hv)*invHi))
	if au-hu < cutLo && av-hv < cutLo {
		p += (1 - floorHiShare) * 0.25 * (e.pos((hu+au)*invLo) - e.at((au-hu)*invLo)) * (e.pos((hv+av)*invLo) - e.at((av-hv)*invLo))
	}
	return p
}

// campMass is the Gaussian's mass over camp c: for a convex fence the
// product over its edges of the mass on the inner side of each (exact for
// one edge, and close whenever the camp is wide against σ, as camps are);
// for other fences 1 or 0 by containment.
func (ix *Index) campMass(c int32, m vec, inv float64) float64 {
	ps := ix.campPlanes[c]
	if ps == nil {
		if ix.camps[c].ring.contains(m) {
			return 1
		}
		return 0
	}
	p := 1.0
	for _, h := range ps {
		d := h.n.dot(m) - h.c // > 0 outside
		p *= 0.5 * (1 - ix.erf.at(d*inv))
	}
	return p
}

// fillPosterior writes the answer into loc.
func (ix *Index) fillPosterior(loc *Location, s *postState) {
	total := s.total
	if !(total > 0) {
		return
	}
	keep := (1 - jumpShare) / total
	best, bestW := int32(-1), total-sumW(s.campW[:s.nc]) // the streets
	for k := 0; k < s.nc; k++ {
		if s.campW[k] > bestW {
			best, bestW = s.camps[k], s.campW[k]
		}
	}
	loc.CampProbability = round4(bestW * keep)
	if best >= 0 {
		c := &ix.camps[best]
		loc.Site, loc.Zone, loc.Camp, loc.CampNumber = c.site, c.zone, c.id, c.num
		if c.id != "" {
			loc.NearCamps = [2]string{}
		}
	} else if loc.Camp != "" {
		// The fix fell in a camp, but the streets around it are likelier.
		loc.NearCamps = [2]string{loc.Camp}
		loc.Camp, loc.CampNumber = "", 0
	}
	loc.Tent, loc.TentProbability = "", 0
	loc.NumCandidates = 0
	sum := 0.0
	for k := 0; k < s.n; k++ {
		p := round4(s.cand[k].p * keep)
		if p < minProbability {
			break
		}
		loc.CandidateArr[k] = TentCandidate{Tent: ix.tentIDs[s.cand[k].i], Probability: p}
		loc.NumCandidates++
		sum += p
	}
	if loc.NumCandidates > 0 && ix.tents[s.cand[0].i].camp == best {
		loc.Tent, loc.TentProbability = loc.CandidateArr[0].Tent, loc.CandidateArr[0].Probability
	}
	loc.StreetProbability = round4(max(0, 1-jumpShare-s.tentW*keep))
	loc.Posterior = true
}

func sumW(ws []float64) float64 {
	s := 0.0
	for _, w := range ws {
		s += w
	}
	return s
}
