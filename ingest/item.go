package ingest

import (
	"math"

	"dalil"
)

// item is one decoded ping of a request, or the reason it could not be decoded.
type item struct {
	p     dalil.Position
	fault fault
	// resent: the filter refused the ping because this device sent exactly
	// this fix before and it was refused then too.
	resent bool
}

// setFault keeps the first fault of an item: the earliest problem is the
// one worth naming.
func (it *item) setFault(r reason, field, msg string) {
	if it.fault.reason == reasonNone {
		it.fault = fault{reason: r, field: field, msg: msg}
	}
}

func (it *item) reset(src dalil.Source) {
	*it = item{p: dalil.Position{
		Speed:    dalil.Unknown,
		Heading:  dalil.Unknown,
		Altitude: dalil.Unknown,
		Battery:  dalil.Unknown,
		Source:   src,
	}}
}

// Unit conversions to the m/s that Position.Speed holds.
const (
	knotsToMS = 1852.0 / 3600.0
	kmhToMS   = 1 / 3.6
)

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Clients mark an unknown value with a negative one (iOS reports speed,
// course and accuracy -1; the background geolocation plugin reports battery
// level -1), so negative speed, heading, accuracy and battery read as unknown.

func (it *item) setSpeed(ms float64) {
	if finite(ms) && ms >= 0 {
		it.p.Speed = float32(ms)
	}
}

func (it *item) setHeading(deg float64) {
	if finite(deg) && deg >= 0 {
		it.p.Heading = float32(math.Mod(deg, 360))
	}
}

func (it *item) setAltitude(m float64) {
	if finite(m) {
		it.p.Altitude = float32(m)
	}
}

func (it *item) setAccuracy(m float64) {
	if finite(m) && m > 0 {
		it.p.Accuracy = float32(min(m, math.MaxFloat32))
	}
}

// setBattery takes a percentage; values outside 0..100 read as unknown.
func (it *item) setBattery(pct float64) {
	if finite(pct) && pct >= 0 && pct <= 100 {
		it.p.Battery = float32(pct)
	}
}

// readNum reads a numeric JSON field. null reads as absent; a value that is
// not a number faults the item naming the field.
func readNum(r *jsonReader, it *item, field string) (float64, bool) {
	v, present, ok := r.number()
	if !present || r.failed() {
		return 0, false
	}
	if !ok {
		it.setFault(reasonMalformed, field, "not a number")
		return 0, false
	}
	return v, true
}

// readTime reads a JSON timestamp: an ISO-8601 string or epoch seconds or
// milliseconds, as a number or a string.
func readTime(r *jsonReader, it *item, field string) bool {
	var ok bool
	switch c := r.peek(); {
	case c == '"':
		s := r.str()
		if r.failed() {
			return false
		}
		it.p.Time, ok = parseTimestamp(s)
	case c == 'n':
		r.skip()
		return false
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.i
		r.skip()
		if r.failed() {
			return false
		}
		it.p.Time, ok = parseTimestamp(r.b[start:r.i])
	default:
		r.skip()
	}
	if !ok {
		it.setFault(reasonMalformed, field, "not a timestamp (epoch s, epoch ms or ISO-8601)")
	}
	return ok
}

// readID reads a device id given as a JSON string or number into dst.
func readID(r *jsonReader, dst []byte) []byte {
	switch c := r.peek(); {
	case c == '"':
		return append(dst[:0], r.str()...)
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.i
		r.skip()
		return append(dst[:0], r.b[start:r.i]...)
	default:
		r.skip()
		return dst[:0]
	}
}
