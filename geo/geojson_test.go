package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestGeoJSONRoundTrip(t *testing.T) {
	// Every 5th camp of the default layout with all its tents (the whole
	// file takes long under the race detector; BenchmarkReadGeoJSON reads it).
	d := Default()
	var camps []Camp
	var tents []Tent
	for i := 0; i < len(d.Camps); i += 5 {
		camps = append(camps, d.Camps[i])
		for _, tt := range d.TentsOf(d.Camps[i].ID) {
			tents = append(tents, *tt)
		}
	}
	l, err := NewLayout(d.Areas, camps, tents)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := l.WriteGeoJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGeoJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Areas, back.Areas) || !reflect.DeepEqual(l.Camps, back.Camps) || !reflect.DeepEqual(l.Tents, back.Tents) {
		t.Fatal("layout changed in a GeoJSON round trip")
	}
	if _, ok := back.Tent(tents[7].ID); !ok {
		t.Error("read layout has no lookups")
	}
}

// collection is a decoded FeatureCollection that tests mutate.
type collection map[string]any

var (
	smallOnce sync.Once
	smallJSON []byte
)

// encodeSmall returns a fresh decoded copy of smallLayout's GeoJSON.
func encodeSmall(t *testing.T) collection {
	t.Helper()
	smallOnce.Do(func() {
		var b bytes.Buffer
		if err := smallLayout(t).WriteGeoJSON(&b); err != nil {
			t.Fatal(err)
		}
		smallJSON = b.Bytes()
	})
	var fc collection
	if err := json.Unmarshal(smallJSON, &fc); err != nil {
		t.Fatal(err)
	}
	return fc
}

func (fc collection) features() []any { return fc["features"].([]any) }

// find returns the index of the first feature with the given kind and id.
func (fc collection) find(t *testing.T, kind, id string) int {
	for i, f := range fc.features() {
		p := f.(map[string]any)["properties"].(map[string]any)
		if p["kind"] == kind && (id == "" || p["id"] == id) {
			return i
		}
	}
	t.Fatalf("no %s %s", kind, id)
	return -1
}

func (fc collection) props(i int) map[string]any {
	return fc.features()[i].(map[string]any)["properties"].(map[string]any)
}

func (fc collection) ring(i int) []any {
	g := fc.features()[i].(map[string]any)["geometry"].(map[string]any)
	return g["coordinates"].([]any)[0].([]any)
}

func (fc collection) setRing(i int, r []any) {
	g := fc.features()[i].(map[string]any)["geometry"].(map[string]any)
	g["coordinates"] = []any{r}
}

func (fc collection) bytes(t *testing.T) []byte {
	b, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pos(lon, lat float64) []any { return []any{lon, lat} }

func coord(v any) (lon, lat float64) {
	c := v.([]any)
	return c[0].(float64), c[1].(float64)
}

func TestReadGeoJSONFaults(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, fc collection) int // returns the faulty feature's index
		want   string
	}{
		{"unclosed ring", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			r := fc.ring(i)
			fc.setRing(i, r[:len(r)-1])
			return i
		}, "not closed"},
		{"too few points", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			r := fc.ring(i)
			fc.setRing(i, []any{r[0], r[1], r[0]})
			return i
		}, "at least 4"},
		{"self-intersecting ring", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			r := fc.ring(i) // a b c d a → a c b d a: a bow tie
			fc.setRing(i, []any{r[0], r[2], r[1], r[3], r[0]})
			return i
		}, "intersects itself"},
		{"clockwise ring", func(t *testing.T, fc collection) int {
			i := fc.find(t, "camp", "mina-002")
			r := fc.ring(i)
			rev := make([]any, len(r))
			for k := range r {
				rev[k] = r[len(r)-1-k]
			}
			fc.setRing(i, rev)
			return i
		}, "clockwise"},
		{"tent outside its camp", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			fc.props(i)["camp"] = "mina-002"
			return i
		}, "outside its camp mina-002"},
		{"overlapping tents", func(t *testing.T, fc collection) int {
			a, b := fc.find(t, "tent", "mina-001/3"), fc.find(t, "tent", "mina-001/4")
			r := fc.ring(a)
			shift := make([]any, len(r))
			lon0, _ := coord(fc.ring(b)[0])
			lonA, _ := coord(r[0])
			for k, p := range r { // tent 3 moved 3 m onto tent 4
				lon, lat := coord(p)
				shift[k] = pos(lon+(lon0-lonA)*0.4, lat)
			}
			fc.setRing(a, shift)
			return max(a, b)
		}, "overlaps tent"},
		{"duplicate id", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/4")
			fc.props(i)["id"] = "mina-001/3"
			return i
		}, `duplicate id "mina-001/3"`},
		{"far from Makkah", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			r := fc.ring(i)
			for k, p := range r {
				lon, lat := coord(p)
				r[k] = pos(lat, lon) // lon and lat swapped
			}
			return i
		}, "km from Makkah"},
		{"coordinate not a number", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			fc.ring(i)[1] = []any{"39.9", 21.4}
			return i
		}, "found a string"},
		{"property not a number", func(t *testing.T, fc collection) int {
			i := fc.find(t, "camp", "mina-001")
			fc.props(i)["capacity"] = "lots"
			return i
		}, `property "capacity": want a number`},
		{"unknown camp", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			fc.props(i)["camp"] = "mina-404"
			return i
		}, `unknown camp "mina-404"`},
		{"unknown kind", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			fc.props(i)["kind"] = "toilet"
			return i
		}, `unknown kind "toilet"`},
		{"missing id", func(t *testing.T, fc collection) int {
			i := fc.find(t, "camp", "mina-001")
			delete(fc.props(i), "id")
			return i
		}, `missing property "id"`},
		{"polygon with a hole", func(t *testing.T, fc collection) int {
			i := fc.find(t, "tent", "mina-001/3")
			g := fc.features()[i].(map[string]any)["geometry"].(map[string]any)
			r := fc.ring(i)
			g["coordinates"] = []any{r, r}
			return i
		}, "holes are not supported"},
		{"gate away from the fence", func(t *testing.T, fc collection) int {
			i := fc.find(t, "gate", "")
			camp := fc.props(i)["camp"].(string)
			g := fc.features()[i].(map[string]any)["geometry"].(map[string]any)
			lon, lat := coord(g["coordinates"])
			g["coordinates"] = pos(lon+0.0002, lat) // ~20 m
			return fc.find(t, "camp", camp)
		}, "m from the fence"},
		{"wrong geometry", func(t *testing.T, fc collection) int {
			i := fc.find(t, "camp", "mina-002")
			fc.features()[i].(map[string]any)["geometry"] = map[string]any{"type": "Point", "coordinates": pos(39.9, 21.4)}
			return i
		}, `geometry type "Point": want Polygon`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := encodeSmall(t)
			feature := tc.mutate(t, fc)
			l, err := ReadGeoJSON(bytes.NewReader(fc.bytes(t)))
			if l != nil {
				t.Error("a faulty layout was (half) loaded")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidLayout) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			for _, f := range ve.Faults {
				if f.Feature == feature && strings.Contains(f.Problem, tc.want) {
					if !strings.Contains(err.Error(), fmt.Sprintf("feature %d", feature)) {
						t.Errorf("message %q does not name feature %d", err, feature)
					}
					return
				}
			}
			t.Errorf("faults %v: none at feature %d saying %q", ve.Faults, feature, tc.want)
		})
	}
}

