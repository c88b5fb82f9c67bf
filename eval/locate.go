// Package eval measures Dalil's answers against seeded ground truth: the
// accuracy goals of docs/layout.md live here, and a small run of each is a
// test with thresholds.
package eval

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"dalil/geo"
)

// NoiseModel is how a simulated device's fixes err.
type NoiseModel struct {
	Name   string
	AccM   float64 // the accuracy the device reports
	SigmaM float64 // the true per-axis σ of its error
	BiasM  float64 // a per-device offset of this length in a random direction
	TauS   float64 // correlation time of the error (Gauss–Markov, AR(1) between fixes)
	JumpP  float64 // chance that a fix jumps 30–100 m
}

// Per-axis σ of a circular Gaussian whose radius r holds 68 % or 95 %.
const (
	r68 = 1.5096
	r95 = 2.4477
	// tauS: GPS error is correlated over tens of seconds (docs/domain).
	tauS = 60.0
)

// DefaultModels are the noise models of issue 15: Gaussian at 5/8/13/25 m
// (the accuracy read as the 68 % radius), the same with a 10 m per-device
// bias, the accuracy being a 95 % radius or 1σ, and occasional jumps; all
// correlated in time.
func DefaultModels() []NoiseModel {
	var ms []NoiseModel
	for _, bias := range []float64{0, 10} {
		for _, a := range []float64{5, 8, 13, 25} {
			name := fmt.Sprintf("%g m", a)
			if bias > 0 {
				name += fmt.Sprintf(" +%g m bias", bias)
			}
			ms = append(ms, NoiseModel{Name: name, AccM: a, SigmaM: a / r68, BiasM: bias, TauS: tauS})
		}
	}
	return append(ms,
		NoiseModel{Name: "8 m as 95 % radius", AccM: 8, SigmaM: 8 / r95, TauS: tauS},
		NoiseModel{Name: "8 m as 1σ", AccM: 8, SigmaM: 8, TauS: tauS},
		NoiseModel{Name: "8 m +3 % jumps", AccM: 8, SigmaM: 8 / r68, TauS: tauS, JumpP: 0.03},
		// Less correlated noise than the rest (τ = 10 s): what fusion gives
		// when successive fixes are nearly independent.
		NoiseModel{Name: "8 m, τ = 10 s", AccM: 8, SigmaM: 8 / r68, TauS: 10},
	)
}

// Kind is what a simulated pilgrim is doing.
type Kind int

const (
	RestAssigned  Kind = iota // resting in their registered tent
	RestVisiting              // resting in another tent of their camp
	RestElsewhere             // resting in a tent of another camp (visiting, lost)
	Standing                  // standing still in a lane or street
	Walking                   // walking the lanes and streets (then resting where they arrive)
	numKinds
)

var kindNames = [numKinds]string{"rest in own tent", "rest in another tent of own camp", "rest in another camp", "standing in a lane or street", "walking"}

// kindShare is the truth's mix: a third of the pilgrims are not where the
// registry says, so that the registry alone cannot make the figures.
var kindShare = [numKinds]float64{0.45, 0.12, 0.08, 0.10, 0.25}

// Config sets up a run.
type Config struct {
	Seed      uint64
	Pilgrims  int     // per noise model (the truth is shared by the models)
	Fixes     int     // per pilgrim
	IntervalS float64 // between fixes
	Models    []NoiseModel
	// UniformFixes sizes the baseline of issue 15 (positions uniform in
	// tents, one fix each, white noise); 0 skips it.
	UniformFixes int
}

// DefaultConfig is what `dalil eval locate` runs.
func DefaultConfig() Config {
	return Config{Seed: 15, Pilgrims: 3000, Fixes: 10, IntervalS: 30, Models: DefaultModels(), UniformFixes: 120000}
}

// pilgrim is one simulated pilgrim's truth.
type pilgrim struct {
	kind         Kind
	assignedTent string
	assignedCamp string
	pts          []geo.Point
	speed        []float64
	tent, camp   []string // the truth at each fix
}

