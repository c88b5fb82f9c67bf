package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dalil/geo"
)

func TestPilgrimView(t *testing.T) {
	f := newFixture(t)
	f.place("a1", centroid(f.tentA))
	var v PilgrimView
	f.getJSON("/v1/pilgrims/a1", "guideA", &v)
	if v.Pilgrim.PID != "a1" || v.Pilgrim.NameEN != "Name a1" {
		t.Errorf("profile = %+v", v.Pilgrim)
	}
	if v.Position == nil {
		t.Fatal("no position")
	}
	if v.Position.Camp != f.tentA.Camp || v.Position.Tent != f.tentA.ID {
		t.Errorf("position in camp %q tent %q, want %q %q", v.Position.Camp, v.Position.Tent, f.tentA.Camp, f.tentA.ID)
	}
	if v.Position.TentProbability <= 0 || v.Position.TentProbability > 1 {
		t.Errorf("tent_p = %v", v.Position.TentProbability)
	}
	if v.Position.Stale || v.Position.AgeSeconds < 0 || v.Position.AgeSeconds > 60 {
		t.Errorf("staleness: stale=%v age=%v", v.Position.Stale, v.Position.AgeSeconds)
	}
	if v.Assigned.InTent == nil || !*v.Assigned.InTent || v.Assigned.InCamp == nil || !*v.Assigned.InCamp {
		t.Errorf("assigned = %+v, want in camp and tent", v.Assigned)
	}
	if v.Group == nil || v.Group.ID != "gA" || v.Guide == nil || v.Guide.PID != "gA-guide" {
		t.Errorf("group %+v guide %+v", v.Group, v.Guide)
	}
	if len(v.Devices) != 1 || v.Devices[0].ID != "ph-a1" || v.Devices[0].LastSeen == nil {
		t.Errorf("devices = %+v", v.Devices)
	}

	// A pilgrim never seen has a null position, not an error.
	f.getJSON("/v1/pilgrims/a2", "operator", &v)
	if v.Position != nil {
		t.Errorf("a2 position = %+v, want null", v.Position)
	}
	if code, _ := f.do("GET", "/v1/pilgrims/nobody", "operator", ""); code != http.StatusNotFound {
		t.Errorf("unknown PID: %d, want 404", code)
	}
}

func TestGroupDistances(t *testing.T) {
	f := newFixture(t)
	g := centroid(f.tentA)
	f.place("gA-guide", g)
	far := geo.Point{Lat: g.Lat + 0.001, Lon: g.Lon} // ~111 m north
	f.place("a2", far)
	var v GroupView
	f.getJSON("/v1/groups/gA", "guideA", &v)
	if v.Guide == nil || v.Guide.PID != "gA-guide" || v.Guide.Position == nil {
		t.Fatalf("guide = %+v", v.Guide)
	}
	if v.Count != 3 || v.Seen != 1 {
		t.Errorf("count %d seen %d, want 3 and 1", v.Count, v.Seen)
	}
	for _, m := range v.Members {
		switch m.PID {
		case "a2":
			if m.DistanceM == nil || *m.DistanceM < 100 || *m.DistanceM > 125 {
				t.Errorf("a2 distance = %v, want ~111 m", m.DistanceM)
			}
		default:
			if m.Position != nil || m.DistanceM != nil {
				t.Errorf("%s has position/distance without pings", m.PID)
			}
		}
	}
}

func TestTrailAndRoute(t *testing.T) {
	f := newFixture(t)
	c := centroid(f.tentB) // a1 strayed into group B's camp
	now := time.Now()
	for i := 3; i >= 1; i-- {
		f.placeAt("a1", geo.Point{Lat: c.Lat + float64(i)*0.0001, Lon: c.Lon}, now.Add(-time.Duration(i)*time.Minute))
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry struct {
				Type        string       `json:"type"`
				Coordinates [][2]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				Device string   `json:"device"`
				Times  []string `json:"times"`
			} `json:"properties"`
		} `json:"features"`
	}
	f.getJSON("/v1/pilgrims/a1/trail?since="+now.Add(-time.Hour).UTC().Format(time.RFC3339), "pilgrimA", &fc)
	if fc.Type != "FeatureCollection" || len(fc.Features) != 1 {
		t.Fatalf("trail = %+v", fc)
	}
	ft := fc.Features[0]
	if ft.Geometry.Type != "LineString" || len(ft.Geometry.Coordinates) != 3 || ft.Properties.Device != "ph-a1" {
		t.Fatalf("trail feature = %+v", ft)
	}
	if ft.Geometry.Coordinates[0][1] < ft.Geometry.Coordinates[2][1] {
		t.Errorf("trail not oldest first: %v", ft.Geometry.Coordinates)
	}
	// A window that excludes the fixes is empty.
	f.getJSON("/v1/pilgrims/a1/trail?since="+now.Add(-time.Hour).UTC().Format(time.RFC3339)+"&until="+now.Add(-30*time.Minute).UTC().Format(time.RFC3339), "pilgrimA", &fc)
	if len(fc.Features) != 0 {
		t.Errorf("trail outside window = %+v", fc.Features)
	}
	code, body := f.do("GET", "/v1/pilgrims/a1/trail?since=yesterday", "pilgrimA", "")
	assertFieldError(t, code, body, http.StatusBadRequest, "since")

	var route struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string       `json:"type"`
			Coordinates [][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	f.getJSON("/v1/pilgrims/a1/route", "pilgrimA", &route)
	if route.Type != "Feature" || route.Geometry.Type != "LineString" || len(route.Geometry.Coordinates) < 2 {
		t.Fatalf("route = %+v", route)
	}
	last := route.Geometry.Coordinates[len(route.Geometry.Coordinates)-1]
	if d := geo.DistanceM(geo.Point{Lat: last[1], Lon: last[0]}, centroid(f.tentA)); d > 30 {
		t.Errorf("route ends %.0f m from the assigned tent", d)
	}
	// From an explicit point (the phone's own fix).
	f.getJSON(fmt.Sprintf("/v1/pilgrims/a1/route?lat=%f&lon=%f", c.Lat, c.Lon), "pilgrimA", &route)
	// Never seen and no point given: 404 naming what is missing.
	code, body = f.do("GET", "/v1/pilgrims/a2/route", "operator", "")
	if code != http.StatusNotFound || !strings.Contains(string(body), "no position") {
		t.Errorf("route without position: %d %s", code, body)
	}
}

