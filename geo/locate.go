package geo

import "math"

// The probability model.
//
// A fix with accuracy a (the 68 % radius that Android and iOS report) is
// modelled as a circular 2-D Gaussian around the fix with σ = a / 1.5096
// (for a 2-D Gaussian P(r ≤ R) = 1 − exp(−R²/2σ²), which is 0.68 at
// R = 1.5096 σ). The probability that the true position is in a tent is the
// Gaussian's mass over the tent. Tents are rectangles, and a circular
// Gaussian is the same in every rotated frame, so in the tent's own axes the
// mass is exactly a product of two 1-D integrals:
//
//	P = ½[erf((hu−u)/σ√2) + erf((hu+u)/σ√2)] · ½[erf((hv−v)/σ√2) + erf((hv+v)/σ√2)]
//
// with (u, v) the fix relative to the tent's centre and hu×hv its half sizes.
// Tents farther than 3 σ are ignored (each would hold < 0.14 %). Tents do
// not overlap, so the masses add up; what is left, 1 − ΣP, is the chance that
// the pilgrim is in no tent (a lane, a street): StreetProbability. When more
// than MaxCandidates tents carry mass (or tents below 0.1 % are dropped), the
// street keeps its true probability and the unlisted tents' share is spread
// over the listed tents in proportion, so that everything sums to 1. Beyond
// ~15 m accuracy individual tents mean little; the camp and the street
// probability are what to trust.
const (
	accuracyToSigma  = 1.5096
	defaultAccuracyM = 10.0
	minAccuracyM     = 0.01 // keeps 1/σ finite
	maxAccuracyM     = 2000.0
	reachSigmas      = 3.0
	minScanM         = 10.0 // tents this close are always measured for EdgeDistanceM
	minProbability   = 0.001
	// nearRectM: a fix this far outside a tent's equivalent rectangle may
	// still be inside the tent (non-rectangular tents, projection rounding).
	nearRectM = 0.05
	// rectSlackM: a four-cornered tent within this of its equivalent
	// rectangle is measured as the rectangle (real tents are rectangles;
	// projection leaves them a few millimetres off).
	rectSlackM = 0.01
)

type candidate struct {
	i int32
	p float64
}

// locState is the scratch of one Locate call; it lives on the stack.
type locState struct {
	p                   vec
	σ, inv, reach, scan float64 // inv = 1/(σ√2)

	camp     int32
	campEdge float64
	near     [2]int32
	nearD    [2]float64

	tent     int32
	tentEdge float64

	// The MaxCandidates most likely tents so far, most likely first, and
	// the mass of every tent weighed.
	n    int
	cand [MaxCandidates]candidate
	mass float64
}

// init readies a zeroed locState for a fix at p with accuracy accM. It
// works in place: the state is large, and returning it by value cost a
// copy per fix.
func (s *locState) init(p vec, accM float64) {
	s.p, s.camp, s.tent, s.near = p, -1, -1, [2]int32{-1, -1}
	s.nearD = [2]float64{math.Inf(1), math.Inf(1)}
	s.campEdge, s.tentEdge = math.Inf(1), math.Inf(1)
	s.σ = accM / accuracyToSigma
	s.inv = 1 / (s.σ * math.Sqrt2)
	s.reach = reachSigmas * s.σ
	// Builtin min and max: the same results as math.Min and math.Max (NaN,
	// ±0), inlined, where those are assembly calls on amd64.
	s.scan = max(s.reach, minScanM)
}

// Locate places a fix: site, zone, camp, tent, the camps either side when in
// a street, the distance to the nearest edge, and the tents the accuracy
// circle spans with their probabilities. accM ≤ 0 means unknown (10 m is
// assumed); it is taken as at least 1 cm and at most 2 km. The edge
// distance is exact up to the scan radius, max(3σ, 10 m); a larger value
// only says that no wall is that close. It does not allocate and is safe
// for concurrent use.
func (ix *Index) Locate(lat, lon, accM float64) Location {
	var loc Location
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		loc.StreetProbability = 1
		return loc
	}
	ix.place(&loc, lat, lon, accM)
	// The H3 call last: it does not depend on the index, so the CPU runs it
	// while place's last cache misses are still being served.
	loc.Cell = cellAt(lat, lon, ix.res)
	return loc
}