// Method names what is evaluated.
const (
	MethodLocate          = "Locate (a fix's camp and top tent)"
	MethodPosterior       = "posterior"
	MethodPosteriorNoRegy = "posterior, no registry"
)

// Metrics is one method under one noise model.
type Metrics struct {
	Model  string
	Method string
	Fixes  int
	// CampRight: the camp answer (or "no camp" in a street) is right, over
	// every fix. CampRightInCamp counts only pilgrims inside a camp's fence
	// (in a tent or a lane of the camp), where "which camp" has one answer:
	// the goal of docs/layout.md. CampRightInTent, CampRightLane and
	// CampRightStreet split it by where the pilgrim is; in a street the
	// truth is "no camp".
	CampRight, CampRightInCamp, CampRightInTent, CampRightLane, CampRightStreet float64
	// TentTop1: the most probable tent is the true one (fixes in a tent).
	TentTop1 float64
	// TentListed: the true tent is among the candidates (fixes in a tent).
	TentListed float64
	// StreetAsTent: in no tent, but a tent is said ≥ 50 %; TentAsStreet:
	// in a tent, but "no tent" is said ≥ 50 %.
	StreetAsTent, TentAsStreet float64
	// Rest5Top1: tent top-1 after 5 minutes' rest (last fix of resting
	// pilgrims), overall and for those not in their registered tent.
	Rest5Top1, Rest5AwayTop1, Rest5OwnTop1 float64
	// ECE over probability deciles, for the top tent and for the camp
	// answer (NaN where the method states no probability).
	ECETent, ECECamp float64
	// TentCal and CampCal are the reliability diagrams behind the ECEs.
	TentCal, CampCal Reliability
}

// Reliability is a reliability diagram over probability deciles: in decile
// b, N[b] answers said on average Conf[b]/N[b] and Correct[b] were right.
type Reliability struct {
	N, Correct [10]int
	Conf       [10]float64
}

// Report is a whole run.
type Report struct {
	Config   Config
	Baseline []BaselineRow
	Metrics  []Metrics
	// Pooled: calibration over every noise model's fixes together, as a
	// deployment whose devices are that mix would see it.
	Pooled []Pooled
}

// Pooled is one method's calibration over all noise models.
type Pooled struct {
	Method           string
	ECETent, ECECamp float64
}

// RunLocate runs the evaluation over ix.
func RunLocate(ix *geo.Index, cfg Config) Report {
	rep := Report{Config: cfg}
	if cfg.UniformFixes > 0 {
		rep.Baseline = baseline(ix, cfg)
	}
	ps := makeTruth(ix, cfg)
	for mi, m := range cfg.Models {
		for _, method := range []string{MethodLocate, MethodPosterior, MethodPosteriorNoRegy} {
			rep.Metrics = append(rep.Metrics, evaluate(ix, cfg, ps, m, method, cfg.Seed*1000+uint64(mi)))
		}
	}
	for _, method := range []string{MethodPosterior, MethodPosteriorNoRegy} {
		var t, c calib
		for _, m := range rep.Metrics {
			if m.Method == method {
				t.merge(m.TentCal)
				c.merge(m.CampCal)
			}
		}
		rep.Pooled = append(rep.Pooled, Pooled{Method: method, ECETent: t.ece(), ECECamp: c.ece()})
	}
	return rep
}

// truthAt says which tent and camp contain p.
func truthAt(ix *geo.Index, p geo.Point) (tent, camp string) {
	l := ix.Locate(p.Lat, p.Lon, 0.01)
	return l.Tent, l.Camp
}