func assertFieldError(t *testing.T, code int, body []byte, wantCode int, field string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	if code != wantCode || e.Field != field || e.Error == "" {
		t.Errorf("got %d %+v, want %d with field %q", code, e, wantCode, field)
	}
}

func TestParameterErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ path, field string }{
		{"/v1/locate?lon=39.89", "lat"},
		{"/v1/locate?lat=91&lon=39.89", "lat"},
		{"/v1/locate?lat=21.41&lon=abc", "lon"},
		{"/v1/locate?lat=21.41&lon=39.89&acc=-1", "acc"},
		{"/v1/nearby?lat=21.41&lon=39.89&radius=0", "radius"},
		{"/v1/nearby?lat=21.41&lon=39.89&limit=x", "limit"},
		{"/v1/audit?since=noon", "since"},
	} {
		code, body := f.do("GET", c.path, "admin", "")
		assertFieldError(t, code, body, http.StatusBadRequest, c.field)
	}
	code, body := f.do("GET", "/v1/camps/nope", "operator", "")
	assertFieldError(t, code, body, http.StatusNotFound, "id")
	code, body = f.do("GET", "/v1/nosuch", "operator", "")
	if code != http.StatusNotFound {
		t.Errorf("unknown path: %d %s", code, body)
	}
}

func TestLocateAndLayout(t *testing.T) {
	f := newFixture(t)
	c := centroid(f.tentA)
	var lv LocationView
	f.getJSON(fmt.Sprintf("/v1/locate?lat=%f&lon=%f&acc=2", c.Lat, c.Lon), "pilgrimA", &lv)
	if lv.Camp != f.tentA.Camp || lv.Tent != f.tentA.ID || lv.Cell == 0 || lv.Lat != roundTo(c.Lat, 6) || lv.AccuracyM != 2 {
		t.Errorf("locate = %+v", lv)
	}
	// The API answers with the same field names and values as `dalil
	// locate` (geo.Location's JSON), plus the queried point.
	lat, lon := roundTo(c.Lat+0.00003, 6), roundTo(c.Lon-0.00002, 6)
	_, body := f.do("GET", fmt.Sprintf("/v1/locate?lat=%f&lon=%f&acc=8", lat, lon), "pilgrimA", "")
	var api, cli map[string]any
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(f.ix.Locate(lat, lon, 8))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &cli); err != nil {
		t.Fatal(err)
	}
	for k, v := range cli {
		if got, ok := api[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("locate field %q = %v (present %v), want %v as dalil locate prints", k, got, ok, v)
		}
	}
	if api["lat"] != lat || api["lon"] != lon || len(api) != len(cli)+2 {
		t.Errorf("locate answer %s, want lat, lon and the %d fields of %s", body, len(cli), want)
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	f.getJSON("/v1/layout", "pilgrimA", &fc)
	l := f.ix.Layout()
	if fc.Type != "FeatureCollection" || len(fc.Features) < len(l.Camps)+len(l.Tents) {
		t.Errorf("layout: %s with %d features, want >= %d", fc.Type, len(fc.Features), len(l.Camps)+len(l.Tents))
	}
	// Gzipped when the client accepts it (the console does).
	req, _ := http.NewRequest("GET", f.ts.URL+"/v1/layout", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens["operator"])
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "application/geo+json" {
		t.Errorf("layout headers = %v", resp.Header)
	}
	var tent feature
	f.getJSON("/v1/tents/"+f.tentA.ID, "operator", &tent)
	if tent.ID != f.tentA.ID {
		t.Errorf("tent by plain path = %+v", tent)
	}
	f.getJSON("/v1/tents/"+url.PathEscape(f.tentA.ID), "operator", &tent)
	if tent.ID != f.tentA.ID {
		t.Errorf("tent by escaped path = %+v", tent)
	}
	var camp feature
	f.getJSON("/v1/camps/"+f.tentA.Camp, "operator", &camp)
	if camp.ID != f.tentA.Camp || camp.Geometry.Type != "Polygon" || len(camp.Geometry.Coordinates[0]) < 4 {
		t.Errorf("camp feature = %+v", camp)
	}
}