// place is Locate after the H3 call: everything but loc.Cell, for a valid
// position. Benchmarks time it alone.
func (ix *Index) place(loc *Location, lat, lon, accM float64) {
	if !(accM > 0) {
		accM = defaultAccuracyM
	}
	accM = min(max(accM, minAccuracyM), maxAccuracyM)
	loc.AccuracyM = accM

	var s locState
	s.init(ix.f.xy(Point{Lat: lat, Lon: lon}), accM)

	switch k, centre, ok := ix.grid.cell(s.p); {
	case s.scan > tentReachM:
		ix.scanAll(&s) // too coarse for the cell lists
	case ok && ix.grid.spans[k].camp < ix.grid.spans[k+1].camp:
		ix.scanCell(&s, ix.grid.spans[k], ix.grid.spans[k+1], centre)
	default:
		// No camp within campReachM, so no tent within the scan: all that
		// is left to find is the nearest camp.
		ix.nearestCamp(&s)
	}
	ix.fill(loc, &s)
}

// scanCell weighs the tents and camps listed by the fix's grid cell, whose
// lists run from lo to hi.
func (ix *Index) scanCell(s *locState, lo, hi span, centre vec) {
	rel := s.p.sub(centre)
	q := math.Sqrt(rel.dot(rel)) // the fix's distance from the cell's centre
	// A tent at distance d from the cell's centre is at least d − q from
	// the fix: stop at the first ref beyond the scan radius. Before that,
	// skip the tents whose bounding circle lies beyond it, in whole units
	// (rx, ry round the fix to within √½ unit: one unit more of reach
	// covers it).
	stop := int(math.Ceil((s.scan + q) / refDistUnitM))
	rx, ry := int(math.Floor(rel.X/refUnitM+0.5)), int(math.Floor(rel.Y/refUnitM+0.5))
	reach := int(math.Ceil(s.scan/refUnitM)) + 1
	for _, r := range ix.tentRefs[lo.tent:hi.tent] {
		if int(r.d) > stop {
			break
		}
		ox, oy, lim := rx-int(r.dx), ry-int(r.dy), reach+int(r.rad)
		if ox*ox+oy*oy > lim*lim {
			continue
		}
		ix.weighTent(s, r.i)
	}
	if s.tent >= 0 {
		// Tents lie inside their camp (Validate sees to it), so the fix is
		// in that camp, and no nearer its fence than the tent's edge: the
		// camp needs no test, and its edge cannot be the nearest.
		s.camp = ix.outlines[s.tent].camp
		return
	}
	for _, r := range ix.campRefs[lo.camp:hi.camp] {
		limit := s.nearD[1]
		if s.camp >= 0 {
			limit = 0
		}
		if float64(r.d)-q > limit {
			break
		}
		ix.considerCamp(s, r.i)
	}
	if s.camp < 0 && s.nearD[0] > campReachM {
		// Open ground beyond the cell's camp lists.
		s.nearD = [2]float64{math.Inf(1), math.Inf(1)}
		s.near = [2]int32{-1, -1}
		ix.nearestCamp(s)
	}
}

// nearestCamp finds the camp nearest to a fix that is more than campReachM
// from every camp: only s.nearD[0] counts then (fill names no camp that far),
// and the far grid lists every camp that can hold it.
func (ix *Index) nearestCamp(s *locState) {
	if cs, ok := ix.far.near(s.p); ok {
		for _, i := range cs {
			ix.considerCamp(s, i)
		}
		return
	}
	for i := range ix.camps {
		ix.considerCamp(s, int32(i))
	}
}

// scanAll is the path for fixes far from every camp or too coarse for the
// cell lists: it measures every camp and the tents of the camps in reach.
func (ix *Index) scanAll(s *locState) {
	for i := range ix.camps {
		ix.considerCamp(s, int32(i))
	}
	for i := range ix.camps {
		if ix.campBoxes[i].dist2(s.p) > s.scan*s.scan {
			continue
		}
		for _, t := range ix.camps[i].tentOrder {
			if ix.tents[t].box.dist2(s.p) <= s.scan*s.scan {
				ix.weighTent(s, t)
			}
		}
	}
}

