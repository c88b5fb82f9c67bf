package ingest

import (
	"math"

	"dalil"
)

// fix is the compact form of an accepted (or just rejected) ping that the
// filter remembers per device: 16 bytes instead of the 80 of a Position.
// float32 coordinates keep ~0.3 m near Mina, ample for jump and duplicate
// tests; two fixes of the same millisecond within 0.3 m are the same fix.
type fix struct {
	sec  uint32 // Unix seconds (valid until 2106; the time filter runs first)
	msec uint16 // milliseconds within sec
	acc  uint16 // accuracy radius in whole metres, rounded up; 0 = unknown
	lat  float32
	lon  float32
}

func makeFix(p *dalil.Position) fix {
	ms := p.Time.UnixMilli()
	acc := math.Ceil(float64(p.Accuracy))
	switch {
	case !(acc > 0):
		acc = 0
	case acc > math.MaxUint16:
		acc = math.MaxUint16
	}
	return fix{
		sec:  uint32(ms / 1000),
		msec: uint16(ms % 1000),
		acc:  uint16(acc),
		lat:  float32(p.Lat),
		lon:  float32(p.Lon),
	}
}

func (f fix) millis() int64 { return int64(f.sec)*1000 + int64(f.msec) }

// same reports whether two fixes are the same fix: same millisecond, same place.
func (f fix) same(g fix) bool {
	return f.sec == g.sec && f.msec == g.msec && f.lat == g.lat && f.lon == g.lon
}

// earthRadiusM is the mean Earth radius (IUGG).
const earthRadiusM = 6371008.8

// distanceM is the haversine distance between two fixes in metres.
func distanceM(a, b fix) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := float64(a.lat)*rad, float64(b.lat)*rad
	dLat := lat2 - lat1
	dLon := (float64(b.lon) - float64(a.lon)) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLon/2)
	h := s1*s1 + math.Cos(lat1)*math.Cos(lat2)*s2*s2
	return 2 * earthRadiusM * math.Asin(math.Sqrt(math.Min(1, h)))
}
