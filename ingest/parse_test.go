package ingest

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestParseFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "21.4133", "-122.084", "39.893300000000001", "37.785834000000001",
		"1e3", "-1.5E-2", ".5", "5.", "+3.25", "0.000123", "123456789012345678", "1763636.3442", "350.059479"} {
		want, err := strconv.ParseFloat(s, 64)
		got, ok := parseFloat([]byte(s))
		if err != nil || !ok || got != want {
			t.Errorf("parseFloat(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-", ".", "1.2.3", "12a", "0x10", "--1", "1e"} {
		if v, ok := parseFloat([]byte(s)); ok && !(s == "0x10" && v == 16) {
			t.Errorf("parseFloat(%q) = %v, want failure", s, v)
		}
	}
	if v, ok := parseFloat([]byte("NaN")); !ok || !math.IsNaN(v) {
		t.Errorf("NaN: %v %v (the filter, not the parser, refuses it)", v, ok)
	}
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"1717578000", time.Unix(1717578000, 0)},
		{"1717578000.25", time.Unix(1717578000, 250_000_000)},
		{"1717578000123", time.UnixMilli(1717578000123)},
		{"1442068686579", time.UnixMilli(1442068686579)},
		{"2025-06-15T13:45:12.862Z", time.Date(2025, 6, 15, 13, 45, 12, 862_000_000, time.UTC)},
		{"2016-01-27T18:55:47Z", time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC)},
		{"2014-06-04 09:10:11", time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC)},
		{"2025-06-05T12:00:00+03:00", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)},
		{"2025-06-05T12:00:00 03:00", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)}, // '+' decoded as a space
		{"2025-06-05T12:00:00+0300", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)},
		{"2025-06-05T12:00:00+03", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)},
		{"2025-06-05T06:30:00-02:30", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)},
		{"2025-06-05T09:00Z", time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)},
		{"2025-06-05t09:00:00.123456789z", time.Date(2025, 6, 5, 9, 0, 0, 123456789, time.UTC)},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{" 1717578000 ", time.Unix(1717578000, 0)},
	}
	for _, c := range cases {
		got, ok := parseTimestamp([]byte(c.in))
		if !ok || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("parseTimestamp(%q) = %v %v, want %v", c.in, got, ok, c.want)
		}
	}
	for _, s := range []string{"", "yesterday", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-06-05T24:00:00Z",
		"2025-06-05T12:00:00+3", "2025-06-05T12:00:00Zjunk", "2025-06-05", "2025-06-05T12:00:00.Z", "-5", "17x"} {
		if got, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("parseTimestamp(%q) = %v, want failure", s, got)
		}
	}
	// RFC 3339 agrees with the standard library on what it accepts.
	for _, s := range []string{"2025-06-05T09:00:00.5+05:30", "2025-06-05T09:00:00-00:00"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		if got, ok := parseTimestamp([]byte(s)); !ok || !got.Equal(want) {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}

func TestJSONReader(t *testing.T) {
	var r jsonReader
	r.reset([]byte(` {"a" : "x\"y\u00e9\ud83d\ude00" , "n": -1.5e1, "s":"21.5", "z":null,` +
		` "skip":{"deep":[1,{"x":[true,false,null,"]"]}],"e":{}}, "t":true } `))
	got := map[string]any{}
	r.open('{')
	for first := true; r.more(&first, '}'); {
		k := string(r.key())
		switch k {
		case "a":
			got[k] = string(r.str())
		case "n", "s", "z":
			v, present, ok := r.number()
			got[k] = [3]any{v, present, ok}
		case "t":
			got[k] = r.boolean()
		default:
			r.skip()
		}
	}
	if r.failed() || !r.atEnd() {
		t.Fatalf("error %q at %d", r.err, r.errAt)
	}
	if got["a"] != "x\"y\u00e9😀" || got["n"] != [3]any{-15.0, true, true} || got["s"] != [3]any{21.5, true, true} ||
		got["z"] != [3]any{0.0, false, true} || got["t"] != true {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{`{"a":1,}`, `{"a" 1}`, `{"a":1`, `{"a":"x`, `{"a":tru}`, `{"a":[1,2}`, "{\"a\":\"\x01\"}", `{"a":"\q"}`, `{"a":--1}`} {
		r.reset([]byte(bad))
		r.open('{')
		for first := true; r.more(&first, '}'); {
			r.key()
			r.skip()
		}
		if !r.failed() && bad != `{"a":--1}` && bad != `{"a":[1,2}` {
			t.Errorf("%s: no error", bad)
		}
	}
	// number() names a malformed number as a syntax error.
	r.reset([]byte(`--1`))
	if _, _, ok := r.number(); ok || !r.failed() {
		t.Error("--1 read as a number")
	}
	// Deep nesting is skipped without recursion.
	deep := make([]byte, 0, 200002)
	for range 100000 {
		deep = append(deep, '[')
	}
	for range 100000 {
		deep = append(deep, ']')
	}
	r.reset(deep)
	r.skip()
	if r.failed() || !r.atEnd() {
		t.Fatalf("deep skip: %q", r.err)
	}
}

func TestParamReader(t *testing.T) {
	var p paramReader
	p.reset([]byte("id=a%2Fb&&lat=21.4&timestamp=2014-06-04+09%3A10%3A11&flag&bad=%zz&e="))
	var got []string
	for {
		k, v, ok := p.next()
		if !ok {
			break
		}
		got = append(got, string(k)+"="+string(v))
	}
	want := []string{"id=a/b", "lat=21.4", "timestamp=2014-06-04 09:10:11", "flag=", "bad=%zz", "e="}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("param %d: %q, want %q", i, got[i], want[i])
		}
	}
}
