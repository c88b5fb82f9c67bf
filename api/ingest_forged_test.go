package api

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil/geo"
)

// ingestAnswer is what a device (or a stranger) can observe of a refusal.
type ingestAnswer struct {
	Status      int
	Challenge   string
	ContentType string
	Body        string
}

// post sends an ingest request to the fixture's server and returns what
// came back. headers are name, value pairs.
func (f *fixture) ingest(method, path, ctype, body string, headers ...string) ingestAnswer {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return ingestAnswer{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), string(b)}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Forged fixes for an enrolled pilgrim — over OsmAnd, OwnTracks and the
// native protocol, without a token, with a wrong one, with another
// device's — are all refused, and the pilgrim's live position and trail
// are exactly what the pilgrim's own device sent.
func TestForgedFixesDoNotMoveAPilgrim(t *testing.T) {
	f := newFixture(t)
	home := centroid(f.tentA)
	away := centroid(f.tentB) // where a forger would send the helpers
	start := time.Now().Add(-30 * time.Second)
	own := f.tokens["device"] // ph-a1's device token
	other, _, err := f.srv.MintToken(t.Context(), RoleDevice, "ph-b1")
	if err != nil {
		t.Fatal(err)
	}

	// a1's own phone reports once, proving itself with its token.
	q := fmt.Sprintf("id=ph-a1&timestamp=%d&lat=%.7f&lon=%.7f&accuracy=5", start.Unix(), home.Lat, home.Lon)
	if a := f.ingest("GET", "/ingest/osmand?"+q, "", "", "Authorization", "Bearer "+own); a.Status != http.StatusOK {
		t.Fatalf("the device's own fix: %+v", a)
	}

	forged := func(i int) (ts int64, lat, lon float64) {
		return start.Add(time.Duration(i+1) * time.Second).Unix(), away.Lat, away.Lon
	}
	osm := func(i int, extra string) string {
		ts, lat, lon := forged(i)
		return fmt.Sprintf("/ingest/osmand?id=ph-a1&timestamp=%d&lat=%.7f&lon=%.7f&accuracy=5%s", ts, lat, lon, extra)
	}
	otJSON := func(i int) string {
		ts, lat, lon := forged(i)
		return fmt.Sprintf(`{"_type":"location","lat":%.7f,"lon":%.7f,"tst":%d,"acc":5,"tid":"a1"}`, lat, lon, ts)
	}
	nativeJSON := func(i int) string {
		ts, lat, lon := forged(i)
		return fmt.Sprintf(`{"device":"ph-a1","ts":%d,"lat":%.7f,"lon":%.7f,"acc":5}`, ts*1000, lat, lon)
	}
	cases := []struct {
		name   string
		send   func(i int) ingestAnswer
		status int
	}{
		{"OsmAnd by id alone", func(i int) ingestAnswer { return f.ingest("GET", osm(i, ""), "", "") }, 401},
		{"OsmAnd form by id alone", func(i int) ingestAnswer {
			return f.ingest("POST", "/ingest/osmand", "application/x-www-form-urlencoded", strings.TrimPrefix(osm(i, ""), "/ingest/osmand?"))
		}, 401},
		{"OsmAnd with a guessed token", func(i int) ingestAnswer { return f.ingest("GET", osm(i, "&token=dalil_guess"), "", "") }, 401},
		{"OsmAnd with another device's token", func(i int) ingestAnswer {
			return f.ingest("GET", osm(i, ""), "", "", "Authorization", "Bearer "+other)
		}, 403},
		{"OsmAnd with an operator's token", func(i int) ingestAnswer {
			return f.ingest("GET", osm(i, "&token="+f.tokens["operator"]), "", "")
		}, 401},
		{"OwnTracks without a password", func(i int) ingestAnswer {
			return f.ingest("POST", "/pub", "application/json", otJSON(i), "X-Limit-U", "a1", "X-Limit-D", "ph-a1")
		}, 401},
		{"OwnTracks with a wrong password", func(i int) ingestAnswer {
			return f.ingest("POST", "/ingest/owntracks", "application/json", otJSON(i), "X-Limit-D", "ph-a1", "Authorization", basic("ph-a1", "guess"))
		}, 401},
		{"OwnTracks with another device's token", func(i int) ingestAnswer {
			return f.ingest("POST", "/pub", "application/json", otJSON(i), "X-Limit-U", "ph-a1", "Authorization", basic("ph-a1", other))
		}, 403},
		{"native without a token", func(i int) ingestAnswer {
			return f.ingest("POST", "/v1/pings", "application/x-ndjson", nativeJSON(i))
		}, 401},
		{"native with a guessed token", func(i int) ingestAnswer {
			return f.ingest("POST", "/v1/pings", "application/x-ndjson", nativeJSON(i), "Authorization", "Bearer dalil_guess")
		}, 401},
	}
	for i, c := range cases {
		a := c.send(i)
		if a.Status != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, a.Status, a.Body, c.status)
		}
	}
	// Native with another device's token: the item naming a1 is refused
	// inside a 200 batch answer.
	a := f.ingest("POST", "/v1/pings", "application/x-ndjson", nativeJSON(len(cases)), "Authorization", "Bearer "+other)
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `"accepted":0`) || !strings.Contains(a.Body, "wrong_device") {
		t.Errorf("native with another device's token: %+v", a)
	}

	// Nothing moved: the live position is the device's own fix, and the
	// trail holds that fix alone.
	var v PilgrimView
	f.getJSON("/v1/pilgrims/a1", "operator", &v)
	if v.Position == nil || geo.DistanceM(geo.Point{Lat: v.Position.Lat, Lon: v.Position.Lon}, home) > 1 || !v.Position.Time.Equal(time.Unix(start.Unix(), 0)) {
		t.Fatalf("a1's live position %+v, want the own fix at %v", v.Position, home)
	}
	// One fix: the trail is a single Point.
	var trail struct {
		Features []struct {
			Geometry struct {
				Type        string     `json:"type"`
				Coordinates [2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	f.getJSON("/v1/pilgrims/a1/trail?since="+start.Add(-time.Hour).UTC().Format(time.RFC3339), "operator", &trail)
	if len(trail.Features) != 1 || trail.Features[0].Geometry.Type != "Point" {
		t.Fatalf("a1's trail %+v, want the one own fix", trail)
	}
	if c := trail.Features[0].Geometry.Coordinates; geo.DistanceM(geo.Point{Lat: c[1], Lon: c[0]}, home) > 1 {
		t.Fatalf("a1's trail point %v, want %v", c, home)
	}
	// b1 was not moved either (another device's token proves only b1).
	f.getJSON("/v1/pilgrims/b1", "operator", &v)
	if v.Position != nil {
		t.Fatalf("b1 moved: %+v", v.Position)
	}
}

// A stranger cannot tell a registered device id from an unknown one, or
// either from a wrong token: the refusals are byte for byte the same, and
// none of them echoes the id.
func TestIngestRefusalsAreIndistinguishable(t *testing.T) {
	f := newFixture(t)
	p := centroid(f.tentA)
	ts := time.Now().Add(-time.Minute).Unix()
	longID := strings.Repeat("9", 100)
	osm := func(id, extra string) string {
		return fmt.Sprintf("/ingest/osmand?id=%s&timestamp=%d&lat=%.7f&lon=%.7f%s", id, ts, p.Lat, p.Lon, extra)
	}
	osmand := map[string]ingestAnswer{
		"registered id":               f.ingest("GET", osm("ph-a1", ""), "", ""),
		"unknown id":                  f.ingest("GET", osm("ph-nobody", ""), "", ""),
		"long unknown id":             f.ingest("GET", osm(longID, ""), "", ""),
		"registered id, wrong token":  f.ingest("GET", osm("ph-a1", "&token=dalil_guess"), "", ""),
		"unknown id, wrong token":     f.ingest("GET", osm("ph-nobody", "&token=dalil_guess"), "", ""),
		"registered id, wrong bearer": f.ingest("GET", osm("ph-a1", ""), "", "", "Authorization", "Bearer dalil_guess"),
		"revoked-looking token":       f.ingest("GET", osm("ph-a1", "&token="+f.tokens["device"]+"x"), "", ""),
	}
	sameAnswers(t, osmand)
	ot := func(dev, pass string) ingestAnswer {
		h := []string{"X-Limit-U", "u", "X-Limit-D", dev}
		if pass != "" {
			h = append(h, "Authorization", basic(dev, pass))
		}
		return f.ingest("POST", "/pub", "application/json", fmt.Sprintf(`{"_type":"location","lat":%f,"lon":%f,"tst":%d}`, p.Lat, p.Lon, ts), h...)
	}
	sameAnswers(t, map[string]ingestAnswer{
		"registered device":                  ot("ph-a1", ""),
		"unknown device":                     ot("ph-nobody", ""),
		"registered device, wrong token":     ot("ph-a1", "dalil_guess"),
		"unknown device, wrong token":        ot(longID, "dalil_guess"),
		"registered device, pilgrim's token": ot("ph-a1", f.tokens["pilgrimA"]),
	})
	// The native protocol's refusals match OsmAnd's (same scheme).
	nat := f.ingest("POST", "/v1/pings", "application/x-ndjson", `{"device":"ph-a1"}`, "Authorization", "Bearer dalil_guess")
	sameAnswers(t, map[string]ingestAnswer{"native": nat, "osmand": osmand["unknown id"]})

	for name, a := range osmand {
		if a.Status != http.StatusUnauthorized || strings.Contains(a.Body, "ph-") || strings.Contains(a.Body, "999") {
			t.Errorf("%s: %+v: want 401 that names no id", name, a)
		}
	}
	// Every refusal was counted.
	var m strings.Builder
	code, body := f.do("GET", "/metrics", "admin", "")
	m.Write(body)
	if code != http.StatusOK || !strings.Contains(m.String(), `dalil_pings_rejected_total{reason="unauthorized"} 13`) {
		t.Errorf("metrics: %d, want 13 unauthorized refusals counted:\n%s", code, grepLines(m.String(), "dalil_pings_rejected_total"))
	}
}

// sameAnswers fails unless every answer in as is identical.
func sameAnswers(t *testing.T, as map[string]ingestAnswer) {
	t.Helper()
	var first string
	var want ingestAnswer
	for name, a := range as {
		if first == "" {
			first, want = name, a
			continue
		}
		if a != want {
			t.Errorf("%s answered %+v\n%s answered %+v", name, a, first, want)
		}
	}
}
