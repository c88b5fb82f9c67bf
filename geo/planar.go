package geo

import "math"

// Planar helpers in metres (see frame).

// orient is the sign of the turn a→b→c: >0 left, <0 right, 0 collinear.
func orient(a, b, c vec) float64 { return b.sub(a).cross(c.sub(a)) }

// segmentsCross reports whether segments ab and cd cross at a single point
// interior to both (touching at an end point or collinear overlap does not count).
func segmentsCross(a, b, c, d vec) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
}

// segmentsTouch reports whether segments ab and cd share any point.
func segmentsTouch(a, b, c, d vec) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// onSegment: p collinear with ab lies within its box.
func onSegment(a, b, p vec) bool {
	return math.Min(a.X, b.X) <= p.X && p.X <= math.Max(a.X, b.X) &&
		math.Min(a.Y, b.Y) <= p.Y && p.Y <= math.Max(a.Y, b.Y)
}

// segDist2 is the squared distance from p to segment ab. The clamp to the
// segment is min and max, not branches: which end is nearest follows the
// geometry around a fix, which a branch predictor cannot learn.
func segDist2(p, a, b vec) float64 {
	ab := b.sub(a)
	l2 := ab.dot(ab)
	if l2 == 0 {
		return p.dist2(a)
	}
	t := min(max(p.sub(a).dot(ab)/l2, 0), 1)
	return p.dist2(a.add(ab.scale(t)))
}

// ringXY is a closed ring in metres (last point repeats the first).
type ringXY []vec

// contains reports whether p is inside the ring (even-odd rule; a point
// exactly on an edge may fall either way). It counts crossings with flags
// rather than branches, for Locate's hot path: whether an edge crosses
// follows the geometry, which a branch predictor cannot learn.
func (r ringXY) contains(p vec) bool {
	in := 0
	n := len(r)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[i], r[j]
		// The edge spans p's latitude, and meets it east of p: p.X <
		// a.X + (b.X−a.X)(p.Y−a.Y)/dy, multiplied out by dy (whose sign
		// flips the comparison) to spare a division. Strict both ways, as
		// the division form is: a point on an edge shared by two rings
		// falls in exactly one.
		spans := b2i(a.Y > p.Y) ^ b2i(b.Y > p.Y)
		dy := b.Y - a.Y
		lhs, rhs := (p.X-a.X)*dy, (b.X-a.X)*(p.Y-a.Y)
		east := b2i(lhs < rhs)&b2i(dy > 0) | b2i(lhs > rhs)&b2i(dy < 0)
		in ^= spans & east
	}
	return in == 1
}

// halfplane is an edge of a convex ring as a line n·p = c, with n the unit
// normal pointing out of the ring: n·p − c is p's signed distance from the
// line, ≤ 0 on the ring's side.
type halfplane struct {
	n vec
	c float64
}

// convexPlanes returns r's edges as halfplanes when r is convex, else nil
// (concave or degenerate rings keep the ring tests).
func convexPlanes(r ringXY) []halfplane {
	n := len(r) - 1 // edges; r[n] repeats r[0]
	if n < 3 {
		return nil
	}
	var area float64
	for i := 0; i < n; i++ {
		area += r[i].cross(r[i+1])
	}
	sign := 1.0 // counter-clockwise: the outside is on each edge's right
	switch {
	case area < 0:
		sign = -1
	case !(area > 0):
		return nil
	}
	out := make([]halfplane, 0, n)
	for i := 0; i < n; i++ {
		a, b, c := r[i], r[i+1], r[(i+2)%n]
		d := b.sub(a)
		if orient(a, b, c)*sign < 0 || d.len() == 0 {
			return nil
		}
		u := d.unit()
		nrm := vec{u.Y, -u.X}.scale(sign)
		out = append(out, halfplane{nrm, nrm.dot(a)})
	}
	return out
}

// planesWorst is the largest signed distance of p from the lines of a
// convex ring's edges: p is inside when it is ≤ 0, and then −worst is its
// distance to the boundary. It costs a few products an edge where the ring
// tests walk every edge twice with branches.
func planesWorst(ps []halfplane, p vec) float64 {
	w := math.Inf(-1)
	for _, h := range ps {
		w = max(w, h.n.dot(p)-h.c)
	}
	return w
}

