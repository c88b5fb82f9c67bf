package geo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	h3 "github.com/uber/h3-go/v4"
)

// Resolutions and reach, chosen by measurement (BenchmarkLocateResolution,
// docs/layout.md). Locate makes one H3 call, at IndexResolution, for
// Location.Cell; the index is keyed by that cell's parent at
// coverResolution (bit arithmetic, no second H3 call). Measured on the
// default layout: covers at 10, 11, 12 and 13 take 1.7, 3.9, 15 and 78 MB;
// with scattered fixes Locate is bound by memory latency and all four ran
// within noise of each other, while with warm caches the coarser covers
// scan 2–3× more tents per fix (a fix may lie farther from the cell's
// centre). 12 does the least work per fix at a modest size.
const (
	// IndexResolution is the H3 resolution of Location.Cell: ~325 m², about
	// five tents.
	IndexResolution = 12
	// coverResolution is the resolution of the index's cells.
	coverResolution = 12
	// tentReachM: each cell lists every tent within this distance of it, so
	// one lookup serves the probability model for fixes up to ~17 m accuracy
	// (reach = 3 σ = 1.99 × accuracy). Wider fixes take a slower scan.
	tentReachM = 35.0
	// campReachM: each cell lists every camp within this distance, which
	// names the camps on both sides of any street.
	campReachM = 100.0
)

// Index answers "where is this point" and "how do I walk there" over one
// Layout. It is immutable after NewIndex and safe for concurrent use.
type Index struct {
	layout *Layout
	f      frame
	res    int // Location.Cell
	keyRes int // the cover: cells of this resolution, looked up by parent

	cells    map[uint64]cellEntry
	campRefs []ref
	tentRefs []tentRef

	camps []campGeo
	tents []tentGeo
	areas []areaGeo

	walk *walkGraph
	erf  erfTable
}

// cellEntry locates one cell's candidate lists in campRefs and tentRefs.
type cellEntry struct {
	campLo, campHi, tentLo, tentHi int32
	centre                         vec // the cell's centre, origin of its tentRefs
}

// tentRef is a tent listed by a cell, carrying what Locate needs of it so
// that a fix reads one contiguous run of memory instead of chasing tens of
// tents across the heap (Locate is memory-bound otherwise). Positions are
// float32 metres relative to the cell's centre: exact to a few micrometres.
type tentRef struct {
	cx, cy, ax, ay float32 // equivalent rectangle: centre and unit axis
	hu, hv         float32 // half sizes
	slack          float32 // how far the tent may reach beyond the rectangle
	d              float32 // distance from the cell's centre (0 inside)
	i              int32
}

// ref is a camp or tent listed by a cell, with its distance from the cell's
// centre (0 when the centre is inside). Lists are sorted by that distance, so
// a query at distance q from the centre looking r around stops at the first
// ref beyond r + q.
type ref struct {
	i int32
	d float32
}