func makeTruth(ix *geo.Index, cfg Config) []pilgrim {
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	l := ix.Layout()
	var mina []int // tents in Mina
	for i := range l.Tents {
		if strings.HasPrefix(l.Tents[i].Camp, "mina-") {
			mina = append(mina, i)
		}
	}
	ps := make([]pilgrim, 0, cfg.Pilgrims)
	for len(ps) < cfg.Pilgrims {
		at := &l.Tents[mina[r.IntN(len(mina))]]
		p := pilgrim{assignedTent: at.ID, assignedCamp: at.Camp, kind: pickKind(r)}
		var ok bool
		switch p.kind {
		case RestAssigned:
			ok = p.rest(ix, r, at, cfg)
		case RestVisiting:
			ok = p.rest(ix, r, visitTent(r, l, at, true), cfg)
		case RestElsewhere:
			ok = p.rest(ix, r, visitTent(r, l, at, false), cfg)
		case Standing:
			ok = p.stand(ix, r, at, cfg)
		case Walking:
			ok = p.walk(ix, r, at, cfg)
		}
		if ok {
			ps = append(ps, p)
		}
	}
	return ps
}

func pickKind(r *rand.Rand) Kind {
	u := r.Float64()
	for k, s := range kindShare {
		if u < s {
			return Kind(k)
		}
		u -= s
	}
	return Walking
}

// visitTent picks a tent to visit: in the same camp (half the time a next
// door neighbour, the hardest case for a registry prior) or in a camp
// within ~400 m.
func visitTent(r *rand.Rand, l *geo.Layout, home *geo.Tent, sameCamp bool) *geo.Tent {
	hc := home.Polygon.Centroid()
	if sameCamp {
		ts := l.TentsOf(home.Camp)
		if r.IntN(2) == 0 {
			var best *geo.Tent
			bd := math.Inf(1)
			for _, t := range ts {
				if d := geo.DistanceM(hc, t.Polygon.Centroid()); t != home && d < bd && r.IntN(3) > 0 {
					best, bd = t, d
				}
			}
			if best != nil {
				return best
			}
		}
		for {
			if t := ts[r.IntN(len(ts))]; t != home {
				return t
			}
		}
	}
	for {
		t := &l.Tents[r.IntN(len(l.Tents))]
		if t.Camp != home.Camp && geo.DistanceM(hc, t.Polygon.Centroid()) < 400 {
			return t
		}
	}
}

// inTent is a point uniform in a (rectangular) tent.
func inTent(r *rand.Rand, t *geo.Tent) geo.Point {
	a, b, d := t.Polygon[0], t.Polygon[1], t.Polygon[3]
	u, v := r.Float64(), r.Float64()
	return geo.Point{Lat: a.Lat + u*(b.Lat-a.Lat) + v*(d.Lat-a.Lat), Lon: a.Lon + u*(b.Lon-a.Lon) + v*(d.Lon-a.Lon)}
}

func (p *pilgrim) add(ix *geo.Index, pt geo.Point, speed float64) {
	t, c := truthAt(ix, pt)
	p.pts = append(p.pts, pt)
	p.speed = append(p.speed, speed)
	p.tent = append(p.tent, t)
	p.camp = append(p.camp, c)
}

func (p *pilgrim) rest(ix *geo.Index, r *rand.Rand, t *geo.Tent, cfg Config) bool {
	pt := inTent(r, t)
	for range cfg.Fixes {
		p.add(ix, pt, 0)
	}
	return p.tent[0] == t.ID
}

// stand puts the pilgrim still in a lane of their camp or a street within
// 40 m of it.
func (p *pilgrim) stand(ix *geo.Index, r *rand.Rand, home *geo.Tent, cfg Config) bool {
	pt, ok := nearCampOutsideTents(ix, r, home.Camp)
	if !ok {
		return false
	}
	for range cfg.Fixes {
		p.add(ix, pt, 0)
	}
	return true
}

func nearCampOutsideTents(ix *geo.Index, r *rand.Rand, camp string) (geo.Point, bool) {
	c, _ := ix.Layout().Camp(camp)
	lo, hi := c.Polygon[0], c.Polygon[0]
	for _, q := range c.Polygon {
		lo.Lat, lo.Lon = min(lo.Lat, q.Lat), min(lo.Lon, q.Lon)
		hi.Lat, hi.Lon = max(hi.Lat, q.Lat), max(hi.Lon, q.Lon)
	}
	const pad = 40.0 / 111000
	for range 200 {
		pt := geo.Point{Lat: lo.Lat - pad + r.Float64()*(hi.Lat-lo.Lat+2*pad), Lon: lo.Lon - pad + r.Float64()*(hi.Lon-lo.Lon+2*pad)}
		l := ix.Locate(pt.Lat, pt.Lon, 0.01)
		if l.Tent == "" && (l.Camp != "" || l.EdgeDistanceM <= 40) {
			return pt, true
		}
	}
	return geo.Point{}, false
}

