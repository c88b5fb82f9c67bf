package ingest

import (
	"dalil"
)

// nativeBatch decodes the body of POST /v1/pings: a JSON array of ping
// objects, or NDJSON (one object per line; blank lines are not items). Every
// item gets Device = dev (the token's device).
//
// In NDJSON a broken line faults only its own item and the next line is
// decoded normally. In an array a syntax error cannot be resynchronised:
// nativeBatch returns false, the items decoded so far are discarded by the
// caller and the request is answered 400 naming the item and byte offset.
func (rs *reqState) nativeBatch(r *jsonReader, dev string, maxBatch int) (ok, tooMany bool) {
	body := r.b
	if r.peek() == '[' {
		r.open('[')
		for first := true; r.more(&first, ']'); {
			if maxBatch > 0 && len(rs.items) >= maxBatch {
				return true, true
			}
			rs.nativePing(r, dev)
		}
		if !r.failed() && !r.atEnd() {
			r.fail("data after the JSON array")
		}
		return !r.failed(), false
	}
	for start := 0; start < len(body); {
		end := start
		for end < len(body) && body[end] != '\n' {
			end++
		}
		line := trimSpace(body[start:end])
		start = end + 1
		if len(line) == 0 {
			continue
		}
		if maxBatch > 0 && len(rs.items) >= maxBatch {
			return true, true
		}
		r.reset(line)
		n := len(rs.items)
		rs.nativePing(r, dev)
		if !r.failed() && !r.atEnd() {
			r.fail("data after the JSON object")
		}
		if r.failed() {
			if len(rs.items) == n {
				rs.addItem(dalil.SourceNative)
			}
			it := &rs.items[n]
			it.fault = fault{reason: reasonMalformed, field: "", msg: r.err}
		}
	}
	return true, false
}

// nativePing decodes {"device","ts","lat","lon","acc","speed","heading",
// "batt","alt"}: ts is RFC 3339 or epoch milliseconds, speed m/s, batt percent.
func (rs *reqState) nativePing(r *jsonReader, dev string) {
	it := rs.addItem(dalil.SourceNative)
	it.p.Device = dev
	if r.peek() != '{' {
		it.setFault(reasonMalformed, "", "item is not a JSON object")
		r.skip()
		return
	}
	r.open('{')
	hasLat, hasLon, hasTime := false, false, false
	for first := true; r.more(&first, '}'); {
		switch string(r.key()) {
		case "device":
			if r.peek() == '"' {
				if string(r.str()) != dev {
					it.setFault(reasonWrongDevice, "device", "")
				}
			} else if r.peek() == 'n' {
				r.skip() // null: the token's device
			} else {
				it.setFault(reasonMalformed, "device", "not a string")
				r.skip()
			}
		case "ts":
			hasTime = readTime(r, it, "ts")
		case "lat":
			it.p.Lat, hasLat = readNum(r, it, "lat")
		case "lon":
			it.p.Lon, hasLon = readNum(r, it, "lon")
		case "acc":
			if v, ok := readNum(r, it, "acc"); ok {
				it.setAccuracy(v)
			}
		case "speed":
			if v, ok := readNum(r, it, "speed"); ok {
				it.setSpeed(v)
			}
		case "heading":
			if v, ok := readNum(r, it, "heading"); ok {
				it.setHeading(v)
			}
		case "alt":
			if v, ok := readNum(r, it, "alt"); ok {
				it.setAltitude(v)
			}
		case "batt":
			if v, ok := readNum(r, it, "batt"); ok {
				it.setBattery(v)
			}
		default:
			r.skip()
		}
	}
	switch {
	case !hasLat:
		it.setFault(reasonMalformed, "lat", "missing")
	case !hasLon:
		it.setFault(reasonMalformed, "lon", "missing")
	case !hasTime:
		it.setFault(reasonMalformed, "ts", "missing")
	}
}
