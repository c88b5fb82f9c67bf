package embedded

import (
	"bytes"
	"math"
	"testing"
	"time"

	"dalil"
)

func samePos(a, b dalil.Position) bool {
	f32 := func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }
	return a.Device == b.Device && a.Time.Equal(b.Time) &&
		math.Float64bits(a.Lat) == math.Float64bits(b.Lat) && math.Float64bits(a.Lon) == math.Float64bits(b.Lon) &&
		f32(a.Accuracy, b.Accuracy) && f32(a.Speed, b.Speed) && f32(a.Heading, b.Heading) &&
		f32(a.Altitude, b.Altitude) && f32(a.Battery, b.Battery) && a.Source == b.Source
}

func TestValueSizes(t *testing.T) {
	phone := dalil.Position{Lat: 21.41, Lon: 39.89, Accuracy: 8, Speed: 1.2, Heading: 90, Altitude: 360, Battery: 71}
	bare := dalil.Position{Lat: 21.41, Lon: 39.89, Speed: dalil.Unknown, Heading: dalil.Unknown,
		Altitude: dalil.Unknown, Battery: dalil.Unknown}
	if n := valueLen(&phone); n != 39 {
		t.Errorf("phone ping value: %d bytes, want 39", n)
	}
	if n := valueLen(&bare); n != 19 {
		t.Errorf("bare fix value: %d bytes, want 19", n)
	}
}

// FuzzValue: any position survives encode/decode bit for bit, and decoding
// arbitrary bytes never panics.
func FuzzValue(f *testing.F) {
	f.Add(21.4133, 39.8933, float32(5), float32(-1), float32(-1), float32(-1), float32(-1), uint8(0), []byte{1, 0, 0})
	f.Add(-0.0, math.NaN(), float32(0), float32(1.5), float32(359), float32(12), float32(100), uint8(4), []byte{1, 2, 31, 0})
	f.Add(math.Inf(1), 1e-300, float32(math.NaN()), float32(0), float32(-0.0), float32(1e9), float32(-1), uint8(255), []byte{})
	f.Fuzz(func(t *testing.T, lat, lon float64, acc, speed, heading, alt, batt float32, src uint8, junk []byte) {
		p := dalil.Position{Lat: lat, Lon: lon, Accuracy: acc, Speed: speed, Heading: heading,
			Altitude: alt, Battery: batt, Source: dalil.Source(src)}
		b := make([]byte, valueLen(&p))
		putValue(b, &p)
		var q dalil.Position
		if err := decodeValue(b, &q); err != nil {
			t.Fatalf("decode of an encoded value: %v", err)
		}
		if !samePos(p, q) {
			t.Fatalf("round trip: %+v became %+v", p, q)
		}
		var r dalil.Position
		_ = decodeValue(junk, &r) // must not panic
		_, _ = decodeLatestValue("d", junk)
	})
}

func TestTimeKeysSortByTime(t *testing.T) {
	times := []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1000),
		time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 5, 26, 8, 0, 0, 1000, time.UTC),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var prev []byte
	for i, tm := range times {
		k := make([]byte, positionKeyLen("dev"))
		putPositionKey(k, "dev", tm, 0)
		if !positionKeyTime(k).Equal(tm) {
			t.Fatalf("time %v read back as %v", tm, positionKeyTime(k))
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("key of %v does not sort after key of %v", tm, times[i-1])
		}
		prev = k
	}
}

func TestDeviceRangesDisjoint(t *testing.T) {
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	k := make([]byte, positionKeyLen("dev-10"))
	putPositionKey(k, "dev-10", at, 7)
	lo, hi := positionBound("dev-1", time.Unix(0, 0)), positionBound("dev-1", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0 {
		t.Fatal("a dev-10 key falls inside dev-1's trail range")
	}
	if !bytes.HasPrefix(k, devicePrefix("dev-10")) || bytes.HasPrefix(k, devicePrefix("dev-1")) {
		t.Fatal("device prefixes overlap")
	}
}

// The merge operator keeps the greatest (time, seq) whatever order operands
// arrive in, so out-of-order pings never move latest backwards.
func TestLatestMergerKeepsNewest(t *testing.T) {
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	val := func(tm time.Time, seq uint64, lat float64) []byte {
		p := dalil.Position{Time: tm, Lat: lat, Speed: -1, Heading: -1, Altitude: -1, Battery: -1}
		b := make([]byte, latestValueLen(&p))
		putLatestValue(b, &p, seq)
		return b
	}
	ops := [][]byte{val(at, 5, 1), val(at.Add(time.Hour), 2, 2), val(at.Add(-time.Hour), 9, 3), val(at.Add(time.Hour), 3, 4)}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
		m, err := latestMerger.Merge([]byte("lD"), ops[order[0]])
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range order[1:] {
			if i%2 == 0 {
				err = m.MergeNewer(ops[o])
			} else {
				err = m.MergeOlder(ops[o])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		out, _, err := m.Finish(true)
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodeLatestValue("D", out)
		if err != nil {
			t.Fatal(err)
		}
		// Newest time wins; of the two at at+1h, the higher sequence (lat 4).
		if p.Lat != 4 || !p.Time.Equal(at.Add(time.Hour)) {
			t.Fatalf("order %v: merged to lat %v at %v, want lat 4 at %v", order, p.Lat, p.Time, at.Add(time.Hour))
		}
	}
}
