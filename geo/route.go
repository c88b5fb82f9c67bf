package geo

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// WalkPaceMps is the walking speed behind Route.WalkSeconds: 1.0 m/s, a
// crowd's pace in Mina (free walking is ~1.3 m/s; elderly pilgrims in dense
// crowds are slower still).
const WalkPaceMps = 1.0

// ErrNoRoute is returned when no walkable way connects the two ends.
var ErrNoRoute = errors.New("geo: no walkable route")

// ErrUnknownTent is returned by Route for a tent id not in the layout.
var ErrUnknownTent = errors.New("geo: unknown tent")

// Route is a walk through the streets and camp lanes.
type Route struct {
	Path        []Point // from the start to the destination, WGS84
	LengthM     float64 // along Path
	WalkSeconds float64 // LengthM at WalkPaceMps
	StraightM   float64 // as the crow flies, start to destination
	BearingDeg  float64 // compass bearing of the destination from the start
	Tent, Camp  string  // the destination's tent and camp ("" when none)
	Gate        Point   // the gate the route enters the destination camp by (zero when none)
}

// Route walks from a point to a tent: through the streets, in by a gate of
// the tent's camp and along the lanes to the tent's door (the point of its
// wall on the lane). Tents and fences are not walkable.
func (ix *Index) Route(from Point, tentID string) (Route, error) {
	i, ok := ix.layout.tentIndex(tentID)
	if !ok {
		return Route{}, fmt.Errorf("%w %q", ErrUnknownTent, tentID)
	}
	t := &ix.layout.Tents[i]
	ti := int32(i)
	tg := &ix.tents[ti]
	ras := &ix.walk.rasters[tg.camp]
	door := ras.nearestOpen(tg.c, int(math.Ceil(math.Max(tg.bu, tg.bv)/rasterCellM))+4)
	if door < 0 {
		return Route{}, fmt.Errorf("%w: tent %s has no lane beside it", ErrNoRoute, tentID)
	}
	dc := ras.centre(int(door))
	wall := nearestOnRing(tg.ring, dc)
	r, err := ix.route(from, target{camp: tg.camp, cell: door, final: wall})
	if err != nil {
		return Route{}, err
	}
	r.Tent = t.ID
	r.StraightM = DistanceM(from, t.Polygon.Centroid())
	r.BearingDeg = BearingDeg(from, t.Polygon.Centroid())
	return r, nil
}

// RouteBetween walks between any two points: through the streets, and
// through camps only by their gates and lanes.
func (ix *Index) RouteBetween(from, to Point) (Route, error) {
	if !finite(to) {
		return Route{}, fmt.Errorf("%w: destination is not a finite coordinate", ErrNoRoute)
	}
	p := ix.f.xy(to)
	tg := target{camp: ix.campAt(p), cell: -1, final: p}
	if tg.camp >= 0 {
		tg.cell = ix.entryCell(tg.camp, p, 12)
		if tg.cell < 0 {
			return Route{}, fmt.Errorf("%w: no lane near the destination", ErrNoRoute)
		}
	}
	r, err := ix.route(from, tg)
	if err != nil {
		return Route{}, err
	}
	if ti := ix.tentAt(p, tg.camp); ti >= 0 {
		r.Tent = ix.layout.Tents[ti].ID
	}
	r.StraightM = DistanceM(from, to)
	r.BearingDeg = BearingDeg(from, to)
	return r, nil
}

type target struct {
	camp  int32 // -1: in the street
	cell  int32 // raster cell in camp
	final vec   // the last point of the path
}

func (ix *Index) tentAt(p vec, camp int32) int32 {
	if camp < 0 {
		return -1
	}
	for _, ti := range ix.camps[camp].tentOrder {
		t := &ix.tents[ti]
		if t.box.dist2(p) == 0 && t.ring.contains(p) {
			return ti
		}
	}
	return -1
}

