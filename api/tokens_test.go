package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil"
)

func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	code, body := f.do("POST", "/v1/tokens", "admin", `{"role":"pilgrim","subject":"a2"}`)
	if code != http.StatusCreated {
		t.Fatalf("mint: %d %s", code, body)
	}
	var tc TokenCreated
	if err := json.Unmarshal(body, &tc); err != nil || tc.Token == "" || tc.ID == "" || tc.Role != RolePilgrim || tc.Subject != "a2" {
		t.Fatalf("minted %s (%v)", body, err)
	}
	if strings.Contains(string(body), `"hash"`) {
		t.Errorf("answer leaks the hash: %s", body)
	}
	f.tokens["new"] = tc.Token
	var me MeView
	f.getJSON("/v1/me", "new", &me)
	if me.Principal.Subject != "a2" || me.Principal.TokenID != tc.ID {
		t.Errorf("me = %+v", me.Principal)
	}

	// Stored hashed: the secret appears nowhere in the store.
	err := f.st.ScanRecords(t.Context(), tokenKind, func(id string, data []byte) error {
		if bytes.Contains(data, []byte(tc.Token)) || bytes.Contains(data, []byte(adminSecret)) {
			t.Errorf("token record %s holds a secret: %s", id, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A restarted server (new token store on the same records) knows it.
	ts2 := newTokenStore(f.st, f.srv.registry)
	if err := ts2.load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p, ok := ts2.principal(tc.Token); !ok || p.Subject != "a2" {
		t.Errorf("reloaded principal = %+v %v", p, ok)
	}

	// Revoked: refused on the very next request.
	if code, body := f.do("DELETE", "/v1/tokens/"+tc.ID, "admin", ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _ := f.do("GET", "/v1/me", "new", ""); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _ := f.do("DELETE", "/v1/tokens/"+tc.ID, "admin", ""); code != http.StatusNotFound {
		t.Errorf("second revoke: %d, want 404", code)
	}
	ts3 := newTokenStore(f.st, f.srv.registry)
	if err := ts3.load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := ts3.principal(tc.Token); ok {
		t.Error("revoked token back after restart")
	}
}

func TestTokenRequestErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		body  string
		code  int
		field string
	}{
		{`{"role":"pilgrim","subject":"nobody"}`, http.StatusUnprocessableEntity, "subject"},
		{`{"role":"guide","subject":"no-group"}`, http.StatusUnprocessableEntity, "subject"},
		{`{"role":"device","subject":"no-device"}`, http.StatusUnprocessableEntity, "subject"},
		{`{"role":"pilgrim"}`, http.StatusBadRequest, "subject"},
		{`{"role":"king","subject":"x"}`, http.StatusBadRequest, "role"},
	} {
		code, body := f.do("POST", "/v1/tokens", "admin", c.body)
		assertFieldError(t, code, body, c.code, c.field)
	}
	if code, _ := f.do("POST", "/v1/tokens", "admin", `{"role":`); code != http.StatusBadRequest {
		t.Errorf("malformed body: %d", code)
	}
	if code, _ := f.do("POST", "/v1/tokens", "admin", `{"role":"admin","extra":1}`); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d", code)
	}
}

func TestBootstrapAdminGeneratedOnce(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.AdminToken = "" })
	// The fixture's EnsureAdmin already generated one (no configured token).
	if f.srv.tokens.hasAdmin() == false {
		t.Fatal("no admin after EnsureAdmin")
	}
	again, err := f.srv.EnsureAdmin(t.Context())
	if err != nil || again != "" {
		t.Errorf("second EnsureAdmin = %q, %v; want nothing new", again, err)
	}

	// A fresh store: generated, usable, then never again.
	f2 := newFixture(t, func(c *Config, _ *Deps) { c.AdminToken = "" })
	if err := f2.srv.tokens.revoke(t.Context(), bootstrapTokenID); err != nil {
		t.Fatal(err)
	}
	gen, err := f2.srv.EnsureAdmin(t.Context())
	if err != nil || !strings.HasPrefix(gen, tokenPrefix) {
		t.Fatalf("EnsureAdmin = %q, %v", gen, err)
	}
	f2.tokens["gen"] = gen
	if code, _ := f2.do("GET", "/v1/tokens", "gen", ""); code != http.StatusOK {
		t.Errorf("generated admin token refused: %d", code)
	}
	if again, _ := f2.srv.EnsureAdmin(t.Context()); again != "" {
		t.Error("generated a second admin token")
	}
}

func TestDeviceForToken(t *testing.T) {
	f := newFixture(t)
	dev, err := f.srv.tokens.DeviceForToken(t.Context(), f.tokens["device"])
	if err != nil || dev != "ph-a1" {
		t.Errorf("device token → %q, %v", dev, err)
	}
	if _, err := f.srv.tokens.DeviceForToken(t.Context(), f.tokens["operator"]); err == nil {
		t.Error("operator token accepted for ingest")
	}
	if _, err := f.srv.tokens.DeviceForToken(t.Context(), "dalil_nonsense"); err == nil {
		t.Error("unknown token accepted for ingest")
	}
}

func TestAuditLog(t *testing.T) {
	f := newFixture(t)
	start := time.Now().Add(-time.Second)
	f.place("a1", centroid(f.tentA))
	f.getJSON("/v1/pilgrims/a1", "operator", new(PilgrimView))
	f.getJSON("/v1/pilgrims/a1/trail", "operator", new(map[string]any))
	f.getJSON("/v1/pilgrims/a1", "pilgrimA", new(PilgrimView)) // self: not audited
	f.getJSON("/v1/groups/gA", "guideA", new(GroupView))       // own group: not audited
	var got struct {
		Entries []AuditEntry `json:"entries"`
	}
	f.getJSON("/v1/audit?since="+start.UTC().Format(time.RFC3339Nano), "admin", &got)
	if len(got.Entries) != 2 {
		t.Fatalf("audit = %+v, want 2 entries", got.Entries)
	}
	e0, e1 := got.Entries[0], got.Entries[1]
	if e0.Action != "pilgrim.read" || e1.Action != "trail.read" || e0.Target != "a1" || e0.Role != RoleOperator || e0.TokenID == "" {
		t.Errorf("entries = %+v", got.Entries)
	}
	if !(e0.ID < e1.ID) || e1.Time.Before(e0.Time) || e0.Time.Before(start) {
		t.Errorf("entries not time-ordered: %+v", got.Entries)
	}
	// since excludes older entries.
	f.getJSON("/v1/audit?since="+time.Now().Add(time.Minute).UTC().Format(time.RFC3339), "admin", &got)
	if len(got.Entries) != 0 {
		t.Errorf("future since: %d entries", len(got.Entries))
	}
}

// failingAudit makes audit writes fail, like a full disk.
type failingAudit struct{ dalil.Store }

func (s failingAudit) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	if kind == auditKind {
		return errors.Join(dalil.ErrUnavailable, errors.New("disk full"))
	}
	return s.Store.PutRecords(ctx, kind, recs)
}

// Personal data is not disclosed when the read cannot be audited.
func TestNoDisclosureWithoutAudit(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) { d.Store = failingAudit{d.Store} })
	code, body := f.do("GET", "/v1/pilgrims/a1", "operator", "")
	if code != http.StatusServiceUnavailable || strings.Contains(string(body), "Name a1") {
		t.Errorf("unaudited read: %d %s", code, body)
	}
	// A pilgrim reading themself needs no audit.
	if code, _ := f.do("GET", "/v1/pilgrims/a1", "pilgrimA", ""); code != http.StatusOK {
		t.Errorf("self read: %d", code)
	}
}
