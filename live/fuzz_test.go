package live

import (
	"encoding/json"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
)

// A topic that parses prints back to text that parses to the same topic.
func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{
		"pilgrim:BD-123", "group:g1", "camp:mina-094", "tent:mina-094/3", "case:c-1", "events",
		"bbox:39.87,21.40,39.92,21.43", "bbox:1,2,3", "bbox:a,b,c,d", "bbox:-180,-90,180,90",
		"bbox:NaN,0,1,1", "bbox:1e400,0,1,1", ":", "pilgrim:", "x:y", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		tp2, err := ParseTopic(tp.String())
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", s, tp.String(), err)
		}
		if tp2 != tp {
			t.Fatalf("%q → %+v → %q → %+v", s, tp, tp.String(), tp2)
		}
		if tp.Kind == TopicBBox && (tp.MinLon > tp.MaxLon || tp.MinLat > tp.MaxLat) {
			t.Fatalf("inverted bbox accepted: %+v", tp)
		}
	})
}

// appendJSONString writes valid JSON that decodes to the string (invalid
// UTF-8 bytes become U+FFFD, as for encoding/json).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00\x1f\n\t", "মোহাম্মদ", "\xff\xfe", "<&>", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		if want := string([]rune(s)); got != want {
			t.Fatalf("%q → %s → %q, want %q", s, b, got, want)
		}
	})
}

// A position message is valid JSON carrying the state's fields.
func FuzzPositionMessage(f *testing.F) {
	f.Add("a1", "ph-a1", 21.41, 39.89, float32(5), int64(1700000000), "mina-094", "mina-094/3")
	f.Add("", "tag\"1", -91.0, 400.0, float32(-1), int64(0), "", "")
	f.Fuzz(func(t *testing.T, pid, dev string, lat, lon float64, acc float32, sec int64, camp, tent string) {
		if sec < -1e10 || sec > 1e11 {
			sec %= 1e10
		}
		st := &dalil.LiveState{
			Pilgrim: pid, Device: dev,
			Position: dalil.Position{Lat: lat, Lon: lon, Accuracy: acc, Time: time.Unix(sec, 0), Battery: dalil.Unknown},
			Location: geo.Location{Camp: camp, Tent: tent, Cell: 0x8b3f},
		}
		b := appendPosition(nil, st)
		var m LiveMessage
		if err := json.Unmarshal(b, &m); err != nil {
			// NaN/Inf become null, which cannot decode into a float64 field
			// only when the JSON itself is broken.
			var raw map[string]any
			if err2 := json.Unmarshal(b, &raw); err2 != nil {
				t.Fatalf("invalid JSON %s: %v", b, err2)
			}
			return
		}
		if m.Type != "position" || m.Pilgrim != string([]rune(pid)) || m.Camp != string([]rune(camp)) || !m.Time.Equal(st.Position.Time) {
			t.Fatalf("%s decoded to %+v", b, m)
		}
		if got, ok := PositionTime(b); !ok || !got.Equal(st.Position.Time) {
			t.Fatalf("PositionTime(%s) = %v %v", b, got, ok)
		}
	})
}