func nearestOnRing(r ringXY, p vec) vec {
	a, b := nearestEdge(r, p)
	ab := b.sub(a)
	t := math.Max(0, math.Min(1, p.sub(a).dot(ab)/ab.dot(ab)))
	return a.add(ab.scale(t))
}

// search is one A* run over the street nodes, two virtual end points and the
// rasters of the start and destination camps, numbered one after another.
type search struct {
	ix       *Index
	w        *walkGraph
	n0       int32 // street nodes; then fromNode, toNode
	fromNode int32
	toNode   int32
	from, to vec
	extra    map[int32][]wedge
	slots    [2]slot
	nslots   int
	total    int32
}

type slot struct {
	camp int32
	base int32
	r    *campRaster
}

func (s *search) addSlot(camp int32) {
	for k := 0; k < s.nslots; k++ {
		if s.slots[k].camp == camp {
			return
		}
	}
	r := &s.w.rasters[camp]
	s.slots[s.nslots] = slot{camp: camp, base: s.total, r: r}
	s.nslots++
	s.total += int32(r.size())
}

func (s *search) cellID(camp, cell int32) int32 {
	for k := 0; k < s.nslots; k++ {
		if s.slots[k].camp == camp {
			return s.slots[k].base + cell
		}
	}
	return -1
}

// slotOf returns the raster slot of node id, or nil for a street node.
func (s *search) slotOf(id int32) *slot {
	for k := 0; k < s.nslots; k++ {
		sl := &s.slots[k]
		if id >= sl.base && id < sl.base+int32(sl.r.size()) {
			return sl
		}
	}
	return nil
}

func (s *search) pos(id int32) vec {
	switch {
	case id < s.n0:
		return s.w.nodes[id]
	case id == s.fromNode:
		return s.from
	case id == s.toNode:
		return s.to
	}
	sl := s.slotOf(id)
	return sl.r.centre(int(id - sl.base))
}

func (s *search) neighbours(id int32, fn func(to int32, w float64)) {
	if id < s.n0 {
		for _, e := range s.w.adj[id] {
			fn(e.to, e.w)
		}
		for _, g := range s.w.nodeGates[id] {
			gi := s.w.gates[g.camp][g.gate]
			if gi.cell < 0 {
				continue
			}
			if c := s.cellID(g.camp, gi.cell); c >= 0 {
				fn(c, s.w.nodes[id].dist(s.pos(c)))
			}
		}
	}
	for _, e := range s.extra[id] {
		fn(e.to, e.w)
	}
	if id < s.n0+2 {
		return
	}
	sl := s.slotOf(id)
	r := sl.r
	k := int(id - sl.base)
	i, j := k%r.w, k/r.w
	open := func(i, j int) bool { return i >= 0 && j >= 0 && i < r.w && j < r.h && r.isOpen(j*r.w+i) }
	for dj := -1; dj <= 1; dj++ {
		for di := -1; di <= 1; di++ {
			if di == 0 && dj == 0 || !open(i+di, j+dj) {
				continue
			}
			if di != 0 && dj != 0 && (!open(i+di, j) || !open(i, j+dj)) {
				continue // no cutting corners past a tent
			}
			w := rasterCellM
			if di != 0 && dj != 0 {
				w = math.Sqrt2 * rasterCellM
			}
			fn(sl.base+int32((j+dj)*r.w+i+di), w)
		}
	}
	for _, gi := range s.w.gates[sl.camp] {
		if gi.cell == int32(k) && gi.node >= 0 {
			fn(gi.node, s.pos(id).dist(s.w.nodes[gi.node]))
		}
	}
}

func (s *search) link(a, b int32, d float64) {
	s.extra[a] = append(s.extra[a], wedge{b, d})
	s.extra[b] = append(s.extra[b], wedge{a, d})
}

