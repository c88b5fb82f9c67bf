package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dalil"
	"dalil/registry"
	"dalil/store/embedded"
)

// hangingStore is a store whose scans hang until their context ends, like a
// database behind a dead network path; kinds in pass scan normally.
type hangingStore struct {
	dalil.Store
	pass map[string]bool
}

func (s hangingStore) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	if s.pass[kind] {
		return s.Store.ScanRecords(ctx, kind, fn)
	}
	<-ctx.Done()
	return errors.Join(dalil.ErrUnavailable, ctx.Err())
}

func (s hangingStore) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	if s.pass[kind] {
		return s.Store.ScanRecordsFrom(ctx, kind, from, fn)
	}
	<-ctx.Done()
	return errors.Join(dalil.ErrUnavailable, ctx.Err())
}

// New reads the store under its context: a start-up deadline ends a hanging
// load instead of blocking the start forever.
func TestNewHonoursContext(t *testing.T) {
	newWith := func(st dalil.Store) (*Server, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		type result struct {
			s   *Server
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := New(ctx, DefaultConfig(), Deps{Store: st, Index: testIndex(t), Registry: registry.NewRegistry()})
			done <- result{s, err}
		}()
		select {
		case r := <-done:
			return r.s, r.err
		case <-time.After(10 * time.Second):
			t.Fatal("New still loading 10 s after its context ended")
			return nil, nil
		}
	}
	base, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })

	// Tokens cannot load: New fails.
	if _, err := newWith(hangingStore{Store: base}); err == nil {
		t.Error("New succeeded although the tokens could not be loaded")
	}
	// Tokens load, cases and luggage hang: the server starts and the
	// helpdesk answers 503 until restarted.
	s, err := newWith(hangingStore{Store: base, pass: map[string]bool{tokenKind: true}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.MintToken(t.Context(), RoleOperator, "")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /v1/cases after a failed load: %d %s, want 503", rec.Code, rec.Body)
	}
}
