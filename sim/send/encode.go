package send

import (
	"math"
	"strconv"

	"dalil"
)

// knotsPerMS converts m/s to knots, the unit of OsmAnd's speed.
const knotsPerMS = 1.943844

func known(v float32) bool { return v >= 0 && !math.IsNaN(float64(v)) }

// OsmAndQuery is the query string Traccar Client puts on its request:
// id, timestamp (epoch seconds), lat, lon, speed (knots), bearing, altitude,
// accuracy and batt (percent). Unknown fields are left out.
func OsmAndQuery(p dalil.Position) string { return string(AppendOsmAndQuery(nil, p)) }

// AppendOsmAndQuery appends OsmAndQuery(p) to b without allocating.
func AppendOsmAndQuery(b []byte, p dalil.Position) []byte {
	b = append(b, "id="...)
	b = appendEscaped(b, p.Device)
	b = append(b, "&timestamp="...)
	b = strconv.AppendInt(b, p.Time.Unix(), 10)
	b = append(b, "&lat="...)
	b = strconv.AppendFloat(b, p.Lat, 'f', 7, 64)
	b = append(b, "&lon="...)
	b = strconv.AppendFloat(b, p.Lon, 'f', 7, 64)
	if known(p.Speed) {
		b = append(b, "&speed="...)
		b = strconv.AppendFloat(b, float64(p.Speed)*knotsPerMS, 'f', 2, 64)
	}
	if known(p.Heading) {
		b = append(b, "&bearing="...)
		b = strconv.AppendFloat(b, float64(p.Heading), 'f', 1, 64)
	}
	if known(p.Altitude) {
		b = append(b, "&altitude="...)
		b = strconv.AppendFloat(b, float64(p.Altitude), 'f', 1, 64)
	}
	if p.Accuracy > 0 {
		b = append(b, "&accuracy="...)
		b = strconv.AppendFloat(b, float64(p.Accuracy), 'f', 1, 64)
	}
	if known(p.Battery) {
		b = append(b, "&batt="...)
		b = strconv.AppendFloat(b, float64(p.Battery), 'f', 1, 64)
	}
	return b
}

// appendEscaped appends s query-escaped.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// traccarJSON is the body Traccar Client 9 posts.
type traccarJSON struct {
	Location struct {
		Timestamp string `json:"timestamp"`
		Coords    struct {
			Latitude  float64  `json:"latitude"`
			Longitude float64  `json:"longitude"`
			Accuracy  float64  `json:"accuracy"`
			Speed     *float64 `json:"speed,omitempty"`
			Heading   *float64 `json:"heading,omitempty"`
			Altitude  *float64 `json:"altitude,omitempty"`
		} `json:"coords"`
		Battery *struct {
			Level      float64 `json:"level"`
			IsCharging bool    `json:"is_charging"`
		} `json:"battery,omitempty"`
		IsMoving bool   `json:"is_moving"`
		Odometer int    `json:"odometer"`
		Event    string `json:"event,omitempty"`
		Activity struct {
			Type string `json:"type"`
		} `json:"activity"`
		Extras struct{} `json:"extras"`
	} `json:"location"`
	DeviceID string `json:"device_id"`
}

// OsmAndJSON is the JSON body of Traccar Client 9: speed in m/s, battery
// level 0..1, timestamp ISO-8601 with milliseconds.
func OsmAndJSON(p dalil.Position) []byte {
	var m traccarJSON
	m.DeviceID = p.Device
	l := &m.Location
	l.Timestamp = p.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	l.Coords.Latitude, l.Coords.Longitude = p.Lat, p.Lon
	l.Coords.Accuracy = float64(p.Accuracy)
	if known(p.Speed) {
		l.Coords.Speed = ptr(round2(float64(p.Speed)))
		l.IsMoving = p.Speed > 0.2
	}
	if known(p.Heading) {
		l.Coords.Heading = ptr(float64(p.Heading))
	}
	if known(p.Altitude) {
		l.Coords.Altitude = ptr(float64(p.Altitude))
	}
	if known(p.Battery) {
		l.Battery = &struct {
			Level      float64 `json:"level"`
			IsCharging bool    `json:"is_charging"`
		}{Level: round2(float64(p.Battery) / 100)}
	}
	l.Activity.Type = "still"
	if l.IsMoving {
		l.Activity.Type = "walking"
	}
	return mustJSON(m)
}