// edgeDist is the distance from p to the ring's boundary.
func (r ringXY) edgeDist(p vec) float64 {
	best := math.Inf(1)
	for i := 0; i+1 < len(r); i++ {
		best = min(best, segDist2(p, r[i], r[i+1]))
	}
	return math.Sqrt(best)
}

// crossesSegment reports whether segment ab crosses the ring's boundary
// properly (at a point interior to both).
func (r ringXY) crossesSegment(a, b vec) bool {
	for i := 0; i+1 < len(r); i++ {
		if segmentsCross(a, b, r[i], r[i+1]) {
			return true
		}
	}
	return false
}

// selfIntersection returns the first pair of non-adjacent edges that touch,
// or -1, -1.
func (r ringXY) selfIntersection() (int, int) {
	n := len(r) - 1 // edges
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if j == i+1 || (i == 0 && j == n-1) {
				// Adjacent edges share a vertex; they only fault if they fold back.
				var a, b, c vec
				if j == i+1 {
					a, b, c = r[i], r[i+1], r[j+1]
				} else {
					a, b, c = r[j], r[j+1], r[1]
				}
				if orient(a, b, c) == 0 && b.sub(a).dot(c.sub(b)) < 0 {
					return i, j
				}
				continue
			}
			if segmentsTouch(r[i], r[i+1], r[j], r[j+1]) {
				return i, j
			}
		}
	}
	return -1, -1
}

type boxXY struct{ min, max vec }

func (r ringXY) box() boxXY {
	b := boxXY{vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}}
	for _, p := range r {
		b.min.X, b.min.Y = math.Min(b.min.X, p.X), math.Min(b.min.Y, p.Y)
		b.max.X, b.max.Y = math.Max(b.max.X, p.X), math.Max(b.max.Y, p.Y)
	}
	return b
}

func (b boxXY) intersects(o boxXY) bool {
	return b.min.X <= o.max.X && o.min.X <= b.max.X && b.min.Y <= o.max.Y && o.min.Y <= b.max.Y
}

// dist2 is the squared distance from p to the box (0 inside). Plain
// comparisons: it runs on Locate's hot path, where math.Max's NaN handling
// costs more than the rest.
func (b boxXY) dist2(p vec) float64 {
	var dx, dy float64
	if p.X < b.min.X {
		dx = b.min.X - p.X
	} else if p.X > b.max.X {
		dx = p.X - b.max.X
	}
	if p.Y < b.min.Y {
		dy = b.min.Y - p.Y
	} else if p.Y > b.max.Y {
		dy = p.Y - b.max.Y
	}
	return dx*dx + dy*dy
}

// interiorsOverlap reports whether two simple rings share interior area:
// their edges cross, or a vertex (or the centroid of edge midpoints, for
// identical rings) of one lies strictly inside the other.
func interiorsOverlap(a, b ringXY) bool {
	for i := 0; i+1 < len(a); i++ {
		if b.crossesSegment(a[i], a[i+1]) {
			return true
		}
	}
	for _, p := range a[:len(a)-1] {
		if b.contains(p) && b.edgeDist(p) > 1e-6 {
			return true
		}
	}
	for _, p := range b[:len(b)-1] {
		if a.contains(p) && a.edgeDist(p) > 1e-6 {
			return true
		}
	}
	// Rings with the same or collinear vertices: test an inner point of each.
	if pa, ok := a.innerPoint(); ok && b.contains(pa) && b.edgeDist(pa) > 1e-6 {
		return true
	}
	if pb, ok := b.innerPoint(); ok && a.contains(pb) && a.edgeDist(pb) > 1e-6 {
		return true
	}
	return false
}

// innerPoint returns a point strictly inside the ring, found by nudging the
// midpoint of each edge inwards.
func (r ringXY) innerPoint() (vec, bool) {
	for i := 0; i+1 < len(r); i++ {
		m := r[i].lerp(r[i+1], 0.5)
		d := r[i+1].sub(r[i])
		if d.len() == 0 {
			continue
		}
		n := d.unit().perp() // left of the edge: inside for a counter-clockwise ring
		for _, s := range []float64{0.01, -0.01} {
			q := m.add(n.scale(s))
			if r.contains(q) {
				return q, true
			}
		}
	}
	return vec{}, false
}

// b2i is 1 for true, 0 for false: compiled to a flag, never a branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