type campGeo struct {
	ring       ringXY
	box        boxXY
	gates      []vec
	tentOrder  []int32 // the camp's tents
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

// NewIndex builds the H3 cover, the geometry in metres and the walking graph
// for l. l must not be modified afterwards.
func NewIndex(l *Layout) (*Index, error) {
	return newIndex(l, IndexResolution, coverResolution)
}

func newIndex(l *Layout, res, keyRes int) (*Index, error) {
	if keyRes > res {
		return nil, fmt.Errorf("geo: cover resolution %d finer than cell resolution %d", keyRes, res)
	}
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
	ix := &Index{layout: l, f: newFrame(makkah), res: res, keyRes: keyRes, erf: *newErfTable()}
	ix.buildGeometry()
	if err := ix.buildCover(); err != nil {
		return nil, err
	}
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
		g.site, g.zone, g.num, g.layoutCamp = c.Site, c.Zone, c.Number, i
		for _, p := range c.Gates {
			g.gates = append(g.gates, ix.f.xy(p))
		}
		campAt[c.ID] = int32(i)
	}
	ix.tents = make([]tentGeo, len(l.Tents))
	for i := range l.Tents {
		t := &l.Tents[i]
		g := &ix.tents[i]
		g.ring = ix.ringXY(t.Polygon)
		g.box = g.ring.box()
		g.camp = campAt[t.Camp]
		g.c, g.ax, g.hu, g.hv, g.bu, g.bv = equivalentRect(g.ring)
		c := &ix.camps[g.camp]
		c.tentOrder = append(c.tentOrder, int32(i))
	}

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

// buildCover lists, for every H3 cell near a camp, the camps within
// campReachM and the tents within tentReachM of any point that can map to
// the cell, measured from the cell's centre and padded by the farthest such
// point (the cell's circumradius, or that of its children at the Location
// resolution, which overhang their parent a little). This is "overlap"
// containment plus a margin: every cell that touches a polygon lists it, so
// a point on a cell boundary still finds every candidate.
func (ix *Index) buildCover() error {
	edge, err := h3.HexagonEdgeLengthAvgM(ix.keyRes)
	if err != nil {
		return fmt.Errorf("geo: h3 resolution %d: %w", ix.keyRes, err)
	}
	step := edge * math.Sqrt(3) * 0.9 // guaranteed reach of one grid-disk ring
	// Every cell of the cover, with the camps whose disk reached it: the only
	// camps that can be within campReachM of it.
	reached := map[h3.Cell][]int32{}
	var cells []h3.Cell
	for i := range ix.camps {
		c := &ix.camps[i]
		centre := c.box.min.lerp(c.box.max, 0.5)
		radius := c.box.max.dist(centre)
		p := ix.f.point(centre)
		origin, err := h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), ix.keyRes)
		if err != nil {
			return fmt.Errorf("geo: h3 cell of camp %d: %w", i, err)
		}
		disk, err := h3.GridDisk(origin, int(math.Ceil((radius+campReachM+3*edge)/step)))
		if err != nil {
			return fmt.Errorf("geo: h3 grid disk: %w", err)
		}
		for _, cell := range disk {
			if cell == 0 {
				continue
			}
			if _, ok := reached[cell]; !ok {
				cells = append(cells, cell)
			}
			reached[cell] = append(reached[cell], int32(i))
		}
	}
	slices.Sort(cells)

	buckets := newTentBuckets(ix.tents, 20)
	stamp := make([]int32, len(ix.tents)) // de-duplicates tents seen in several buckets
	for i := range stamp {
		stamp[i] = -1
	}
	ix.cells = make(map[uint64]cellEntry, len(cells))
	// Sized from the default layout's density (each tent is listed by ~27
	// cells at resolution 12), to spare repeated growth of the big slices.
	ix.tentRefs = make([]tentRef, 0, len(ix.tents)*28*int(math.Pow(7, float64(ix.keyRes-12))+0.5)+64)
	ix.campRefs = make([]ref, 0, len(cells)*6)
	var near []ref
	for ci, cell := range cells {
		ll, err := h3.CellToLatLng(cell)
		if err != nil {
			return fmt.Errorf("geo: h3 cell centre: %w", err)
		}
		centre := ix.f.xy(Point{Lat: ll.Lat, Lon: ll.Lng})
		cr, err := ix.reachOfCell(cell, centre)
		if err != nil {
			return err
		}

		e := cellEntry{campLo: int32(len(ix.campRefs)), tentLo: int32(len(ix.tentRefs)), centre: centre}
		near = near[:0]
		for _, i := range reached[cell] {
			c := &ix.camps[i]
			if c.box.dist2(centre) > sq(campReachM+cr) {
				continue
			}
			if d := ringDist(c.ring, centre); d <= campReachM+cr {
				near = append(near, ref{i, float32(d)})
			}
		}
		sortRefs(near)
		ix.campRefs = append(ix.campRefs, near...)
		e.campHi = int32(len(ix.campRefs))
		e.tentHi = e.tentLo

		if len(near) == 0 || float64(near[0].d) > tentReachM+cr {
			// Tents lie inside camps: none can be in reach.
			if e.campHi > e.campLo {
				ix.cells[uint64(cell)] = e
			}
			e.tentHi = e.tentLo
			continue
		}
		near = near[:0]
		buckets.each(centre, tentReachM+cr, func(i int32) {
			if stamp[i] == int32(ci) {
				return
			}
			stamp[i] = int32(ci)
			t := &ix.tents[i]
			if t.box.dist2(centre) > sq(tentReachM+cr) {
				return
			}
			if d := ringDist(t.ring, centre); d <= tentReachM+cr {
				near = append(near, ref{i, float32(d)})
			}
		})
		sortRefs(near)
		for _, r := range near {
			t := &ix.tents[r.i]
			ix.tentRefs = append(ix.tentRefs, tentRef{
				cx: float32(t.c.X - centre.X), cy: float32(t.c.Y - centre.Y),
				ax: float32(t.ax.X), ay: float32(t.ax.Y),
				hu: float32(t.hu), hv: float32(t.hv),
				slack: float32(math.Max(t.bu-t.hu, t.bv-t.hv)),
				d:     r.d, i: r.i,
			})
		}
		e.tentHi = int32(len(ix.tentRefs))
		if e.campHi > e.campLo || e.tentHi > e.tentLo {
			ix.cells[uint64(cell)] = e
		}
	}
	return nil
}

// reachOfCell is how far from the cell's centre a point can be whose
// Location cell has this cell as parent (or is this cell).
func (ix *Index) reachOfCell(cell h3.Cell, centre vec) (float64, error) {
	kids := []h3.Cell{cell}
	if ix.res > ix.keyRes {
		var err error
		if kids, err = cell.Children(ix.res); err != nil {
			return 0, fmt.Errorf("geo: h3 children: %w", err)
		}
	}
	var r float64
	for _, k := range kids {
		bnd, err := h3.CellToBoundary(k)
		if err != nil {
			return 0, fmt.Errorf("geo: h3 cell boundary: %w", err)
		}
		for _, v := range bnd {
			r = math.Max(r, centre.dist(ix.f.xy(Point{Lat: v.Lat, Lon: v.Lng})))
		}
	}
	return r*1.001 + 0.01, nil
}

// parentCell is H3's cellToParent by bit arithmetic (no cgo, no error):
// set the resolution field and mark the finer digits unused (7).
func parentCell(c uint64, res int) uint64 {
	cur := int(c >> 52 & 0xF)
	if c == 0 || res >= cur {
		return c
	}
	c = c&^(0xF<<52) | uint64(res)<<52
	for r := res + 1; r <= cur; r++ {
		c |= 7 << (uint(15-r) * 3)
	}
	return c
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
