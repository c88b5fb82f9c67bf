package geo

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sort"
)

// IndexResolution is the H3 resolution of Location.Cell: ~325 m², about
// five tents. Locate makes one H3 call, for that cell only; candidates are
// found through a plain grid in metres (see grid.go), which costs one or two
// memory reads where a hash map keyed by H3 cell cost several cache misses.
const IndexResolution = 12

// Reach of the candidate lists, and the grid they hang on.
const (
	// tentReachM: each grid cell lists every tent within this distance of
	// it, so one lookup serves the probability model for fixes up to ~17 m
	// accuracy (reach = 3 σ = 1.99 × accuracy). Wider fixes take a slower
	// scan.
	tentReachM = 35.0
	// campReachM: each grid cell lists every camp within this distance,
	// which names the camps on both sides of any street.
	campReachM = 100.0
	// gridCellM is the side of a grid cell, chosen by measurement
	// (BenchmarkLocateGrid, and instruction and cache-miss counts under
	// cachegrind with 65,536 scattered fixes): smaller cells scan fewer
	// tents per fix but repeat every tent in more lists (the default
	// layout's lists take 15 MB at 8 m, 7.4 at 12, 4.6 at 16, 2.5 at 24),
	// and beyond one core's L2 every fix pays for it in cache misses; at
	// 24 m a fix does more work and misses L1 more often than at 16.
	gridCellM = 16.0
)

// Index answers "where is this point" and "how do I walk there" over one
// Layout. It is immutable after NewIndex and safe for concurrent use.
type Index struct {
	layout *Layout
	f      frame
	res    int // Location.Cell

	grid     cellGrid
	far      farGrid
	campRefs []ref     // per grid cell: camps in reach, nearest first
	tentRefs []tentRef // per grid cell: tents in reach, nearest first

	camps      []campGeo
	campBoxes  []boxXY       // camps[i].box, packed: every fix reads several
	campPlanes [][]halfplane // camps[i]'s edges when it is convex, else nil
	tents      []tentGeo
	areas      []areaGeo
	allAreas   []int32 // 0, 1, … len(areas)−1: what areasNear returns beyond the far grid

	// What Locate reads of a tent, packed: rects[i] is tent i's equivalent
	// rectangle, outlines[i] where its outline starts in tentPts (all rings
	// back to back; tentGeo.ring aliases it), tentIDs its id. A fix touches
	// ~15 tents close together in these arrays; the whole set stays in a
	// core's cache. maxSlack bounds outlines[i].slack, so that Locate reads
	// outlines only for the few tents a fix may be in.
	rects    []tentRect
	outlines []tentOutline
	planes   []halfplane // convex tents' edges, back to back
	maxSlack float64
	// anyOutline: some tent is not a rectangle (see tentOutline.outline).
	anyOutline bool
	tentPts    []vec
	tentIDs    []string

	walk *walkGraph
	erf  erfTable
}

// ref is a camp or tent listed by a grid cell, with its distance from the
// cell's centre (0 when the centre is inside). Lists are sorted by that
// distance, so a query at distance q from the centre looking r around stops
// at the first ref beyond r + q.
type ref struct {
	i int32
	d float32
}

// tentRef is a tent listed by a grid cell: its index, where its centre lies
// from the cell's centre (dx, dy, in refUnitM) and a radius around that
// point holding the whole tent (rad, in refUnitM, rounded up to cover
// dx and dy's rounding; radUnbounded when it does not fit), and its
// distance from the cell's centre (d, in refDistUnitM, rounded down), by
// which lists are sorted. Locate skips a tent by these alone, without
// reading its rectangle: most of the tents a list names beyond a fix's reach
// cost no cache miss. It is as small as the ref it replaced.
type tentRef struct {
	i      int32
	dx, dy int8
	rad    uint8
	d      uint8
}

const (
	refUnitM     = 0.5
	refDistUnitM = 0.25
	radUnbounded = math.MaxUint8 // 127.5 m: beyond any fix a cell's lists serve
)

// tentRect is tent i's equivalent rectangle as Locate needs it for every
// tent in reach: centre (c, frame metres), unit axis and half sizes. It is
// 32 bytes so that each sits in one cache line (scattered fixes spend more
// time waiting for these than computing with them).
type tentRect struct {
	cx, cy float64
	ax, ay float32
	hu, hv float32
}

