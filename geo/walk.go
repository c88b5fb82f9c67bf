package geo

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// The walking model. Outside camps pilgrims walk the streets: free ground
// around the fenced camps. Those are modelled by a visibility graph whose
// nodes sit streetClearanceM off every convex fence corner and in front of
// every gate, with an edge wherever two nodes see each other without
// crossing a camp (a shortest path around polygons only ever bends at their
// corners). Inside a camp pilgrims walk the lanes between tents; each camp
// has a 1 m raster of the cells that are clear of every tent and of the fence,
// and a route enters a camp only through a gate. The search (route.go) runs A*
// over the street graph and the rasters of the camps it starts and ends in,
// then straightens the raster part against the true tent outlines.
const (
	streetClearanceM = 3.0   // nodes keep this far from fences
	gateDepthM       = 2.0   // a gate's inner point, inside the fence
	maxStreetEdgeM   = 350.0 // longer street edges add little and cost build time
	rasterCellM      = 1.0
	fenceClearM      = 0.8  // raster cells this close to a fence are closed
	tentClearM       = 0.75 // … and this close to a tent (> half a cell's diagonal)
	pullClearM       = 0.3  // straightened segments keep this far from tents
)

type walkGraph struct {
	nodes     []vec
	adj       [][]wedge
	nodeGates [][]gateRef  // gates whose outer node this is
	gates     [][]gateInfo // per camp
	rasters   []campRaster // per camp
}

type wedge struct {
	to int32
	w  float64
}

type gateRef struct{ camp, gate int32 }

type gateInfo struct {
	point vec   // on the fence
	node  int32 // street node in front of it, -1 if none
	cell  int32 // raster cell behind it, -1 if blocked
}

func buildWalkGraph(ix *Index) *walkGraph {
	w := &walkGraph{
		gates:   make([][]gateInfo, len(ix.camps)),
		rasters: make([]campRaster, len(ix.camps)),
	}
	for ci := range ix.camps {
		c := &ix.camps[ci]
		w.rasters[ci] = buildRaster(ix, ci)
		r := c.ring
		n := len(r) - 1
		for k := 0; k < n; k++ {
			prev, cur, next := r[(k-1+n)%n], r[k], r[(k+1)%n]
			if orient(prev, cur, next) <= 0 {
				continue // a shortest path never bends at a reflex or straight vertex
			}
			n1, n2 := outwardNormal(prev, cur), outwardNormal(cur, next)
			den := 1 + n1.dot(n2)
			if den < 0.2 {
				continue // a spike: the offset point would be far out
			}
			p := cur.add(n1.add(n2).scale(streetClearanceM / den))
			if ix.campAt(p) < 0 && ix.fenceDist(p) >= 0.9*streetClearanceM {
				w.addNode(p)
			}
		}
		for g, gp := range c.gates {
			nrm := outwardNormal(nearestEdge(r, gp))
			info := gateInfo{point: gp, node: -1, cell: -1}
			if outer := gp.add(nrm.scale(streetClearanceM)); ix.campAt(outer) < 0 {
				info.node = w.addNode(outer)
				w.nodeGates[info.node] = append(w.nodeGates[info.node], gateRef{int32(ci), int32(g)})
			}
			info.cell = w.rasters[ci].nearestOpen(gp.sub(nrm.scale(gateDepthM)), 3)
			w.gates[ci] = append(w.gates[ci], info)
		}
	}
	w.adj = make([][]wedge, len(w.nodes))
	for a := range w.nodes {
		for b := a + 1; b < len(w.nodes); b++ {
			d := w.nodes[a].dist(w.nodes[b])
			if d <= maxStreetEdgeM && ix.streetVisible(w.nodes[a], w.nodes[b]) {
				w.adj[a] = append(w.adj[a], wedge{int32(b), d})
				w.adj[b] = append(w.adj[b], wedge{int32(a), d})
			}
		}
	}
	w.connect(ix)
	return w
}

func (w *walkGraph) addNode(p vec) int32 {
	w.nodes = append(w.nodes, p)
	w.nodeGates = append(w.nodeGates, nil)
	return int32(len(w.nodes) - 1)
}

