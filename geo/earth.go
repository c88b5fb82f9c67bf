package geo

import "math"

// earthRadiusM is the mean Earth radius used for great-circle distances.
const earthRadiusM = 6371008.8

// DistanceM is the great-circle (haversine) distance between a and b in metres.
func DistanceM(a, b Point) float64 {
	φ1 := a.Lat * math.Pi / 180
	φ2 := b.Lat * math.Pi / 180
	dφ := φ2 - φ1
	dλ := (b.Lon - a.Lon) * math.Pi / 180
	s := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(s)))
}

// BearingDeg is the initial compass bearing from a to b in degrees, 0 = north,
// 90 = east, in [0, 360).
func BearingDeg(a, b Point) float64 {
	φ1 := a.Lat * math.Pi / 180
	φ2 := b.Lat * math.Pi / 180
	dλ := (b.Lon - a.Lon) * math.Pi / 180
	y := math.Sin(dλ) * math.Cos(φ2)
	x := math.Cos(φ1)*math.Sin(φ2) - math.Sin(φ1)*math.Cos(φ2)*math.Cos(dλ)
	θ := math.Atan2(y, x) * 180 / math.Pi
	θ = math.Mod(θ+360, 360)
	if θ >= 360 {
		θ = 0
	}
	return θ
}

// CompassPoint names a bearing with one of 16 compass points ("NE", "SSW").
func CompassPoint(deg float64) string {
	names := [16]string{"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"}
	i := int(math.Floor(math.Mod(deg+360, 360)/22.5+0.5)) % 16
	return names[i]
}

// frame is a local east/north plane in metres around an origin. Mina and
// Arafat span a few kilometres, where this equirectangular plane is off by a
// few centimetres per hundred metres: far below GPS error, and it turns every
// geometric test into cheap planar arithmetic.
type frame struct {
	lat0, lon0 float64
	kx, ky     float64 // metres per degree of longitude / latitude at lat0
}

func newFrame(origin Point) frame {
	φ := origin.Lat * math.Pi / 180
	// Metres per degree on the WGS84 ellipsoid (series expansion).
	ky := 111132.954 - 559.822*math.Cos(2*φ) + 1.175*math.Cos(4*φ)
	kx := 111412.84*math.Cos(φ) - 93.5*math.Cos(3*φ) + 0.118*math.Cos(5*φ)
	return frame{lat0: origin.Lat, lon0: origin.Lon, kx: kx, ky: ky}
}

// xy projects p onto the plane (x east, y north, metres).
func (f frame) xy(p Point) vec { return vec{(p.Lon - f.lon0) * f.kx, (p.Lat - f.lat0) * f.ky} }

// point is the inverse of xy.
func (f frame) point(v vec) Point { return Point{Lat: f.lat0 + v.Y/f.ky, Lon: f.lon0 + v.X/f.kx} }

// vec is a planar point or vector in metres.
type vec struct{ X, Y float64 }

func (a vec) add(b vec) vec             { return vec{a.X + b.X, a.Y + b.Y} }
func (a vec) sub(b vec) vec             { return vec{a.X - b.X, a.Y - b.Y} }
func (a vec) scale(k float64) vec       { return vec{a.X * k, a.Y * k} }
func (a vec) dot(b vec) float64         { return a.X*b.X + a.Y*b.Y }
func (a vec) cross(b vec) float64       { return a.X*b.Y - a.Y*b.X }
func (a vec) len() float64              { return math.Hypot(a.X, a.Y) }
func (a vec) dist(b vec) float64        { return math.Hypot(a.X-b.X, a.Y-b.Y) }
func (a vec) dist2(b vec) float64       { dx, dy := a.X-b.X, a.Y-b.Y; return dx*dx + dy*dy }
func (a vec) perp() vec                 { return vec{-a.Y, a.X} } // rotated +90°
func (a vec) unit() vec                 { l := a.len(); return vec{a.X / l, a.Y / l} }
func (a vec) lerp(b vec, t float64) vec { return vec{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t} }
