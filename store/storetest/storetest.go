// Package storetest is the conformance suite every tracking.Store passes: the
// behaviour ingest, the tracker and the registry rely on, written once and
// run against the embedded store and PostgreSQL alike.
package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"dalil"
)

// Opener opens the store that belongs to test t. The first call for a given t
// must return an empty store; a later call for the same t, after the first
// store was closed, must reopen the same data (the durability tests close and
// reopen). The suite closes every store it opens.
type Opener = func(t *testing.T) dalil.Store

// Run runs the whole suite, one subtest per behaviour.
func Run(t *testing.T, open func(t *testing.T) dalil.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"TrailRoundTrip", testTrailRoundTrip},
		{"TrailRangeAndLimit", testTrailRangeAndLimit},
		{"OutOfOrderKeepsLatest", testOutOfOrder},
		{"SameTimestampKept", testSameTimestamp},
		{"LatestEveryDevice", testLatestEveryDevice},
		{"DurableAcrossReopen", testReopen},
		{"BadBatchRefusedWhole", testBadBatch},
		{"BigBatch", testBigBatch},
		{"Retention", testRetention},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ContextCancelled", testContextCancelled},
		{"RecordsCRUD", testRecordsCRUD},
		{"RecordsScanOrder", testRecordsScanOrder},
		{"RecordsScanFrom", testRecordsScanFrom},
		{"PutRecordsAtomic", testPutRecordsAtomic},
		{"ClosedIsUnavailable", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// openStore opens t's store and closes it when t ends.
func openStore(t *testing.T, open Opener) dalil.Store {
	t.Helper()
	st := open(t)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// base is a morning in Mina during Hajj 2026; every time the suite uses is a
// whole number of microseconds, the precision both stores keep.
var base = time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)

// ping builds a realistic position whose every field depends on i, so a store
// that mixes up fields or rows is caught.
func ping(device string, at time.Time, i int) dalil.Position {
	p := dalil.Position{
		Device:   device,
		Time:     at,
		Lat:      21.4133 + float64(i)*1.25e-5,
		Lon:      39.8933 - float64(i)*0.75e-5,
		Accuracy: float32(4 + i%13),
		Speed:    float32(i%7) * 0.4,
		Heading:  float32((i * 37) % 360),
		Altitude: float32(350 + i%20),
		Battery:  float32(100 - i%100),
		Source:   dalil.Source(i % 5),
	}
	switch i % 4 { // a wristband sends no speed, heading or altitude
	case 1:
		p.Speed, p.Heading, p.Altitude = dalil.Unknown, dalil.Unknown, dalil.Unknown
	case 2:
		p.Accuracy, p.Battery = 0, dalil.Unknown
	}
	return p
}

// samePosition compares every field; times by instant, floats by bits.
func samePosition(a, b dalil.Position) bool {
	f32 := func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }
	return a.Device == b.Device && a.Time.Equal(b.Time) &&
		math.Float64bits(a.Lat) == math.Float64bits(b.Lat) &&
		math.Float64bits(a.Lon) == math.Float64bits(b.Lon) &&
		f32(a.Accuracy, b.Accuracy) && f32(a.Speed, b.Speed) && f32(a.Heading, b.Heading) &&
		f32(a.Altitude, b.Altitude) && f32(a.Battery, b.Battery) && a.Source == b.Source
}

func fmtPosition(p dalil.Position) string {
	return fmt.Sprintf("{%s %s %.7f,%.7f acc=%g spd=%g hdg=%g alt=%g batt=%g %s}",
		p.Device, p.Time.UTC().Format(time.RFC3339Nano), p.Lat, p.Lon,
		p.Accuracy, p.Speed, p.Heading, p.Altitude, p.Battery, p.Source)
}

// wantPositions fails t unless got equals want, element by element.
func wantPositions(t *testing.T, what string, got, want []dalil.Position) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d positions, want %d\n got: %s\nwant: %s", what, len(got), len(want), list(got), list(want))
	}
	for i := range want {
		if !samePosition(got[i], want[i]) {
			t.Fatalf("%s: position %d differs\n got: %s\nwant: %s", what, i, fmtPosition(got[i]), fmtPosition(want[i]))
		}
	}
}

func list(ps []dalil.Position) string {
	if len(ps) > 6 {
		return fmt.Sprintf("%s … %s (%d)", list(ps[:3]), list(ps[len(ps)-2:]), len(ps))
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(fmtPosition(p))
	}
	return b.String()
}