// walk walks the pilgrim from a lane or street point near their camp to a
// tent (theirs, or another one in the camp) at 1 m/s; they rest where they
// arrive.
func (p *pilgrim) walk(ix *geo.Index, r *rand.Rand, home *geo.Tent, cfg Config) bool {
	from, ok := nearCampOutsideTents(ix, r, home.Camp)
	if !ok {
		return false
	}
	to := home
	if r.IntN(2) == 0 {
		to = visitTent(r, ix.Layout(), home, false)
	}
	rt, err := ix.Route(from, to.ID)
	if err != nil || len(rt.Path) < 2 {
		return false
	}
	const pace = 1.0
	rest := inTent(r, to)
	for k := range cfg.Fixes {
		s := float64(k) * cfg.IntervalS * pace
		if s >= rt.LengthM {
			p.add(ix, rest, 0)
			continue
		}
		p.add(ix, along(rt.Path, s), pace)
	}
	return true
}

// along is the point s metres along a path.
func along(path []geo.Point, s float64) geo.Point {
	for i := 1; i < len(path); i++ {
		d := geo.DistanceM(path[i-1], path[i])
		if s <= d && d > 0 {
			f := s / d
			return geo.Point{Lat: path[i-1].Lat + f*(path[i].Lat-path[i-1].Lat), Lon: path[i-1].Lon + f*(path[i].Lon-path[i-1].Lon)}
		}
		s -= d
	}
	return path[len(path)-1]
}

const mPerDeg = 6371008.8 * math.Pi / 180

func offset(p geo.Point, east, north float64) geo.Point {
	return geo.Point{Lat: p.Lat + north/mPerDeg, Lon: p.Lon + east/(mPerDeg*math.Cos(p.Lat*math.Pi/180))}
}

// device draws one device's correlated noise.
type device struct {
	m         NoiseModel
	r         *rand.Rand
	ex, ey    float64
	bx, by    float64
	started   bool
	intervalS float64
}

func newDevice(m NoiseModel, r *rand.Rand, intervalS float64) *device {
	d := &device{m: m, r: r, intervalS: intervalS}
	a := r.Float64() * 2 * math.Pi
	d.bx, d.by = m.BiasM*math.Cos(a), m.BiasM*math.Sin(a)
	return d
}

func (d *device) next(truth geo.Point) geo.Point {
	σ := d.m.SigmaM
	if !d.started {
		d.ex, d.ey, d.started = σ*d.r.NormFloat64(), σ*d.r.NormFloat64(), true
	} else {
		ρ := math.Exp(-d.intervalS / d.m.TauS)
		k := σ * math.Sqrt(1-ρ*ρ)
		d.ex, d.ey = ρ*d.ex+k*d.r.NormFloat64(), ρ*d.ey+k*d.r.NormFloat64()
	}
	x, y := d.ex+d.bx, d.ey+d.by
	if d.m.JumpP > 0 && d.r.Float64() < d.m.JumpP {
		a, l := d.r.Float64()*2*math.Pi, 30+70*d.r.Float64()
		x, y = x+l*math.Cos(a), y+l*math.Sin(a)
	}
	return offset(truth, x, y)
}

// calib accumulates calibration over probability deciles.
type calib struct {
	n       [10]int
	conf    [10]float64
	correct [10]int
	total   int
}

func (c *calib) merge(r Reliability) {
	for b := range r.N {
		c.n[b] += r.N[b]
		c.conf[b] += r.Conf[b]
		c.correct[b] += r.Correct[b]
		c.total += r.N[b]
	}
}

func (c *calib) reliability() Reliability {
	return Reliability{N: c.n, Correct: c.correct, Conf: c.conf}
}

