package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dalil"
	"dalil/helpdesk"
	"dalil/registry"
	"dalil/store/embedded"
	"dalil/store/postgres"
)

// TestHelpdeskSurvivesRestart works a case and a bag over HTTP, stops the
// server and closes the store, then starts a new server on the reopened
// store: the case (with its whole timeline), the bag and the found item are
// all there, and new IDs do not reuse old ones. On the embedded store and,
// with DALIL_TEST_POSTGRES, on PostgreSQL.
func TestHelpdeskSurvivesRestart(t *testing.T) {
	onBothStores(t, helpdeskRestart)
}

// onBothStores runs a restart test on the embedded store and, with
// DALIL_TEST_POSTGRES, on PostgreSQL in a schema of its own: run gets a
// function that (re)opens the same store each time it is called.
func onBothStores(t *testing.T, run func(t *testing.T, open func() dalil.Store)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		run(t, func() dalil.Store {
			st, err := embedded.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		raw := os.Getenv("DALIL_TEST_POSTGRES")
		if raw == "" {
			t.Skip("DALIL_TEST_POSTGRES is not set; skipping the PostgreSQL run " +
				"(e.g. DALIL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		}
		dsn := helpdeskSchema(t, raw)
		run(t, func() dalil.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

// helpdeskSchema makes a fresh schema for the test (dropped at the end) and
// returns the URL that uses it.
func helpdeskSchema(t *testing.T, raw string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("connect to DALIL_TEST_POSTGRES: %v", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "dalil_helpdesk_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		conn.Close(ctx)
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

type restartServer struct {
	t   *testing.T
	st  dalil.Store
	srv *Server
	ts  *httptest.Server
}

func startRestartServer(t *testing.T, st dalil.Store, reg *registry.Registry) *restartServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AdminToken = adminSecret
	srv, err := New(t.Context(), cfg, Deps{Store: st, Index: testIndex(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.EnsureAdmin(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &restartServer{t: t, st: st, srv: srv, ts: httptest.NewServer(srv.Handler())}
}

func (r *restartServer) stop() {
	r.ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.hub.Close(ctx)
	if err := r.st.Close(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *restartServer) call(method, path, body string, want int, v any) {
	r.t.Helper()
	req, _ := http.NewRequest(method, r.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	resp, err := r.ts.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			r.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func helpdeskRestart(t *testing.T, open func() dalil.Store) {
	ctx := context.Background()
	ix := testIndex(t)
	tent := ix.Layout().Tents[0]
	st := open()
	reg := registry.NewRegistry()
	ps := []registry.Pilgrim{
		{PID: "r1", NameEN: "Abdul Karim", Group: "gR", Camp: tent.Camp, Tent: tent.ID, Devices: []string{"ph-r1"}},
		{PID: "r2", NameEN: "Fatema Begum", Group: "gR", Camp: tent.Camp, Tent: tent.ID},
	}
	if err := reg.Import(ctx, st, ps, []registry.Group{{ID: "gR"}}); err != nil {
		t.Fatal(err)
	}
	s1 := startRestartServer(t, st, reg)
	var c helpdesk.Case
	s1.call("POST", "/v1/cases", `{"pilgrim":"r1","reported_by":"wife","note":"went to the Jamarat at dawn"}`, http.StatusCreated, &c)
	s1.call("POST", "/v1/cases/"+c.ID+"/assign", `{"operator":"desk-9"}`, http.StatusOK, nil)
	s1.call("POST", "/v1/cases/"+c.ID+"/transition", `{"to":"located","note":"Scouts found him at point 12"}`, http.StatusOK, nil)
	s1.call("POST", "/v1/luggage", `{"tag":"RS-1","owner":"r2","description":"brown bag"}`, http.StatusCreated, nil)
	s1.call("POST", "/v1/luggage/RS-1/lost", `{"place":"airport"}`, http.StatusOK, nil)
	var fr FoundRecorded
	s1.call("POST", "/v1/found-items", `{"where":"Helpdesk 1","description":"brown bag"}`, http.StatusCreated, &fr)
	s1.stop()

	st2 := open()
	reg2, err := registry.LoadRegistry(ctx, st2)
	if err != nil {
		t.Fatal(err)
	}
	s2 := startRestartServer(t, st2, reg2)
	defer s2.stop()
	var got helpdesk.Case
	s2.call("GET", "/v1/cases/"+c.ID, "", http.StatusOK, &got)
	if got.State != helpdesk.CaseLocated || got.Assignee != "desk-9" || got.ReportedBy != "wife" || len(got.Timeline) != 3 ||
		got.Timeline[2].Note != "Scouts found him at point 12" || got.Timeline[2].From != helpdesk.CaseOpen {
		t.Fatalf("case after restart: %+v", got)
	}
	var bag BagView
	s2.call("GET", "/v1/luggage/RS1", "", http.StatusOK, &bag)
	if bag.Status != helpdesk.LuggageLost || bag.LostPlace != "airport" {
		t.Fatalf("bag after restart: %+v", bag.LuggageItem)
	}
	var fl FoundList
	s2.call("GET", "/v1/found-items", "", http.StatusOK, &fl)
	if len(fl.Items) != 1 || fl.Items[0].ID != fr.Found.ID {
		t.Fatalf("found items after restart: %+v", fl.Items)
	}
	// The workflow carries on where it stopped.
	s2.call("POST", "/v1/cases/"+c.ID+"/transition", `{"to":"escorted"}`, http.StatusOK, nil)
	var c2 helpdesk.Case
	s2.call("POST", "/v1/cases", `{"pilgrim":"r2"}`, http.StatusCreated, &c2)
	if c2.ID == c.ID {
		t.Fatalf("case ID %s reused after restart", c2.ID)
	}
	var fm FoundMatched
	s2.call("POST", "/v1/found-items/"+fr.Found.ID+"/match", `{"tag":"RS1"}`, http.StatusOK, &fm)
	var sr SearchResult
	s2.call("GET", "/v1/search?q=fatima+begam", "", http.StatusOK, &sr)
	if len(sr.Hits) == 0 || sr.Hits[0].PID != "r2" {
		t.Fatalf("search after restart: %+v", sr.Hits)
	}
}
