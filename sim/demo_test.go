package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"dalil/api"
	"dalil/geo"
	"dalil/registry"
	"dalil/store/embedded"
)

// A demo registry of 5,000 fills only the first camps by the Jamarat; spread,
// its groups cover Mina, each group in one camp, men and women in separate
// tents of that camp, and the same seed gives the same spread.
func TestSpreadOverMinaCoversMina(t *testing.T) {
	l := geo.Default()
	ps, gs := registry.GenerateRegistry(l, 5000, 7)
	campsOf := func(ps []registry.Pilgrim) map[string]int {
		m := map[string]int{}
		for _, p := range ps {
			if p.Camp != "" {
				m[p.Camp]++
			}
		}
		return m
	}
	before := campsOf(ps)
	if len(before) > 5 {
		t.Logf("the generator already spreads: %d camps", len(before))
	}
	spread := slices.Clone(ps)
	SpreadOverMina(l, spread, 1)

	var mina []string
	zones := map[int]bool{}
	for _, c := range l.Camps {
		if c.Site == geo.SiteMina {
			mina = append(mina, c.ID)
		}
	}
	after := campsOf(spread)
	groups := map[string]bool{}
	for _, p := range spread {
		if p.Group != "" {
			groups[p.Group] = true
		}
	}
	want := min(len(groups), len(mina)) * 9 / 10
	if len(after) < want {
		t.Fatalf("spread over %d camps (before %d), want at least %d of Mina's %d", len(after), len(before), want, len(mina))
	}
	for id := range after {
		c, ok := l.Camp(id)
		if !ok || c.Site != geo.SiteMina {
			t.Fatalf("pilgrims put in %q, not a Mina camp", id)
		}
		zones[c.Zone] = true
	}
	if len(zones) < 3 {
		t.Errorf("camps in %d zones of Mina, want the whole of it", len(zones))
	}

	campOfGroup := map[string]string{}
	genderOfTent := map[string]string{}
	for i, p := range spread {
		if p.Group == "" {
			if p.Tent != ps[i].Tent {
				t.Errorf("%s has no group but moved", p.PID)
			}
			continue
		}
		if c, ok := campOfGroup[p.Group]; ok && c != p.Camp {
			t.Errorf("group %s split over camps %s and %s", p.Group, c, p.Camp)
		}
		campOfGroup[p.Group] = p.Camp
		tent, ok := l.Tent(p.Tent)
		if !ok || tent.Camp != p.Camp {
			t.Fatalf("%s: tent %q not in camp %q", p.PID, p.Tent, p.Camp)
		}
		if g, ok := genderOfTent[p.Tent]; ok && g != p.Gender {
			t.Errorf("tent %s holds men and women", p.Tent)
		}
		genderOfTent[p.Tent] = p.Gender
	}
	if len(gs) == 0 {
		t.Fatal("no groups")
	}

	again := slices.Clone(ps)
	SpreadOverMina(l, again, 1)
	for i := range again {
		if again[i].Tent != spread[i].Tent {
			t.Fatalf("same seed, different tent for %s: %s vs %s", again[i].PID, again[i].Tent, spread[i].Tent)
		}
	}
}

// The demo's incidents reach the desk through the API: lost-pilgrim cases
// for registered pilgrims, lost bags, and a found item that suggests the
// first bag.
func TestSeedIncidentsPutsWorkOnTheDesk(t *testing.T) {
	ctx := context.Background()
	ix := index(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ps, gs := registry.GenerateRegistry(ix.Layout(), 300, 3)
	reg := registry.NewRegistry()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.AdminToken = "demo-test-admin-0123456789abcdef"
	cfg.Stdout = io.Discard
	srv, err := api.New(ctx, cfg, api.Deps{Store: st, Index: ix, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := srv.DemoTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var operator string
	for _, tk := range tokens {
		if tk.Role == api.RoleOperator {
			operator = tk.Token
		}
	}
	got, err := SeedIncidents(ctx, srv.Handler(), operator, ps, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Cases) != 4 || len(got.LostBags) != 3 || len(got.Found) != 1 {
		t.Fatalf("incidents %+v, want 4 cases, 3 lost bags, 1 found item", got)
	}
	get := func(path string, out any) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+operator)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range got.Cases {
		var c struct {
			Pilgrim string `json:"pilgrim"`
			State   string `json:"state"`
		}
		get("/v1/cases/"+id, &c)
		if _, ok := reg.Pilgrim(c.Pilgrim); !ok || c.State != "open" {
			t.Errorf("case %s: pilgrim %q state %q, want an open case of a registered pilgrim", id, c.Pilgrim, c.State)
		}
	}
	for _, tag := range got.LostBags {
		var b struct {
			Status string `json:"status"`
		}
		get("/v1/luggage/"+tag, &b)
		if b.Status != "lost" {
			t.Errorf("bag %s: status %q, want lost", tag, b.Status)
		}
	}
	var f struct {
		Found struct {
			Tag string `json:"tag"`
		} `json:"found"`
		Suggestions []struct {
			Tag string `json:"tag"`
		} `json:"suggestions"`
	}
	get("/v1/found-items/"+got.Found[0], &f)
	if f.Found.Tag != got.LostBags[0] && (len(f.Suggestions) == 0 || f.Suggestions[0].Tag != got.LostBags[0]) {
		t.Errorf("found item %+v does not point at bag %s", f, got.LostBags[0])
	}
}