// linkStreet connects a virtual node at p to the street nodes it sees.
func (s *search) linkStreet(id int32, p vec) {
	type cand struct {
		i int32
		d float64
	}
	cs := make([]cand, len(s.w.nodes))
	for i, q := range s.w.nodes {
		cs[i] = cand{int32(i), p.dist(q)}
	}
	sort.Slice(cs, func(a, b int) bool { return cs[a].d < cs[b].d })
	linked := 0
	for k, c := range cs {
		if (c.d > maxStreetEdgeM && linked > 0) || linked >= 48 || (k > 400 && linked > 0) {
			break
		}
		if s.ix.streetVisible(p, s.w.nodes[c.i]) {
			s.link(id, c.i, c.d)
			linked++
		}
	}
}

func (ix *Index) route(fromPt Point, tg target) (Route, error) {
	if !finite(fromPt) {
		return Route{}, fmt.Errorf("%w: start is not a finite coordinate", ErrNoRoute)
	}
	from := ix.f.xy(fromPt)
	w := ix.walk
	s := &search{ix: ix, w: w, n0: int32(len(w.nodes)), extra: map[int32][]wedge{}, from: from, to: tg.final}
	s.fromNode, s.toNode = s.n0, s.n0+1
	s.total = s.n0 + 2

	fromCamp := ix.campAt(from)
	var start int32
	if fromCamp >= 0 {
		s.addSlot(fromCamp)
		c := ix.entryCell(fromCamp, from, 12)
		if c < 0 {
			return Route{}, fmt.Errorf("%w: no lane near the start", ErrNoRoute)
		}
		start = s.cellID(fromCamp, c)
	} else {
		start = s.fromNode
		s.linkStreet(s.fromNode, from)
	}
	var goal int32
	if tg.camp >= 0 {
		s.addSlot(tg.camp)
		goal = s.cellID(tg.camp, tg.cell)
	} else {
		goal = s.toNode
		s.linkStreet(s.toNode, tg.final)
		if fromCamp < 0 && ix.streetVisible(from, tg.final) {
			s.link(s.fromNode, s.toNode, from.dist(tg.final))
		}
	}

	ids, ok := s.astar(start, goal)
	if !ok {
		return Route{}, ErrNoRoute
	}
	return ix.finish(s, fromPt, from, ids, tg)
}

type heapItem struct {
	id int32
	f  float64
}

func (s *search) astar(start, goal int32) ([]int32, bool) {
	g := make([]float64, s.total)
	for i := range g {
		g[i] = math.Inf(1)
	}
	parent := make([]int32, s.total)
	done := make([]bool, s.total)
	goalPos := s.pos(goal)
	g[start] = 0
	parent[start] = -1
	h := []heapItem{{start, s.pos(start).dist(goalPos)}}
	for len(h) > 0 {
		it := h[0]
		h = heapPop(h)
		u := it.id
		if done[u] {
			continue
		}
		done[u] = true
		if u == goal {
			var ids []int32
			for v := goal; v >= 0; v = parent[v] {
				ids = append(ids, v)
			}
			for a, b := 0, len(ids)-1; a < b; a, b = a+1, b-1 {
				ids[a], ids[b] = ids[b], ids[a]
			}
			return ids, true
		}
		gu := g[u]
		s.neighbours(u, func(v int32, w float64) {
			if done[v] || gu+w >= g[v] {
				return
			}
			g[v] = gu + w
			parent[v] = u
			h = heapPush(h, heapItem{v, g[v] + s.pos(v).dist(goalPos)})
		})
	}
	return nil, false
}