func (c *calib) add(p float64, ok bool) {
	b := min(max(int(p*10), 0), 9)
	c.n[b]++
	c.conf[b] += p
	if ok {
		c.correct[b]++
	}
	c.total++
}

// ece is the expected calibration error: Σ_b (n_b/N)·|accuracy_b − confidence_b|.
func (c *calib) ece() float64 {
	if c.total == 0 {
		return math.NaN()
	}
	e := 0.0
	for b := range c.n {
		if c.n[b] > 0 {
			e += math.Abs(float64(c.correct[b])-c.conf[b]) / float64(c.total)
		}
	}
	return e
}

type ratio struct{ hit, n int }

func (r *ratio) add(ok bool) {
	r.n++
	if ok {
		r.hit++
	}
}
func (r ratio) v() float64 {
	if r.n == 0 {
		return math.NaN()
	}
	return float64(r.hit) / float64(r.n)
}

func evaluate(ix *geo.Index, cfg Config, ps []pilgrim, m NoiseModel, method string, seed uint64) Metrics {
	r := rand.New(rand.NewPCG(seed, 2)) // the same noise for every method
	var camp, campInCamp, campIn, campLane, campStreet, top1, listed, streetAsTent, tentAsStreet, rest5, rest5Away, rest5Own ratio
	var cTent, cCamp calib
	fixes := 0
	for pi := range ps {
		p := &ps[pi]
		dev := newDevice(m, r, cfg.IntervalS)
		var tr geo.Track
		pr := geo.Prior{Camp: p.assignedCamp, Tent: p.assignedTent}
		if method == MethodPosteriorNoRegy {
			pr = geo.Prior{}
		}
		for k, truth := range p.pts {
			fx := dev.next(truth)
			speed := math.Abs(p.speed[k] + 0.2*r.NormFloat64())
			loc := ix.Locate(fx.Lat, fx.Lon, m.AccM)
			var top string
			var topP, noTentP, campP float64
			if method == MethodLocate {
				if cs := loc.Candidates(); len(cs) > 0 {
					top, topP = cs[0].Tent, cs[0].Probability
				}
				noTentP = loc.StreetProbability
				campP = math.NaN()
			} else {
				ix.Refine(&loc, &tr, geo.Fix{T: int64(float64(k) * cfg.IntervalS * 1e9), Lat: fx.Lat, Lon: fx.Lon, AccM: m.AccM, SpeedMps: speed}, pr)
				if cs := loc.Candidates(); len(cs) > 0 {
					top, topP = cs[0].Tent, cs[0].Probability
				}
				noTentP = loc.StreetProbability
				campP = loc.CampProbability
			}
			fixes++
			tt, tc := p.tent[k], p.camp[k]
			camp.add(loc.Camp == tc)
			switch {
			case tt != "":
				campIn.add(loc.Camp == tc)
			case tc != "":
				campLane.add(loc.Camp == tc)
			default:
				campStreet.add(loc.Camp == tc)
			}
			if tc != "" {
				campInCamp.add(loc.Camp == tc)
			}
			if !math.IsNaN(campP) {
				cCamp.add(campP, loc.Camp == tc)
			}
			if top != "" {
				cTent.add(topP, top == tt)
			}
			if tt != "" {
				top1.add(top == tt)
				found := false
				for _, c := range loc.Candidates() {
					found = found || c.Tent == tt
				}
				listed.add(found)
				tentAsStreet.add(noTentP >= 0.5)
			} else {
				streetAsTent.add(topP >= 0.5)
			}
			if k == len(p.pts)-1 && p.kind <= RestElsewhere {
				rest5.add(top == tt)
				if p.kind != RestAssigned {
					rest5Away.add(top == tt)
				} else {
					rest5Own.add(top == tt)
				}
			}
		}
	}
	out := Metrics{Model: m.Name, Method: method, Fixes: fixes, CampRight: camp.v(), CampRightInCamp: campInCamp.v(), CampRightInTent: campIn.v(), CampRightLane: campLane.v(), CampRightStreet: campStreet.v(), TentTop1: top1.v(), TentListed: listed.v(),
		StreetAsTent: streetAsTent.v(), TentAsStreet: tentAsStreet.v(), Rest5Top1: rest5.v(), Rest5AwayTop1: rest5Away.v(), Rest5OwnTop1: rest5Own.v(),
		ECETent: cTent.ece(), ECECamp: cCamp.ece(), TentCal: cTent.reliability(), CampCal: cCamp.reliability()}
	return out
}

