package geo

import (
	"math"

	"github.com/paulmach/orb/planar"
)

// Centroid is the area centroid of the ring (orb/planar, in degrees, which
// at camp scale is indistinguishable from the true centroid). For a
// degenerate ring it is the centroid of the outline.
func (r Ring) Centroid() Point {
	if len(r) == 0 {
		return Point{}
	}
	if r[0] != r[len(r)-1] {
		r = append(r[:len(r):len(r)], r[0])
	}
	c, _ := planar.CentroidArea(r.orbPolygon())
	return pointFromOrb(c)
}

// Contains reports whether p lies inside the ring or on its edge
// (orb/planar). Locate does not use it: its packed index decides walls
// exactly once between neighbours (docs/layout.md).
func (r Ring) Contains(p Point) bool {
	if len(r) < 3 {
		return false
	}
	return planar.RingContains(r.orbRing(), p.orb())
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
