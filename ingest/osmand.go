package ingest

import (
	"time"

	"dalil"
)

// osmandPing accumulates the parameters of one OsmAnd request: the query
// string first, then a form body, later values winning (as in Traccar).
type osmandPing struct {
	it             item
	id             []byte
	lat, lon       float64
	hasLat, hasLon bool
	hasTime        bool
	hasAcc         bool
	hdop           float64
	token          []byte // the device token, if the client sent one (a secret: never log it)
}

func (o *osmandPing) reset() {
	o.it.reset(dalil.SourceOsmAnd)
	o.id = o.id[:0]
	o.token = o.token[:0]
	o.lat, o.lon, o.hdop = 0, 0, 0
	o.hasLat, o.hasLon, o.hasTime, o.hasAcc = false, false, false, false
}

// params reads every parameter from pr.
func (o *osmandPing) params(pr *paramReader) {
	for {
		k, v, ok := pr.next()
		if !ok {
			return
		}
		o.param(k, trimSpace(v))
	}
}

// param applies one parameter. Unknown parameters (valid, mock, alarm, cell,
// wifi, driverUniqueId, charge, …) are ignored; an empty value reads as absent.
func (o *osmandPing) param(k, v []byte) {
	if len(v) == 0 {
		return
	}
	it := &o.it
	switch string(k) {
	case "id", "deviceid":
		o.id = append(o.id[:0], v...)
	case "token":
		o.token = append(o.token[:0], v...)
	case "lat":
		o.lat, o.hasLat = o.num(v, "lat")
	case "lon":
		o.lon, o.hasLon = o.num(v, "lon")
	case "location":
		comma := -1
		for i, c := range v {
			if c == ',' {
				comma = i
				break
			}
		}
		if comma < 0 {
			it.setFault(reasonMalformed, "location", "want lat,lon")
			return
		}
		o.lat, o.hasLat = o.num(trimSpace(v[:comma]), "location")
		o.lon, o.hasLon = o.num(trimSpace(v[comma+1:]), "location")
	case "timestamp":
		t, ok := parseTimestamp(v)
		if !ok {
			it.setFault(reasonMalformed, "timestamp", "not a timestamp (epoch s, epoch ms or ISO-8601)")
			return
		}
		it.p.Time, o.hasTime = t, true
	case "speed":
		if s, ok := o.num(v, "speed"); ok {
			it.setSpeed(s * knotsToMS)
		}
	case "bearing", "heading":
		if h, ok := o.num(v, "bearing"); ok {
			it.setHeading(h)
		}
	case "altitude":
		if a, ok := o.num(v, "altitude"); ok {
			it.setAltitude(a)
		}
	case "accuracy", "hacc":
		if a, ok := o.num(v, "accuracy"); ok {
			it.setAccuracy(a)
			o.hasAcc = true
		}
	case "hdop":
		o.hdop, _ = o.num(v, "hdop")
	case "batt":
		if b, ok := o.num(v, "batt"); ok {
			it.setBattery(b)
		}
	}
}

func (o *osmandPing) num(v []byte, field string) (float64, bool) {
	f, ok := parseFloat(v)
	if !ok {
		o.it.setFault(reasonMalformed, field, "not a number")
	}
	return f, ok
}

// finish checks the required fields and fills the defaults: a missing
// timestamp is the time of receipt (as Traccar does); a missing accuracy is
// estimated from hdop.
func (o *osmandPing) finish(now time.Time, hdopMetres float64) {
	it := &o.it
	switch {
	case !o.hasLat:
		it.setFault(reasonMalformed, "lat", "missing")
	case !o.hasLon:
		it.setFault(reasonMalformed, "lon", "missing")
	}
	it.p.Lat, it.p.Lon = o.lat, o.lon
	if !o.hasTime {
		it.p.Time = now
	}
	if !o.hasAcc && o.hdop > 0 {
		it.setAccuracy(o.hdop * hdopMetres)
	}
}