// BaselineRow reproduces issue 15's measurement of Locate alone: positions
// uniform in tents, one fix each, white Gaussian noise matched to the
// accuracy read as the 68 % radius.
type BaselineRow struct {
	Model                       string
	N                           int
	CampRight, TopCandCampRight float64 // Location.Camp; the top candidate's camp
	TentRight, TopCandRight     float64 // Location.Tent; the top candidate
	NoTent                      float64 // Location.Tent empty
	Missing                     float64 // the true tent is not among the candidates
	PostCampRight, PostTop1     float64 // the posterior (one fix, no registry, resting prior)
	// Calibration of the top candidate (Locate) and the posterior's top tent.
	ECELocate, ECEPost float64
}

func baseline(ix *geo.Index, cfg Config) []BaselineRow {
	l := ix.Layout()
	// Uniform inside the tents: a tent is drawn by its area.
	cum := make([]float64, len(l.Tents))
	acc := 0.0
	for i := range l.Tents {
		acc += areaM2(l.Tents[i].Polygon)
		cum[i] = acc
	}
	var rows []BaselineRow
	models := []NoiseModel{{Name: "5 m", AccM: 5}, {Name: "8 m", AccM: 8}, {Name: "13 m", AccM: 13}, {Name: "25 m", AccM: 25},
		{Name: "5 m +10 m bias", AccM: 5, BiasM: 10}}
	for mi, m := range models {
		r := rand.New(rand.NewPCG(cfg.Seed, 100+uint64(mi)))
		σ := m.AccM / r68
		var camp, campTop, tent, top, none, miss, pCamp, pTop ratio
		var cl, cp calib
		for range cfg.UniformFixes {
			t := &l.Tents[pickByArea(r, cum)]
			truth := inTent(r, t)
			a := r.Float64() * 2 * math.Pi
			fx := offset(truth, σ*r.NormFloat64()+m.BiasM*math.Cos(a), σ*r.NormFloat64()+m.BiasM*math.Sin(a))
			loc := ix.Locate(fx.Lat, fx.Lon, m.AccM)
			camp.add(loc.Camp == t.Camp)
			tent.add(loc.Tent == t.ID)
			none.add(loc.Tent == "")
			cs := loc.Candidates()
			found := false
			for _, c := range cs {
				found = found || c.Tent == t.ID
			}
			miss.add(!found)
			if len(cs) > 0 {
				top.add(cs[0].Tent == t.ID)
				tc, _ := l.Tent(cs[0].Tent)
				campTop.add(tc.Camp == t.Camp)
				cl.add(cs[0].Probability, cs[0].Tent == t.ID)
			} else {
				top.add(false)
				campTop.add(false)
			}
			var tr geo.Track
			ix.Refine(&loc, &tr, geo.Fix{Lat: fx.Lat, Lon: fx.Lon, AccM: m.AccM}, geo.Prior{})
			pCamp.add(loc.Camp == t.Camp)
			if cs := loc.Candidates(); len(cs) > 0 {
				pTop.add(cs[0].Tent == t.ID)
				cp.add(cs[0].Probability, cs[0].Tent == t.ID)
			} else {
				pTop.add(false)
			}
		}
		rows = append(rows, BaselineRow{Model: m.Name, N: cfg.UniformFixes, CampRight: camp.v(), TopCandCampRight: campTop.v(),
			TentRight: tent.v(), TopCandRight: top.v(), NoTent: none.v(), Missing: miss.v(),
			PostCampRight: pCamp.v(), PostTop1: pTop.v(), ECELocate: cl.ece(), ECEPost: cp.ece()})
	}
	return rows
}