func (ix *Index) considerCamp(s *locState, i int32) {
	d2 := ix.campBoxes[i].dist2(s.p)
	if d2 > s.nearD[1]*s.nearD[1] {
		return // farther than the second nearest camp: cannot be in it either
	}
	c := &ix.camps[i]
	if d2 == 0 {
		if ps := ix.campPlanes[i]; ps != nil {
			if w := planesWorst(ps, s.p); w < 0 || (w == 0 && c.ring.contains(s.p)) {
				// Exactly on the fence, the ring's rule decides: it gives a
				// point on a shared fence to one camp only.
				s.camp, s.campEdge = i, -w
				return
			}
		} else if c.ring.contains(s.p) {
			s.camp, s.campEdge = i, c.ring.edgeDist(s.p)
			return
		}
	}
	d := c.ring.edgeDist(s.p)
	switch {
	case d < s.nearD[0]:
		s.near[1], s.nearD[1] = s.near[0], s.nearD[0]
		s.near[0], s.nearD[0] = i, d
	case d < s.nearD[1]:
		s.near[1], s.nearD[1] = i, d
	}
}

// weighTent weighs tent i: the distance to its edge, whether the fix is in
// it, and the Gaussian's mass over it. It is the inner loop of Locate, and
// which of its tests pass follows the tents around a fix, which no branch
// predictor learns: the edge distance is computed without branches.
func (ix *Index) weighTent(s *locState, i int32) {
	t := &ix.rects[i]
	dx, dy := s.p.X-t.cx, s.p.Y-t.cy
	ax, ay := float64(t.ax), float64(t.ay)
	hu, hv := float64(t.hu), float64(t.hv)
	// The fix in the rectangle's axes, and how far outside it is along each
	// (negative inside).
	u, v := dx*ax+dy*ay, ax*dy-ay*dx
	au, av := math.Abs(u), math.Abs(v)
	ou, ov := au-hu, av-hv
	xu, xv := max(ou, 0), max(ov, 0)
	out := math.Sqrt(xu*xu + xv*xv) // distance from outside, 0 inside
	worst := max(ou, ov)
	edge := out - min(worst, 0) // inside: the distance to the nearest side
	// Containment is decided on the true outline; the rectangle grown by
	// the tent's slack (how far the tent may reach beyond it) says when
	// that is worth asking (it matches the default layout's tents to 5 mm).
	// The slack is read only past the bound every tent's slack is under.
	if worst < nearRectM+ix.maxSlack && s.tent < 0 {
		o := &ix.outlines[i]
		if worst < nearRectM+float64(o.slack) {
			ring := ringXY(ix.tentPts[o.ptLo:ix.outlines[i+1].ptLo])
			if ps := ix.planes[o.planeLo:ix.outlines[i+1].planeLo]; len(ps) > 0 {
				// Convex: a few products answer both questions. Exactly on
				// a wall, the ring's rule decides, which gives a point on a
				// shared wall to one tent only.
				if w := planesWorst(ps, s.p); w < 0 || (w == 0 && ring.contains(s.p)) {
					s.tent, edge = i, -w
				}
			} else if ring.contains(s.p) {
				s.tent, edge = i, ring.edgeDist(s.p)
			}
		}
	}
	if ix.anyOutline && s.tent != i && out-1.5*ix.maxSlack < s.tentEdge {
		// A layout with tents that are not rectangles: their rectangle
		// misplaces their walls (by up to the slack outside it, by any
		// recess inside it), so measure the outline.
		if o := &ix.outlines[i]; o.outline {
			edge = ringXY(ix.tentPts[o.ptLo:ix.outlines[i+1].ptLo]).edgeDist(s.p)
		}
	}
	s.tentEdge = min(s.tentEdge, edge)
	if out > s.reach {
		return
	}
	// The model's ½[erf((h−u)w) + erf((h+u)w)] is even in u: with |u| the
	// second term's argument is never negative and the first is −ou·w.
	e := &ix.erf
	w := s.inv
	pu := 0.5 * (e.pos((hu+au)*w) - e.at(ou*w))
	pv := 0.5 * (e.pos((hv+av)*w) - e.at(ov*w))
	p := pu * pv
	if !(p > 0) {
		return
	}
	s.mass += p
	// Keep the MaxCandidates most likely, most likely first. (Branch-free
	// ways to do this, counting ranks or a compare-and-swap pass, measured
	// slower: more work than the mispredictions they save.)
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
	s.cand[k] = candidate{i, p}
}