// connect links separate parts of the street graph (Mina and Arafat are
// kilometres apart) by their closest mutually visible nodes.
func (w *walkGraph) connect(ix *Index) {
	for range 16 {
		comp := make([]int, len(w.nodes))
		for i := range comp {
			comp[i] = -1
		}
		ncomp := 0
		for s := range w.nodes {
			if comp[s] >= 0 {
				continue
			}
			stack := []int32{int32(s)}
			comp[s] = ncomp
			for len(stack) > 0 {
				u := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, e := range w.adj[u] {
					if comp[e.to] < 0 {
						comp[e.to] = ncomp
						stack = append(stack, e.to)
					}
				}
			}
			ncomp++
		}
		if ncomp <= 1 {
			return
		}
		type pair struct {
			a, b int32
			d    float64
		}
		// Each node of the first part with its nearest node elsewhere: the
		// closest visible link is almost always among these.
		var ps []pair
		for a := range w.nodes {
			if comp[a] != 0 {
				continue
			}
			best := pair{a: int32(a), b: -1, d: math.Inf(1)}
			for b := range w.nodes {
				if comp[b] != 0 {
					if d := w.nodes[a].dist2(w.nodes[b]); d < best.d {
						best.b, best.d = int32(b), d
					}
				}
			}
			if best.b >= 0 {
				best.d = math.Sqrt(best.d)
				ps = append(ps, best)
			}
		}
		slices.SortFunc(ps, func(x, y pair) int { return cmp.Compare(x.d, y.d) })
		linked := false
		for k, p := range ps {
			if k > 5000 {
				break
			}
			if ix.streetVisible(w.nodes[p.a], w.nodes[p.b]) {
				w.adj[p.a] = append(w.adj[p.a], wedge{p.b, p.d})
				w.adj[p.b] = append(w.adj[p.b], wedge{p.a, p.d})
				linked = true
				break
			}
		}
		if !linked {
			return
		}
	}
}

// outwardNormal is the unit normal of edge a→b pointing out of a
// counter-clockwise ring (to the right of the edge).
func outwardNormal(a, b vec) vec {
	d := b.sub(a).unit()
	return vec{d.Y, -d.X}
}

func nearestEdge(r ringXY, p vec) (vec, vec) {
	best, k := math.Inf(1), 0
	for i := 0; i+1 < len(r); i++ {
		if d := segDist2(p, r[i], r[i+1]); d < best {
			best, k = d, i
		}
	}
	return r[k], r[k+1]
}

// campAt returns the camp containing p, or -1.
func (ix *Index) campAt(p vec) int32 {
	for i := range ix.camps {
		c := &ix.camps[i]
		if c.box.dist2(p) == 0 && c.ring.contains(p) {
			return int32(i)
		}
	}
	return -1
}

// fenceDist is the distance from p to the nearest fence.
func (ix *Index) fenceDist(p vec) float64 {
	best := math.Inf(1)
	for i := range ix.camps {
		c := &ix.camps[i]
		if c.box.dist2(p) >= best*best {
			continue
		}
		best = math.Min(best, c.ring.edgeDist(p))
	}
	return best
}

// streetVisible reports whether the segment ab stays out of every camp.
func (ix *Index) streetVisible(a, b vec) bool {
	sb := boxXY{vec{math.Min(a.X, b.X), math.Min(a.Y, b.Y)}, vec{math.Max(a.X, b.X), math.Max(a.Y, b.Y)}}
	for i := range ix.camps {
		c := &ix.camps[i]
		if c.box.intersects(sb) && segmentEntersRing(a, b, c.ring) {
			return false
		}
	}
	return true
}

// segmentEntersRing reports whether segment ab passes through the ring's
// interior: it crosses an edge, or between the points where it touches the
// ring (vertices, end points on edges) it runs inside.
func segmentEntersRing(a, b vec, r ringXY) bool {
	ts := [16]float64{0, 1}
	n := 2
	ab := b.sub(a)
	l2 := ab.dot(ab)
	for i := 0; i+1 < len(r); i++ {
		if segmentsCross(a, b, r[i], r[i+1]) {
			return true
		}
		if l2 > 0 && n < len(ts) && segDist2(r[i], a, b) < 1e-12 {
			ts[n] = r[i].sub(a).dot(ab) / l2
			n++
		}
	}
	t := ts[:n]
	sort.Float64s(t)
	for i := 0; i+1 < len(t); i++ {
		if t[i+1]-t[i] < 1e-12 {
			continue
		}
		m := a.lerp(b, (t[i]+t[i+1])/2)
		if r.contains(m) && r.edgeDist(m) > 1e-6 {
			return true
		}
	}
	return false
}

