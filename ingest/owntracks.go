package ingest

import (
	"time"

	"dalil"
)

// ownTracksJSON decodes an OwnTracks HTTP body: one message object, or an
// array of them. Location messages (_type "location") become items with an
// empty Device (the caller resolves the identity from headers); other types
// (transition, waypoint, lwt, card, status, …) are skipped. It returns false
// on a syntax error.
func (rs *reqState) ownTracksJSON(r *jsonReader, now time.Time) bool {
	if r.peek() == '[' {
		r.open('[')
		for first := true; r.more(&first, ']'); {
			rs.ownTracksMessage(r, now)
		}
	} else {
		rs.ownTracksMessage(r, now)
	}
	if !r.failed() && !r.atEnd() {
		r.fail("data after the JSON value")
	}
	return !r.failed()
}

// ownTracksMessage decodes {"_type":"location","lat","lon","tst","acc",
// "alt","vel" km/h,"cog","batt","tid",…}. OwnTracks omits zero-valued fields
// and sends -1 for an unknown vel or cog. _type may come in any position, so
// the item is added first and dropped if the message is not a location.
func (rs *reqState) ownTracksMessage(r *jsonReader, now time.Time) {
	if !r.open('{') {
		return
	}
	it := rs.addItem(dalil.SourceOwnTracks)
	isLocation := false
	hasLat, hasLon, hasTime := false, false, false
	for first := true; r.more(&first, '}'); {
		switch string(r.key()) {
		case "_type":
			if r.peek() == '"' {
				isLocation = string(r.str()) == "location"
			} else {
				r.skip()
			}
		case "lat":
			it.p.Lat, hasLat = readNum(r, it, "lat")
		case "lon":
			it.p.Lon, hasLon = readNum(r, it, "lon")
		case "tst":
			hasTime = readTime(r, it, "tst")
		case "acc":
			if v, ok := readNum(r, it, "acc"); ok {
				it.setAccuracy(v)
			}
		case "alt":
			if v, ok := readNum(r, it, "alt"); ok {
				it.setAltitude(v)
			}
		case "vel":
			if v, ok := readNum(r, it, "vel"); ok && v >= 0 {
				it.setSpeed(v * kmhToMS)
			}
		case "cog":
			if v, ok := readNum(r, it, "cog"); ok {
				it.setHeading(v)
			}
		case "batt":
			if v, ok := readNum(r, it, "batt"); ok {
				it.setBattery(v)
			}
		default:
			r.skip()
		}
	}
	if !isLocation {
		rs.items = rs.items[:len(rs.items)-1]
		return
	}
	switch {
	case !hasLat:
		it.setFault(reasonMalformed, "lat", "missing")
	case !hasLon:
		it.setFault(reasonMalformed, "lon", "missing")
	}
	if !hasTime && it.fault.reason == reasonNone {
		it.p.Time = now
	}
}