func heapPush(h []heapItem, it heapItem) []heapItem {
	h = append(h, it)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].f <= h[i].f {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func heapPop(h []heapItem) []heapItem {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].f < h[m].f {
			m = l
		}
		if r < n && h[r].f < h[m].f {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h
}

// finish turns the node sequence into a path: raster stretches are
// straightened against the tents, street nodes are kept.
func (ix *Index) finish(s *search, fromPt Point, from vec, ids []int32, tg target) (Route, error) {
	var pts []vec
	if ids[0] != s.fromNode {
		pts = append(pts, from)
	}
	for k := 0; k < len(ids); {
		sl := s.slotOf(ids[k])
		if sl == nil {
			pts = append(pts, s.pos(ids[k]))
			k++
			continue
		}
		var run []vec
		if k == 0 {
			run = append(run, from) // straighten from the start point itself
			pts = pts[:len(pts)-1]
		}
		j := k
		for ; j < len(ids) && s.slotOf(ids[j]) == sl; j++ {
			run = append(run, s.pos(ids[j]))
		}
		if j == len(ids) && tg.camp == sl.camp {
			run = append(run, tg.final) // straighten to the destination too
		}
		pts = append(pts, ix.pull(sl.camp, run)...)
		k = j
	}
	if last := pts[len(pts)-1]; last != tg.final {
		pts = append(pts, tg.final)
	}
	r := Route{Path: make([]Point, 0, len(pts))}
	for i, p := range pts {
		if i > 0 && p == pts[i-1] {
			continue
		}
		r.Path = append(r.Path, ix.f.point(p))
	}
	r.Path[0] = fromPt
	for i := 1; i < len(r.Path); i++ {
		r.LengthM += DistanceM(r.Path[i-1], r.Path[i])
	}
	r.LengthM = round2(r.LengthM)
	r.WalkSeconds = math.Round(r.LengthM / WalkPaceMps)
	if tg.camp >= 0 {
		r.Camp = ix.layout.Camps[ix.camps[tg.camp].layoutCamp].ID
		// The gate: the last street node before the destination camp's cells.
		for k := len(ids) - 1; k > 0; k-- {
			if sl := s.slotOf(ids[k]); sl != nil && sl.camp == tg.camp && ids[k-1] < s.n0 {
				for _, g := range s.w.nodeGates[ids[k-1]] {
					if g.camp == tg.camp {
						r.Gate = ix.layout.Camps[ix.camps[tg.camp].layoutCamp].Gates[g.gate]
					}
				}
				break
			}
		}
	}
	return r, nil
}

// pull straightens a walk through camp ci's lanes: from each kept point it
// goes straight to the farthest later point it can reach without coming
// within pullClearM of a tent or crossing the fence. The end points stay.
func (ix *Index) pull(ci int32, pts []vec) []vec {
	if len(pts) <= 2 {
		return pts
	}
	out := []vec{pts[0]}
	anchor := 0
	for i := 2; i < len(pts); i++ {
		if !ix.campSegmentClear(ci, pts[anchor], pts[i]) {
			anchor = i - 1
			out = append(out, pts[anchor])
		}
	}
	return append(out, pts[len(pts)-1])
}

// GeoJSON returns the route as a GeoJSON Feature with a LineString geometry
// and the figures as properties.
func (r Route) GeoJSON() ([]byte, error) {
	line := make(orb.LineString, len(r.Path))
	for i, p := range r.Path {
		line[i] = orb.Point{round7(p.Lon), round7(p.Lat)}
	}
	props := geojson.Properties{
		"length_m":    r.LengthM,
		"walk_s":      r.WalkSeconds,
		"walk_min":    math.Round(r.WalkSeconds/6) / 10,
		"pace_mps":    WalkPaceMps,
		"straight_m":  math.Round(r.StraightM*10) / 10,
		"bearing_deg": math.Round(r.BearingDeg*10) / 10,
		"bearing":     CompassPoint(r.BearingDeg),
	}
	if r.Tent != "" {
		props["tent"] = r.Tent
	}
	if r.Camp != "" {
		props["camp"] = r.Camp
	}
	if r.Gate != (Point{}) {
		props["gate"] = [2]float64{r.Gate.Lon, r.Gate.Lat}
	}
	f := geojson.NewFeature(line)
	f.Properties = props
	return f.MarshalJSON()
}