// ownTracksJSON is an OwnTracks location message. Zero values are omitted,
// as the app does.
type ownTracksJSON struct {
	Type string  `json:"_type"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
	Tst  int64   `json:"tst"`
	Acc  int     `json:"acc,omitempty"`
	Alt  int     `json:"alt,omitempty"`
	Vel  int     `json:"vel,omitempty"` // km/h
	Cog  int     `json:"cog,omitempty"`
	Batt int     `json:"batt,omitempty"`
	BS   int     `json:"bs,omitempty"` // battery status: 1 unplugged
	Tid  string  `json:"tid,omitempty"`
	T    string  `json:"t,omitempty"` // trigger: "u" user, "p" ping, "t" timer
}

// OwnTracksUser splits a device id into the X-Limit-U user and X-Limit-D
// device headers OwnTracks sends: the whole id is the user, and the device
// is "phone".
func OwnTracksUser(device string) (user, dev string) { return device, "phone" }

// OwnTracksJSON is the body OwnTracks posts for a location.
func OwnTracksJSON(p dalil.Position) []byte {
	m := ownTracksJSON{Type: "location", Lat: p.Lat, Lon: p.Lon, Tst: p.Time.Unix(), Tid: tid(p.Device), T: "t"}
	if p.Accuracy > 0 {
		m.Acc = int(math.Round(float64(p.Accuracy)))
	}
	if known(p.Altitude) {
		m.Alt = int(math.Round(float64(p.Altitude)))
	}
	if known(p.Speed) {
		m.Vel = int(math.Round(float64(p.Speed) * 3.6))
	}
	if known(p.Heading) {
		m.Cog = int(math.Round(float64(p.Heading)))
	}
	if known(p.Battery) {
		m.Batt = int(math.Round(float64(p.Battery)))
		m.BS = 1
	}
	return mustJSON(m)
}

// tid is OwnTracks' two-letter tracker id: the last two characters.
func tid(device string) string {
	if len(device) <= 2 {
		return device
	}
	return device[len(device)-2:]
}

// AppendNative appends one NDJSON line of a native batch:
// {"device","ts" (RFC 3339 with milliseconds),"lat","lon","acc","speed","heading","alt","batt"}.
// Unknown optional fields are left out.
func AppendNative(b []byte, p dalil.Position) []byte {
	b = append(b, `{"device":`...)
	b = strconv.AppendQuote(b, p.Device)
	b = append(b, `,"ts":"`...)
	b = p.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","lat":`...)
	b = strconv.AppendFloat(b, p.Lat, 'f', 7, 64)
	b = append(b, `,"lon":`...)
	b = strconv.AppendFloat(b, p.Lon, 'f', 7, 64)
	if p.Accuracy > 0 {
		b = append(b, `,"acc":`...)
		b = strconv.AppendFloat(b, float64(p.Accuracy), 'f', 1, 32)
	}
	if known(p.Speed) {
		b = append(b, `,"speed":`...)
		b = strconv.AppendFloat(b, float64(p.Speed), 'f', 2, 32)
	}
	if known(p.Heading) {
		b = append(b, `,"heading":`...)
		b = strconv.AppendFloat(b, float64(p.Heading), 'f', 1, 32)
	}
	if known(p.Altitude) {
		b = append(b, `,"alt":`...)
		b = strconv.AppendFloat(b, float64(p.Altitude), 'f', 1, 32)
	}
	if known(p.Battery) {
		b = append(b, `,"batt":`...)
		b = strconv.AppendFloat(b, float64(p.Battery), 'f', 1, 32)
	}
	return append(b, "}\n"...)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func ptr[T any](v T) *T { return &v }