func TestMe(t *testing.T) {
	f := newFixture(t)
	var me MeView
	f.getJSON("/v1/me", "pilgrimA", &me)
	if me.Principal.Role != RolePilgrim || me.Principal.Subject != "a1" || me.Pilgrim == nil ||
		me.Pilgrim.Assigned.Tent != f.tentA.ID {
		t.Errorf("pilgrim me = %+v", me)
	}
	var gme MeView
	f.getJSON("/v1/me", "guideA", &gme)
	if gme.Group == nil || gme.Group.Group.ID != "gA" || gme.Pilgrim != nil {
		t.Errorf("guide me = %+v", gme)
	}
}

func TestMetricsExposeTheSeries(t *testing.T) {
	f := newFixture(t)
	f.place("a1", centroid(f.tentA))
	f.do("GET", "/v1/me", "operator", "")
	code, body := f.do("GET", "/metrics", "admin", "")
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"dalil_live_devices 1", "dalil_ws_clients 0", "dalil_ws_messages_coalesced_total",
		"dalil_pings_rejected_total", "dalil_store_append_batch_size_count 1",
		`dalil_http_request_duration_seconds_count{code="2xx",route="GET /v1/me"} 1`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	f2 := newFixture(t, func(c *Config, _ *Deps) { c.MetricsPublic = true })
	if code, _ := f2.do("GET", "/metrics", "", ""); code != http.StatusOK {
		t.Errorf("public metrics without token: %d", code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.do("GET", "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := f.do("GET", "/readyz", "", ""); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	_ = f.st.Close() // the store goes away
	if code, body := f.do("GET", "/readyz", "", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed store: %d %s", code, body)
	}
}

// The guide and the mahram in a pilgrim's view are people to call; their
// live position shows only to a caller who may see them anyway. A pilgrim
// never sees where their guide is, and a guide never sees where a mahram in
// another group is (the websocket refuses pilgrim:<PID> for the same pairs).
func TestPilgrimViewHidesOthersPositions(t *testing.T) {
	f := newFixture(t)
	f.place("a2", centroid(f.tentA))
	f.place("gA-guide", centroid(f.tentA))
	f.place("b2", centroid(f.tentB))

	related := func(v *PilgrimView, which string) *PersonView {
		if which == "guide" {
			return v.Guide
		}
		return v.Mahram
	}
	cases := []struct {
		name, path, token, which, pid string
		position                      bool
	}{
		{"pilgrim sees own guide via /me", "/v1/me", "pilgrimA", "guide", "gA-guide", false},
		{"pilgrim sees own guide via /pilgrims", "/v1/pilgrims/a1", "pilgrimA", "guide", "gA-guide", false},
		{"guide sees mahram in another group", "/v1/pilgrims/a2", "guideA", "mahram", "b2", false},
		{"guide sees themself as guide", "/v1/pilgrims/a2", "guideA", "guide", "gA-guide", true},
		{"operator sees mahram", "/v1/pilgrims/a2", "operator", "mahram", "b2", true},
		{"operator sees guide", "/v1/pilgrims/a2", "operator", "guide", "gA-guide", true},
	}
	for _, c := range cases {
		var v PilgrimView
		if c.path == "/v1/me" {
			var me MeView
			f.getJSON(c.path, c.token, &me)
			if me.Pilgrim == nil {
				t.Fatalf("%s: no pilgrim in /v1/me", c.name)
			}
			v = *me.Pilgrim
		} else {
			f.getJSON(c.path, c.token, &v)
		}
		pv := related(&v, c.which)
		if pv == nil || pv.PID != c.pid || pv.Phone == "" || pv.Name == "" {
			t.Errorf("%s: %s = %+v, want %s with name and phone", c.name, c.which, pv, c.pid)
			continue
		}
		if got := pv.Position != nil; got != c.position {
			t.Errorf("%s: %s position shown = %v, want %v (%+v)", c.name, c.which, got, c.position, pv.Position)
		}
		if !c.position && (pv.Group != "" || pv.Camp != "" || pv.Tent != "" || pv.DistanceM != nil) {
			t.Errorf("%s: %s shows more than contact fields: %+v", c.name, c.which, pv)
		}
	}
	// The raw JSON for the pilgrim has no position object for the guide.
	_, body := f.do("GET", "/v1/pilgrims/a1", "pilgrimA", "")
	var raw struct {
		Guide map[string]json.RawMessage `json:"guide"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Guide["position"]; ok {
		t.Errorf("pilgrim's view of the guide carries a position: %s", body)
	}
}
