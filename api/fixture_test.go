package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
	"dalil/store/embedded"
)

// The fixture is a real server (embedded store, shipped layout, engine, hub)
// with two groups of pilgrims and a token for every role.

var (
	layoutOnce sync.Once
	layoutIx   *geo.Index
	layoutErr  error
)

// testIndex builds, once per test binary, the index of a piece of the
// shipped layout: its areas and first six camps with their tents. The whole
// layout takes seconds to index under -race, and no test needs all of it.
func testIndex(t testing.TB) *geo.Index {
	t.Helper()
	layoutOnce.Do(func() {
		full := geo.Default()
		l := &geo.Layout{Areas: full.Areas, Camps: full.Camps[:6]}
		keep := map[string]bool{}
		for _, c := range l.Camps {
			keep[c.ID] = true
		}
		for _, tn := range full.Tents {
			if keep[tn.Camp] {
				l.Tents = append(l.Tents, tn)
			}
		}
		layoutIx, layoutErr = geo.NewIndex(l)
	})
	if layoutErr != nil {
		t.Fatal(layoutErr)
	}
	return layoutIx
}

type fixture struct {
	t      testing.TB
	srv    *Server
	ts     *httptest.Server
	st     dalil.Store
	ix     *geo.Index
	tokens map[string]string // by name: admin, operator, guideA, guideB, pilgrimA, pilgrimB, device
	// tentA/tentB: the assigned tents of groups A and B.
	tentA, tentB *geo.Tent
}

const adminSecret = "test-admin-token-0123456789"

// Pilgrims: group gA (guide gA-guide, members a1 a2 a3) in tentA, group gB
// (guide gB-guide, members b1 b2) in tentB; a2's mahram is b2. Every pilgrim
// has phone device ph-<pid>.
func newFixture(t testing.TB, mutate ...func(*Config, *Deps)) *fixture {
	t.Helper()
	ix := testIndex(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, ix: ix, tokens: map[string]string{}}
	l := ix.Layout()
	f.tentA = &l.Tents[0]
	for i := range l.Tents {
		if l.Tents[i].Camp != f.tentA.Camp {
			f.tentB = &l.Tents[i]
			break
		}
	}
	var ps []registry.Pilgrim
	add := func(pid, group, guide string, tent *geo.Tent) {
		ps = append(ps, registry.Pilgrim{
			PID: pid, NameEN: "Name " + pid, Phone: "+8801700000000", Group: group, GuidePID: guide,
			Camp: tent.Camp, Tent: tent.ID, Devices: []string{"ph-" + pid},
		})
	}
	add("gA-guide", "gA", "", f.tentA)
	for _, p := range []string{"a1", "a2", "a3"} {
		add(p, "gA", "gA-guide", f.tentA)
	}
	add("gB-guide", "gB", "", f.tentB)
	for _, p := range []string{"b1", "b2"} {
		add(p, "gB", "gB-guide", f.tentB)
	}
	// a2's mahram travels in the other group: guide A may call b2 but not
	// see where b2 is.
	for i := range ps {
		if ps[i].PID == "a2" {
			ps[i].MahramPID = "b2"
		}
	}
	gs := []registry.Group{{ID: "gA", GuidePID: "gA-guide", Agency: "ag"}, {ID: "gB", GuidePID: "gB-guide", Agency: "ag"}}
	reg := registry.NewRegistry()
	ctx := context.Background()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.AdminToken = adminSecret
	deps := Deps{Store: st, Index: ix, Registry: reg}
	for _, m := range mutate {
		m(&cfg, &deps)
	}
	srv, err := New(ctx, cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		f.ts.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.hub.Close(cctx)
		_ = st.Close()
	})
	f.tokens["admin"] = adminSecret
	for name, role := range map[string][2]string{
		"operator": {"operator", ""}, "guideA": {"guide", "gA"}, "guideB": {"guide", "gB"},
		"pilgrimA": {"pilgrim", "a1"}, "pilgrimB": {"pilgrim", "b1"}, "device": {"device", "ph-a1"},
	} {
		tok, _, err := srv.MintToken(ctx, Role(role[0]), role[1])
		if err != nil {
			t.Fatalf("mint %s: %v", name, err)
		}
		f.tokens[name] = tok
	}
	return f
}

// place puts pilgrim pid's phone at p now (through the engine, like ingest).
func (f *fixture) place(pid string, p geo.Point) {
	f.t.Helper()
	f.placeAt(pid, p, time.Now().Add(-time.Second))
}

func (f *fixture) placeAt(pid string, p geo.Point, at time.Time) {
	f.t.Helper()
	err := f.srv.Engine().Accept(context.Background(), []dalil.Position{{
		Device: "ph-" + pid, Time: at, Lat: p.Lat, Lon: p.Lon, Accuracy: 3,
		Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: 80,
	}})
	if err != nil {
		f.t.Fatal(err)
	}
}

// do sends a request with the named token ("" for none) and returns the
// status and body.
func (f *fixture) do(method, path, token, body string) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// Plain bodies: gunzipping the 4 MB layout costs seconds under -race.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// getJSON does a GET that must answer 200 and decodes the body into v.
func (f *fixture) getJSON(path, token string, v any) {
	f.t.Helper()
	code, b := f.do("GET", path, token, "")
	if code != http.StatusOK {
		f.t.Fatalf("GET %s as %s: %d %s", path, token, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		f.t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

func centroid(t *geo.Tent) geo.Point { return t.Polygon.Centroid() }