func TestReadGeoJSONRejectsNonCollections(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"Feature"}`: `want "FeatureCollection"`,
		"{\"type\":\"FeatureCollection\",\n\"features\":[}": "line 2",
		`[1,2]`: "not a GeoJSON FeatureCollection",
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"camp","id":"x","site":"mina","number":1,"zone":1},"geometry":{"type":"Polygon","coordinates":[[[39.9,21.4],[39.901,21.4],[39.901,21.401],[39.9,21.4]]]}}]}`: "no gate",
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"camp","id":"x","site":"mina","number":1.5,"zone":1}}]}`:                                                                                                     "whole number",
	} {
		_, err := ReadGeoJSON(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadGeoJSON(%.60s…) = %v, want %q", in, err, want)
		}
	}
}

func TestValidateLayoutBuiltInCode(t *testing.T) {
	l := smallLayout(t)
	bad := *l
	bad.Tents = append([]Tent(nil), l.Tents...)
	bad.Tents[1].ID = bad.Tents[0].ID
	err := Validate(&bad)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Faults[0].Feature != len(l.Areas)+len(l.Camps)+1 {
		t.Fatalf("Validate = %v, want a duplicate at feature %d", err, len(l.Areas)+len(l.Camps)+1)
	}
	if _, err := NewLayout(bad.Areas, bad.Camps, bad.Tents); err == nil {
		t.Error("NewLayout accepted a duplicate id")
	}
}

func TestGatesAsCampProperty(t *testing.T) {
	fc := encodeSmall(t)
	// Move every gate feature into its camp's "gates" property.
	var keep []any
	gates := map[string][]any{}
	for i, f := range fc.features() {
		p := fc.props(i)
		if p["kind"] == "gate" {
			g := f.(map[string]any)["geometry"].(map[string]any)
			gates[p["camp"].(string)] = append(gates[p["camp"].(string)], g["coordinates"])
			continue
		}
		keep = append(keep, f)
	}
	fc["features"] = keep
	for i := range keep {
		if p := fc.props(i); p["kind"] == "camp" {
			p["gates"] = gates[p["id"].(string)]
		}
	}
	l, err := ReadGeoJSON(bytes.NewReader(fc.bytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := smallLayout(t)
	if !reflect.DeepEqual(l.Camps, want.Camps) {
		t.Error("gates given as a camp property read differently")
	}
}

func FuzzReadGeoJSON(f *testing.F) {
	var b bytes.Buffer
	l := Default()
	small, _ := NewLayout(l.Areas[:1], l.Camps[:1], nil)
	small.WriteGeoJSON(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"tent","id":"t","camp":"c"},"geometry":{"type":"Polygon","coordinates":[[[39.9,21.4],[39.9,21.4],[39.9,21.4],[39.9,21.4]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"gate","camp":"c"},"geometry":{"type":"Point","coordinates":[1e400,"x"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadGeoJSON(bytes.NewReader(data))
		if err != nil {
			if l != nil {
				t.Fatal("layout returned with an error")
			}
			return
		}
		if err := Validate(l); err != nil {
			t.Fatalf("ReadGeoJSON accepted a layout Validate rejects: %v", err)
		}
		var out bytes.Buffer
		if err := l.WriteGeoJSON(&out); err != nil {
			t.Fatal(err)
		}
		back, err := ReadGeoJSON(&out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(back.Camps, l.Camps) || !reflect.DeepEqual(back.Tents, l.Tents) {
			t.Fatal("round trip changed the layout")
		}
	})
}

func BenchmarkReadGeoJSON(b *testing.B) {
	var buf bytes.Buffer
	Default().WriteGeoJSON(&buf)
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := ReadGeoJSON(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