func pickByArea(r *rand.Rand, cum []float64) int {
	u := r.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, u)
	return min(i, len(cum)-1)
}

// areaM2 is a small ring's area in square metres.
func areaM2(ring geo.Ring) float64 {
	a := 0.0
	o := ring[0]
	kx := mPerDeg * math.Cos(o.Lat*math.Pi/180)
	for i := 0; i+1 < len(ring); i++ {
		x0, y0 := (ring[i].Lon-o.Lon)*kx, (ring[i].Lat-o.Lat)*mPerDeg
		x1, y1 := (ring[i+1].Lon-o.Lon)*kx, (ring[i+1].Lat-o.Lat)*mPerDeg
		a += x0*y1 - x1*y0
	}
	return math.Abs(a) / 2
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.1f %%", 100*x)
}

func dec(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.3f", x)
}

// WriteMarkdown writes the report as Markdown tables.
func (rep Report) WriteMarkdown(w io.Writer) {
	c := rep.Config
	if len(rep.Baseline) > 0 {
		fmt.Fprintf(w, "Baseline (issue 15): %d positions uniform in tents, one fix each, white Gaussian noise, accuracy = 68 %% radius.\n\n", c.UniformFixes)
		fmt.Fprintln(w, "| noise | Location.Camp right | top candidate's camp right | Location.Tent right | no tent | top candidate right | true tent not listed | ECE top candidate | posterior camp right | posterior top-1 | posterior ECE |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
		for _, b := range rep.Baseline {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b.Model, pct(b.CampRight), pct(b.TopCandCampRight),
				pct(b.TentRight), pct(b.NoTent), pct(b.TopCandRight), pct(b.Missing), dec(b.ECELocate), pct(b.PostCampRight), pct(b.PostTop1), dec(b.ECEPost))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Pilgrims: %d per noise model, %d fixes %gs apart (seed %d); mix:", c.Pilgrims, c.Fixes, c.IntervalS, c.Seed)
	for k := range kindShare {
		fmt.Fprintf(w, " %s %.0f %%;", kindNames[k], 100*kindShare[k])
	}
	fmt.Fprintf(w, " noise Gauss–Markov τ = %g s.\n\n", tauS)
	fmt.Fprintln(w, "| noise | method | camp right, all | … in a camp | … in a tent | … in a camp's lane | … in a street (no camp) | tent top-1 | true tent listed | street→tent | tent→street | top-1 after 5 min rest | … in own tent | … not in own tent | ECE tent | ECE camp |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, m := range rep.Metrics {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.Model, m.Method, pct(m.CampRight),
			pct(m.CampRightInCamp), pct(m.CampRightInTent), pct(m.CampRightLane), pct(m.CampRightStreet), pct(m.TentTop1),
			pct(m.TentListed), pct(m.StreetAsTent), pct(m.TentAsStreet), pct(m.Rest5Top1), pct(m.Rest5OwnTop1), pct(m.Rest5AwayTop1), dec(m.ECETent), dec(m.ECECamp))
	}
	fmt.Fprintln(w)
	for _, p := range rep.Pooled {
		fmt.Fprintf(w, "Pooled over the %d noise models, %s: ECE tent %s, ECE camp %s.\n", len(c.Models), p.Method, dec(p.ECETent), dec(p.ECECamp))
	}
}

// WriteReliability writes the posterior's reliability diagrams: per noise
// model and decile, the mean probability said → the share right (count).
func (rep Report) WriteReliability(w io.Writer) {
	for _, m := range rep.Metrics {
		if m.Method != MethodPosterior {
			continue
		}
		for _, c := range []struct {
			what string
			r    Reliability
		}{{"tent", m.TentCal}, {"camp", m.CampCal}} {
			fmt.Fprintf(w, "%s, %s:", m.Model, c.what)
			for b := range c.r.N {
				if n := c.r.N[b]; n > 0 {
					fmt.Fprintf(w, " %.2f→%.2f (%d)", c.r.Conf[b]/float64(n), float64(c.r.Correct[b])/float64(n), n)
				}
			}
			fmt.Fprintln(w)
		}
	}
}