// tentOutline is what Locate reads of tent i only when a fix may be in it:
// how far the tent may reach beyond its rectangle, and where its outline
// starts in tentPts (it ends where the next tent's starts; outlines has one
// sentinel entry at the end).
type tentOutline struct {
	slack   float32
	ptLo    int32
	planeLo int32 // where its edges start in planes, when convex (ends at the next tent's)
	camp    int32 // the tent's camp, for the fix found in it
	outline bool  // not a rectangle: its walls are measured on the outline
}

type campGeo struct {
	ring       ringXY
	box        boxXY
	gates      []vec
	tentOrder  []int32 // the camp's tents
	id         string
	site       Site
	zone, num  int
	layoutCamp int
}

// tentGeo is a tent in metres with its equivalent rectangle (centre c, unit
// axis ax, half extents hu×hv), which the probability model integrates over.
// For the rectangles of real layouts it is the tent itself.
type tentGeo struct {
	ring   ringXY
	box    boxXY
	c, ax  vec
	hu, hv float64 // equivalent rectangle (same area)
	bu, bv float64 // bounding rectangle: contains the whole tent
	camp   int32
}

type areaGeo struct {
	ring    ringXY
	box     boxXY
	isSite  bool
	site    Site
	landmk  bool
	layoutI int
}

var _ Locator = (*Index)(nil)

// NewIndex builds the geometry in metres, the candidate grids and the
// walking graph for l. l must not be modified afterwards.
func NewIndex(l *Layout) (*Index, error) {
	return newIndex(l, gridCellM)
}

func newIndex(l *Layout, cellM float64) (*Index, error) {
	if l == nil {
		return nil, errors.New("geo: nil layout")
	}
	if len(l.Camps) == 0 {
		return nil, errors.New("geo: layout has no camps")
	}
	if l.lookup == nil {
		// Built by hand, not by a loader: validate it, and index a copy so
		// that the caller's value is not modified behind its back.
		if err := Validate(l); err != nil {
			return nil, err
		}
		l = &Layout{Areas: l.Areas, Camps: l.Camps, Tents: l.Tents}
		l.buildLookup()
	}
	ix := &Index{layout: l, f: newFrame(makkah), res: IndexResolution, erf: *newErfTable()}
	ix.buildGeometry()
	ix.buildGrid(cellM)
	ix.buildFar()
	ix.walk = buildWalkGraph(ix)
	return ix, nil
}

// Layout returns the indexed layout.
func (ix *Index) Layout() *Layout { return ix.layout }

// Resolution is the H3 resolution of Location.Cell.
func (ix *Index) Resolution() int { return ix.res }

// Cell returns the H3 cell of a point at resolution res (0 for invalid
// input). It does not allocate.
func (ix *Index) Cell(lat, lon float64, res int) uint64 { return cellAt(lat, lon, res) }

func (ix *Index) ringXY(r Ring) ringXY {
	out := make(ringXY, len(r))
	for i, p := range r {
		out[i] = ix.f.xy(p)
	}
	return out
}