// traccarJSON decodes the JSON that Traccar Client 9 (the background
// geolocation plugin) posts: {"location":{…},"device_id":"…"}, where
// location may be an array when the client batches, or a top-level array of
// such objects. It appends one item per location to rs.items. It returns
// false on a syntax error (r.err says where).
func (rs *reqState) traccarJSON(r *jsonReader, now time.Time) bool {
	if r.peek() == '[' {
		r.open('[')
		for first := true; r.more(&first, ']'); {
			rs.traccarEntry(r, now)
		}
	} else {
		rs.traccarEntry(r, now)
	}
	if !r.failed() && !r.atEnd() {
		r.fail("data after the JSON value")
	}
	return !r.failed()
}

// traccarEntry decodes one {"location":…,"device_id":…} object.
func (rs *reqState) traccarEntry(r *jsonReader, now time.Time) {
	if !r.open('{') {
		return
	}
	start := len(rs.items)
	rs.id = rs.id[:0]
	for first := true; r.more(&first, '}'); {
		switch string(r.key()) {
		case "location":
			if r.peek() == '[' {
				r.open('[')
				for f := true; r.more(&f, ']'); {
					rs.traccarLocation(r, now)
				}
			} else {
				rs.traccarLocation(r, now)
			}
		case "device_id", "deviceid", "id":
			rs.id = readID(r, rs.id)
		default:
			r.skip()
		}
	}
	if r.failed() {
		return
	}
	if len(rs.items) == start { // no location: still one ping the client meant to send
		it := rs.addItem(dalil.SourceOsmAnd)
		it.setFault(reasonMalformed, "location", "missing")
	}
	dev := ""
	if len(rs.id) > 0 {
		dev = string(rs.id)
	}
	for i := start; i < len(rs.items); i++ {
		rs.items[i].p.Device = dev
		if dev == "" {
			rs.items[i].setFault(reasonMalformed, "device_id", "missing")
		}
	}
}

// traccarLocation decodes one location object:
// {"timestamp":ISO,"coords":{"latitude","longitude","accuracy","speed" m/s,
// "heading","altitude"},"battery":{"level":0..1,"is_charging"},…}.
func (rs *reqState) traccarLocation(r *jsonReader, now time.Time) {
	it := rs.addItem(dalil.SourceOsmAnd)
	if r.peek() != '{' {
		it.setFault(reasonMalformed, "location", "not an object")
		r.skip()
		return
	}
	r.open('{')
	hasLat, hasLon, hasTime := false, false, false
	for first := true; r.more(&first, '}'); {
		switch string(r.key()) {
		case "timestamp":
			hasTime = readTime(r, it, "location.timestamp") || hasTime
		case "coords":
			if r.peek() != '{' {
				it.setFault(reasonMalformed, "location.coords", "not an object")
				r.skip()
				continue
			}
			r.open('{')
			for f := true; r.more(&f, '}'); {
				switch string(r.key()) {
				case "latitude":
					it.p.Lat, hasLat = readNum(r, it, "coords.latitude")
				case "longitude":
					it.p.Lon, hasLon = readNum(r, it, "coords.longitude")
				case "accuracy":
					if v, ok := readNum(r, it, "coords.accuracy"); ok {
						it.setAccuracy(v)
					}
				case "speed":
					if v, ok := readNum(r, it, "coords.speed"); ok {
						it.setSpeed(v)
					}
				case "heading":
					if v, ok := readNum(r, it, "coords.heading"); ok {
						it.setHeading(v)
					}
				case "altitude":
					if v, ok := readNum(r, it, "coords.altitude"); ok {
						it.setAltitude(v)
					}
				default:
					r.skip()
				}
			}
		case "battery":
			if r.peek() != '{' {
				r.skip()
				continue
			}
			r.open('{')
			for f := true; r.more(&f, '}'); {
				if string(r.key()) == "level" {
					if v, ok := readNum(r, it, "battery.level"); ok && v >= 0 {
						it.setBattery(v * 100)
					}
				} else {
					r.skip()
				}
			}
		default:
			r.skip()
		}
	}
	switch {
	case !hasLat:
		it.setFault(reasonMalformed, "coords.latitude", "missing")
	case !hasLon:
		it.setFault(reasonMalformed, "coords.longitude", "missing")
	}
	if !hasTime && it.fault.reason == reasonNone {
		it.p.Time = now
	}
}