func (ix *Index) fill(loc *Location, s *locState) {
	l := ix.layout
	areas := ix.areasNear(s.p)
	if s.camp >= 0 {
		c := &ix.camps[s.camp]
		loc.Site, loc.Zone, loc.Camp, loc.CampNumber = c.site, c.zone, c.id, c.num
		loc.EdgeDistanceM = s.campEdge
	} else {
		for _, i := range areas {
			a := &ix.areas[i]
			if a.isSite && a.box.dist2(s.p) == 0 && a.ring.contains(s.p) {
				loc.Site = a.site
				break
			}
		}
		loc.EdgeDistanceM = s.nearD[0]
		for k := 0; k < 2; k++ {
			if s.near[k] >= 0 && s.nearD[k] <= campReachM {
				loc.NearCamps[k] = ix.camps[s.near[k]].id
			}
		}
		if s.near[0] >= 0 && s.nearD[0] <= campReachM {
			nc := &ix.camps[s.near[0]]
			if loc.Site == "" || loc.Site == nc.site {
				loc.Site, loc.Zone = nc.site, nc.zone
			}
		}
	}
	for _, i := range areas {
		a := &ix.areas[i]
		if a.landmk && a.box.dist2(s.p) == 0 && a.ring.contains(s.p) {
			loc.Area = l.Areas[a.layoutI].ID
			break
		}
	}
	if s.tent >= 0 {
		loc.Tent = ix.tentIDs[s.tent]
	}
	loc.EdgeDistanceM = round2(min(loc.EdgeDistanceM, s.tentEdge))
	if math.IsInf(loc.EdgeDistanceM, 0) {
		loc.EdgeDistanceM = 0
	}

	// Probabilities: drop the negligible and spread the unlisted tents'
	// share over the listed ones (see the model above).
	street := round4(max(0, 1-s.mass))
	listed := 0.0
	n := 0
	for k := 0; k < s.n; k++ {
		if s.cand[k].p >= minProbability {
			listed += s.cand[k].p
			n++
		}
	}
	if n == 0 || street >= 1 {
		loc.StreetProbability = 1
		return
	}
	scale := (1 - street) / listed
	sum := 0.0
	for k := 0; k < n; k++ {
		p := round4(s.cand[k].p * scale)
		loc.CandidateArr[k] = TentCandidate{Tent: ix.tentIDs[s.cand[k].i], Probability: p}
		sum += p
	}
	loc.NumCandidates = n
	loc.StreetProbability = round4(max(0, 1-sum))
}

// round2 and round4 round x ≥ 0 to 2 and 4 decimals. Floor is one
// instruction on amd64, where Round is a dozen.
func round2(x float64) float64 { return math.Floor(x*100+0.5) / 100 }
func round4(x float64) float64 { return math.Floor(x*1e4+0.5) / 1e4 }

// erfTable is erf on [0, erfMax] in erfSteps linear pieces: a few
// instructions a value, inlined, instead of math.Erf's ~25 ns, off by
// < 5e-7. Four values per tent near a fix make this the inner loop of
// Locate. The sign is restored with Copysign and the index clamped with an
// integer min rather than branches: they follow the layout of the tents
// around the fix, which a branch predictor cannot learn.
const (
	erfSteps = 2048
	erfMax   = 4.0 // erf(4) = 1 − 1.5e-8
)

type erfTable [erfSteps + 2]float64

func newErfTable() *erfTable {
	var t erfTable
	for i := range t {
		t[i] = math.Erf(float64(min(i, erfSteps)) * erfMax / erfSteps)
	}
	// The last piece is flat: an index clamped to erfSteps reads erf(4)
	// whatever its fraction.
	return &t
}

func (t *erfTable) at(x float64) float64 {
	// Branch-free and small enough to inline: four calls per tent make a
	// call's overhead as costly as the lookup. The index is clamped as an
	// integer (a conversion beyond int64's range gives a negative on amd64,
	// huge as a uint, and saturates on arm64), and the flat last piece turns any x beyond erfMax
	// into erf(4), within 1.5e-8 of 1. x is finite: place bounds the
	// accuracy, and so 1/σ.
	f := math.Abs(x) * (erfSteps / erfMax)
	i := min(uint(int(f)), erfSteps)
	return math.Copysign(t[i]+(t[i+1]-t[i])*(f-float64(i)), x)
}

// pos is at for x ≥ 0.
func (t *erfTable) pos(x float64) float64 {
	f := x * (erfSteps / erfMax)
	i := min(uint(int(f)), erfSteps)
	return t[i] + (t[i+1]-t[i])*(f-float64(i))
}
