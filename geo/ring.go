package geo

import "math"

// Centroid is the area centroid of the ring (planar in degrees, which at camp
// scale is indistinguishable from the true centroid). For a degenerate ring it
// falls back to the mean of the vertices.
func (r Ring) Centroid() Point {
	n := len(r)
	if n == 0 {
		return Point{}
	}
	if r[0] == r[n-1] && n > 1 {
		n--
	}
	// Shift to the first vertex so that the products stay well conditioned.
	o := r[0]
	var a, cx, cy float64
	for i := 0; i < n; i++ {
		p, q := r[i], r[(i+1)%n]
		x0, y0 := p.Lon-o.Lon, p.Lat-o.Lat
		x1, y1 := q.Lon-o.Lon, q.Lat-o.Lat
		c := x0*y1 - x1*y0
		a += c
		cx += (x0 + x1) * c
		cy += (y0 + y1) * c
	}
	if math.Abs(a) < 1e-18 {
		var s Point
		for i := 0; i < n; i++ {
			s.Lat += r[i].Lat
			s.Lon += r[i].Lon
		}
		return Point{Lat: s.Lat / float64(n), Lon: s.Lon / float64(n)}
	}
	return Point{Lat: o.Lat + cy/(3*a), Lon: o.Lon + cx/(3*a)}
}

// Contains reports whether p lies inside the ring (even-odd rule; points
// exactly on an edge may fall either way).
func (r Ring) Contains(p Point) bool {
	in := false
	n := len(r)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// signedArea2 is twice the signed planar area in degree², positive when the
// ring runs counter-clockwise (east = x, north = y).
func (r Ring) signedArea2() float64 {
	if len(r) < 3 {
		return 0
	}
	o := r[0]
	var a float64
	for i := 0; i+1 < len(r); i++ {
		x0, y0 := r[i].Lon-o.Lon, r[i].Lat-o.Lat
		x1, y1 := r[i+1].Lon-o.Lon, r[i+1].Lat-o.Lat
		a += x0*y1 - x1*y0
	}
	return a
}

// bound is an axis-aligned box in degrees.
type bound struct{ minLat, minLon, maxLat, maxLon float64 }

func (r Ring) bound() bound {
	b := bound{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range r {
		b.minLat = math.Min(b.minLat, p.Lat)
		b.maxLat = math.Max(b.maxLat, p.Lat)
		b.minLon = math.Min(b.minLon, p.Lon)
		b.maxLon = math.Max(b.maxLon, p.Lon)
	}
	return b
}

func (b bound) contains(p Point) bool {
	return p.Lat >= b.minLat && p.Lat <= b.maxLat && p.Lon >= b.minLon && p.Lon <= b.maxLon
}

func (b bound) intersects(o bound) bool {
	return b.minLat <= o.maxLat && o.minLat <= b.maxLat && b.minLon <= o.maxLon && o.minLon <= b.maxLon
}
