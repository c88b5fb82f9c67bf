package sim

import (
	"math"
	"sort"

	"dalil/geo"
)

// metresPerDegLat is the length of one degree of latitude (mean Earth radius).
const metresPerDegLat = 6371008.8 * math.Pi / 180

// offset moves p by east and north metres. Over the few hundred metres the
// simulator offsets by, the flat-Earth approximation is exact to centimetres.
func offset(p geo.Point, eastM, northM float64) geo.Point {
	return geo.Point{
		Lat: p.Lat + northM/metresPerDegLat,
		Lon: p.Lon + eastM/(metresPerDegLat*math.Cos(p.Lat*math.Pi/180)),
	}
}

// flatDistanceM is the distance between two nearby points in metres.
func flatDistanceM(a, b geo.Point) float64 {
	n := (b.Lat - a.Lat) * metresPerDegLat
	e := (b.Lon - a.Lon) * metresPerDegLat * math.Cos((a.Lat+b.Lat)/2*math.Pi/180)
	return math.Hypot(e, n)
}

// path is a walking route with the cumulative distance of every vertex, so
// that the point at distance s along it is a binary search away.
type path struct {
	pts []geo.Point
	cum []float64 // cum[i] = metres from pts[0] to pts[i]
}

func newPath(pts []geo.Point) *path {
	p := &path{pts: pts, cum: make([]float64, len(pts))}
	for i := 1; i < len(pts); i++ {
		p.cum[i] = p.cum[i-1] + flatDistanceM(pts[i-1], pts[i])
	}
	return p
}

// reversed returns the same route walked the other way.
func (p *path) reversed() *path {
	pts := make([]geo.Point, len(p.pts))
	for i, q := range p.pts {
		pts[len(pts)-1-i] = q
	}
	return newPath(pts)
}

func (p *path) length() float64 {
	if len(p.cum) == 0 {
		return 0
	}
	return p.cum[len(p.cum)-1]
}

// at returns the point s metres along the path (clamped to its ends) and the
// heading of the segment there, in degrees clockwise from north.
func (p *path) at(s float64) (geo.Point, float64) {
	n := len(p.pts)
	switch {
	case n == 0:
		return geo.Point{}, 0
	case n == 1:
		return p.pts[0], 0
	}
	if s <= 0 {
		return p.pts[0], heading(p.pts[0], p.pts[1])
	}
	if s >= p.cum[n-1] {
		return p.pts[n-1], heading(p.pts[n-2], p.pts[n-1])
	}
	// First vertex strictly beyond s; the segment is [i-1, i].
	i := sort.SearchFloat64s(p.cum, s)
	if p.cum[i] == s {
		i++
	}
	a, b := p.pts[i-1], p.pts[i]
	seg := p.cum[i] - p.cum[i-1]
	f := 0.0
	if seg > 0 {
		f = (s - p.cum[i-1]) / seg
	}
	return geo.Point{Lat: a.Lat + f*(b.Lat-a.Lat), Lon: a.Lon + f*(b.Lon-a.Lon)}, heading(a, b)
}

// heading is the compass bearing from a to b in degrees.
func heading(a, b geo.Point) float64 {
	n := b.Lat - a.Lat
	e := (b.Lon - a.Lon) * math.Cos((a.Lat+b.Lat)/2*math.Pi/180)
	h := math.Atan2(e, n) * 180 / math.Pi
	if h < 0 {
		h += 360
	}
	return h
}

// sideways moves p by m metres to the right of heading h (negative: left).
func sideways(p geo.Point, h, m float64) geo.Point {
	r := h * math.Pi / 180
	return offset(p, m*math.Cos(r), -m*math.Sin(r))
}

// inRing reports whether p lies inside the ring (even-odd rule).
func inRing(r geo.Ring, p geo.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// bounds returns the ring's bounding box.
func bounds(r geo.Ring) (minP, maxP geo.Point) {
	if len(r) == 0 {
		return
	}
	minP, maxP = r[0], r[0]
	for _, q := range r[1:] {
		minP.Lat, minP.Lon = math.Min(minP.Lat, q.Lat), math.Min(minP.Lon, q.Lon)
		maxP.Lat, maxP.Lon = math.Max(maxP.Lat, q.Lat), math.Max(maxP.Lon, q.Lon)
	}
	return
}