func (ix *Index) buildGeometry() {
	l := ix.layout
	campAt := make(map[string]int32, len(l.Camps))
	ix.camps = make([]campGeo, len(l.Camps))
	for i := range l.Camps {
		c := &l.Camps[i]
		g := &ix.camps[i]
		g.ring = ix.ringXY(c.Polygon)
		g.box = g.ring.box()
		g.id, g.site, g.zone, g.num, g.layoutCamp = c.ID, c.Site, c.Zone, c.Number, i
		for _, p := range c.Gates {
			g.gates = append(g.gates, ix.f.xy(p))
		}
		campAt[c.ID] = int32(i)
		ix.campBoxes = append(ix.campBoxes, g.box)
		ix.campPlanes = append(ix.campPlanes, convexPlanes(g.ring))
	}
	ix.tents = make([]tentGeo, len(l.Tents))
	ix.rects = make([]tentRect, len(l.Tents))
	ix.outlines = make([]tentOutline, len(l.Tents)+1)
	ix.tentIDs = make([]string, len(l.Tents))
	pts := 0
	for i := range l.Tents {
		pts += len(l.Tents[i].Polygon)
	}
	ix.tentPts = make([]vec, 0, pts)
	for i := range l.Tents {
		t := &l.Tents[i]
		g := &ix.tents[i]
		lo := len(ix.tentPts)
		for _, p := range t.Polygon {
			ix.tentPts = append(ix.tentPts, ix.f.xy(p))
		}
		g.ring = ringXY(ix.tentPts[lo:len(ix.tentPts):len(ix.tentPts)])
		g.box = g.ring.box()
		g.camp = campAt[t.Camp]
		g.c, g.ax, g.hu, g.hv, g.bu, g.bv = equivalentRect(g.ring)
		ix.rects[i] = tentRect{
			cx: g.c.X, cy: g.c.Y, ax: float32(g.ax.X), ay: float32(g.ax.Y),
			hu: float32(g.hu), hv: float32(g.hv),
		}
		slack := float32(math.Max(g.bu-g.hu, g.bv-g.hv))
		ix.outlines[i] = tentOutline{slack: slack, ptLo: int32(lo), planeLo: int32(len(ix.planes)), camp: g.camp,
			outline: len(g.ring) != 5 || float64(slack) > rectSlackM}
		ix.anyOutline = ix.anyOutline || ix.outlines[i].outline
		ix.planes = append(ix.planes, convexPlanes(g.ring)...)
		ix.maxSlack = max(ix.maxSlack, float64(slack))
		ix.tentIDs[i] = t.ID
		c := &ix.camps[g.camp]
		c.tentOrder = append(c.tentOrder, int32(i))
	}
	// Sentinel: where the last outline and its planes end.
	ix.outlines[len(l.Tents)] = tentOutline{ptLo: int32(len(ix.tentPts)), planeLo: int32(len(ix.planes))}

	for i := range l.Areas {
		a := &l.Areas[i]
		ix.areas = append(ix.areas, areaGeo{
			ring: ix.ringXY(a.Polygon), isSite: a.ID == string(a.Site), site: a.Site,
			landmk: a.ID != string(a.Site), layoutI: i,
		})
		ix.areas[len(ix.areas)-1].box = ix.areas[len(ix.areas)-1].ring.box()
	}
	// Site outlines first: Locate takes the first site that contains a point.
	sort.SliceStable(ix.areas, func(i, j int) bool { return ix.areas[i].isSite && !ix.areas[j].isSite })
}

// equivalentRect returns the rectangle the probability model integrates
// over: the ring's bounding rectangle aligned with its longest edge, shrunk
// to the ring's area. For a rectangle this is exactly the ring.
func equivalentRect(r ringXY) (c, ax vec, hu, hv, bu, bv float64) {
	best := -1.0
	for i := 0; i+1 < len(r); i++ {
		if d := r[i+1].sub(r[i]); d.len() > best {
			best, ax = d.len(), d.unit()
		}
	}
	ay := ax.perp()
	minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	var area float64
	for i := 0; i+1 < len(r); i++ {
		u, v := r[i].dot(ax), r[i].dot(ay)
		minU, maxU = math.Min(minU, u), math.Max(maxU, u)
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		area += r[i].cross(r[i+1])
	}
	area = math.Abs(area) / 2
	hu, hv = (maxU-minU)/2, (maxV-minV)/2
	bu, bv = hu, hv
	if box := 4 * hu * hv; box > 0 && area > 0 && area < box {
		k := math.Sqrt(area / box)
		hu, hv = hu*k, hv*k
	}
	c = ax.scale((minU + maxU) / 2).add(ay.scale((minV + maxV) / 2))
	return c, ax, hu, hv, bu, bv
}

func sq(x float64) float64 { return x * x }

// ringDist is the distance from p to the ring's area (0 inside).
func ringDist(r ringXY, p vec) float64 {
	if r.contains(p) {
		return 0
	}
	return r.edgeDist(p)
}

func sortRefs(rs []ref) {
	slices.SortFunc(rs, func(a, b ref) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
}

// tentBuckets is a uniform grid over tents, used only while building.
type tentBuckets struct {
	size float64
	m    map[[2]int32][]int32
}

func newTentBuckets(ts []tentGeo, size float64) tentBuckets {
	b := tentBuckets{size: size, m: map[[2]int32][]int32{}}
	for i := range ts {
		x0, y0 := b.key(ts[i].box.min)
		x1, y1 := b.key(ts[i].box.max)
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				b.m[[2]int32{x, y}] = append(b.m[[2]int32{x, y}], int32(i))
			}
		}
	}
	return b
}

func (b tentBuckets) key(p vec) (int32, int32) {
	return int32(math.Floor(p.X / b.size)), int32(math.Floor(p.Y / b.size))
}

// each calls fn for every tent in a bucket within r of p (a tent spanning
// several buckets comes several times).
func (b tentBuckets) each(p vec, r float64, fn func(int32)) {
	x0, y0 := b.key(vec{p.X - r, p.Y - r})
	x1, y1 := b.key(vec{p.X + r, p.Y + r})
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			for _, i := range b.m[[2]int32{x, y}] {
				fn(i)
			}
		}
	}
}
