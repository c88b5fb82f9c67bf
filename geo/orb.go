package geo

import "github.com/paulmach/orb"

// Conversions between geo's value types and orb's. geo keeps its own Point
// (Lat, Lon named) because every caller reads them by name; orb's Point is
// [lon, lat]. orb decodes and encodes GeoJSON and answers planar questions
// (centroid, containment) away from the hot path; Locate keeps its own packed
// index, which measures faster (docs/layout.md).

func (p Point) orb() orb.Point { return orb.Point{p.Lon, p.Lat} }

func pointFromOrb(p orb.Point) Point { return Point{Lat: p[1], Lon: p[0]} }

func (r Ring) orbRing() orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[i] = p.orb()
	}
	return out
}

func (r Ring) orbPolygon() orb.Polygon { return orb.Polygon{r.orbRing()} }

func ringFromOrb(r orb.Ring) Ring {
	out := make(Ring, len(r))
	for i, p := range r {
		out[i] = pointFromOrb(p)
	}
	return out
}