// campRaster marks the walkable 1 m cells of one camp: inside the fence,
// at least fenceClearM from it and tentClearM from every tent.
type campRaster struct {
	x0, y0 float64
	w, h   int
	open   []uint64
}

func (r *campRaster) isOpen(i int) bool { return r.open[i>>6]&(1<<(uint(i)&63)) != 0 }
func (r *campRaster) set(i int)         { r.open[i>>6] |= 1 << (uint(i) & 63) }
func (r *campRaster) clear(i int)       { r.open[i>>6] &^= 1 << (uint(i) & 63) }
func (r *campRaster) size() int         { return r.w * r.h }

func (r *campRaster) centre(i int) vec {
	return vec{r.x0 + (float64(i%r.w)+0.5)*rasterCellM, r.y0 + (float64(i/r.w)+0.5)*rasterCellM}
}

func (r *campRaster) cellOf(p vec) int {
	i := int(math.Floor((p.X - r.x0) / rasterCellM))
	j := int(math.Floor((p.Y - r.y0) / rasterCellM))
	if i < 0 || j < 0 || i >= r.w || j >= r.h {
		return -1
	}
	return j*r.w + i
}

// nearestOpen returns the open cell nearest p within maxSteps rings of
// cells, or -1.
func (r *campRaster) nearestOpen(p vec, maxSteps int) int32 {
	i0 := int(math.Floor((p.X - r.x0) / rasterCellM))
	j0 := int(math.Floor((p.Y - r.y0) / rasterCellM))
	best, bestD := -1, math.Inf(1)
	for s := 0; s <= maxSteps; s++ {
		for j := j0 - s; j <= j0+s; j++ {
			for i := i0 - s; i <= i0+s; i++ {
				if max(abs(i-i0), abs(j-j0)) != s || i < 0 || j < 0 || i >= r.w || j >= r.h {
					continue
				}
				k := j*r.w + i
				if r.isOpen(k) {
					if d := r.centre(k).dist2(p); d < bestD {
						best, bestD = k, d
					}
				}
			}
		}
		if best >= 0 && s > 0 {
			break // one more ring than the first hit could not be nearer by more than a cell
		}
	}
	return int32(best)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func buildRaster(ix *Index, ci int) campRaster {
	c := &ix.camps[ci]
	r := campRaster{x0: math.Floor(c.box.min.X), y0: math.Floor(c.box.min.Y)}
	r.w = int(math.Ceil((c.box.max.X-r.x0)/rasterCellM)) + 1
	r.h = int(math.Ceil((c.box.max.Y-r.y0)/rasterCellM)) + 1
	r.open = make([]uint64, (r.size()+63)/64)
	ring := c.ring
	var xs []float64
	for j := 0; j < r.h; j++ {
		y := r.y0 + (float64(j)+0.5)*rasterCellM
		xs = xs[:0]
		for k := 0; k+1 < len(ring); k++ {
			a, b := ring[k], ring[k+1]
			if (a.Y > y) != (b.Y > y) {
				xs = append(xs, a.X+(y-a.Y)*(b.X-a.X)/(b.Y-a.Y))
			}
		}
		sort.Float64s(xs)
		for k := 0; k+1 < len(xs); k += 2 {
			i0 := int(math.Ceil((xs[k]-r.x0)/rasterCellM - 0.5))
			i1 := int(math.Floor((xs[k+1]-r.x0)/rasterCellM - 0.5))
			for i := max(i0, 0); i <= min(i1, r.w-1); i++ {
				r.set(j*r.w + i)
			}
		}
	}
	// The fence band.
	for k := 0; k+1 < len(ring); k++ {
		a, b := ring[k], ring[k+1]
		steps := int(a.dist(b)/rasterCellM) + 1 // samples ≤ 1 m apart: every cell within
		// fenceClearM of the edge is within 2 cells of a sample
		for s := 0; s <= steps; s++ {
			p := a.lerp(b, float64(s)/float64(steps))
			pi := int(math.Floor((p.X - r.x0) / rasterCellM))
			pj := int(math.Floor((p.Y - r.y0) / rasterCellM))
			for j := pj - 2; j <= pj+2; j++ {
				for i := pi - 2; i <= pi+2; i++ {
					if i < 0 || j < 0 || i >= r.w || j >= r.h {
						continue
					}
					if k := j*r.w + i; segDist2(r.centre(k), a, b) < fenceClearM*fenceClearM {
						r.clear(k)
					}
				}
			}
		}
	}
	// Tents, by their bounding rectangles grown by tentClearM.
	for _, ti := range c.tentOrder {
		t := &ix.tents[ti]
		i0 := int(math.Floor((t.box.min.X - tentClearM - r.x0) / rasterCellM))
		i1 := int(math.Floor((t.box.max.X + tentClearM - r.x0) / rasterCellM))
		j0 := int(math.Floor((t.box.min.Y - tentClearM - r.y0) / rasterCellM))
		j1 := int(math.Floor((t.box.max.Y + tentClearM - r.y0) / rasterCellM))
		for j := max(j0, 0); j <= min(j1, r.h-1); j++ {
			for i := max(i0, 0); i <= min(i1, r.w-1); i++ {
				k := j*r.w + i
				d := r.centre(k).sub(t.c)
				if math.Abs(d.dot(t.ax)) <= t.bu+tentClearM && math.Abs(t.ax.cross(d)) <= t.bv+tentClearM {
					r.clear(k)
				}
			}
		}
	}
	return r
}

// campSegmentClear reports whether segment ab inside camp ci keeps
// pullClearM from every tent of the camp and does not cross the fence.
func (ix *Index) campSegmentClear(ci int32, a, b vec) bool {
	c := &ix.camps[ci]
	if c.ring.crossesSegment(a, b) {
		return false
	}
	sb := boxXY{vec{math.Min(a.X, b.X) - pullClearM, math.Min(a.Y, b.Y) - pullClearM},
		vec{math.Max(a.X, b.X) + pullClearM, math.Max(a.Y, b.Y) + pullClearM}}
	for _, ti := range c.tentOrder {
		t := &ix.tents[ti]
		if t.box.intersects(sb) && segmentHitsRect(a, b, t.c, t.ax, t.bu+pullClearM, t.bv+pullClearM) {
			return false
		}
	}
	return true
}

// segmentHitsRect clips segment ab against the rectangle centred at c with
// unit axis ax and half sizes hu×hv (Liang–Barsky in the rectangle's frame).
func segmentHitsRect(a, b, c, ax vec, hu, hv float64) bool {
	da, db := a.sub(c), b.sub(c)
	u0, v0 := da.dot(ax), ax.cross(da)
	u1, v1 := db.dot(ax), ax.cross(db)
	t0, t1 := 0.0, 1.0
	clip := func(p, q float64) bool { // p·t ≤ q
		if p == 0 {
			return q >= 0
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = math.Min(t1, t)
		}
		return true
	}
	du, dv := u1-u0, v1-v0
	return clip(-du, u0+hu) && clip(du, hu-u0) && clip(-dv, v0+hv) && clip(dv, hv-v0) && t0 <= t1
}

// entryCell returns the nearest open cell of camp ci that p reaches in a
// straight line without passing through a tent (other than one p is in) or
// the fence: where a pilgrim standing at p steps onto the lanes. -1 if none
// within maxSteps cells.
func (ix *Index) entryCell(ci int32, p vec, maxSteps int) int32 {
	r := &ix.walk.rasters[ci]
	if k := r.cellOf(p); k >= 0 && r.isOpen(k) {
		return int32(k)
	}
	own := ix.tentAt(p, ci)
	type cand struct {
		k int
		d float64
	}
	var cs []cand
	i0 := int(math.Floor((p.X - r.x0) / rasterCellM))
	j0 := int(math.Floor((p.Y - r.y0) / rasterCellM))
	for j := max(j0-maxSteps, 0); j <= min(j0+maxSteps, r.h-1); j++ {
		for i := max(i0-maxSteps, 0); i <= min(i0+maxSteps, r.w-1); i++ {
			if k := j*r.w + i; r.isOpen(k) {
				cs = append(cs, cand{k, r.centre(k).dist2(p)})
			}
		}
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	c := &ix.camps[ci]
	for _, cd := range cs {
		q := r.centre(cd.k)
		if c.ring.crossesSegment(p, q) {
			continue
		}
		blocked := false
		for _, ti := range c.tentOrder {
			t := &ix.tents[ti]
			if ti != own && segmentHitsRect(p, q, t.c, t.ax, t.bu, t.bv) {
				blocked = true
				break
			}
		}
		if !blocked {
			return int32(cd.k)
		}
	}
	return -1
}
