package ingest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"dalil"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeSink records every batch it is given; err, when set, is returned
// instead of storing.
type fakeSink struct {
	mu      sync.Mutex
	batches [][]dalil.Position
	err     error
}

func (s *fakeSink) Accept(_ context.Context, ps []dalil.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, append([]dalil.Position(nil), ps...))
	return nil
}

func (s *fakeSink) all() []dalil.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dalil.Position
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *fakeSink) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

func (s *fakeSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// fakeDevices is a registry of device ids.
type fakeDevices map[string]dalil.Device

func (d fakeDevices) Device(id string) (dalil.Device, bool) {
	dev, ok := d[id]
	return dev, ok
}

func devicesOf(ids ...string) fakeDevices {
	d := fakeDevices{}
	for _, id := range ids {
		d[id] = dalil.Device{ID: id, Kind: dalil.DevicePhone, Pilgrim: "P-" + id}
	}
	return d
}

// fakeAuth maps tokens to devices; err, when set, fails every lookup.
type fakeAuth struct {
	tokens map[string]string
	err    error
}

var errNoToken = errors.New("no such token")

func (a *fakeAuth) DeviceForToken(_ context.Context, token string) (string, error) {
	if a.err != nil {
		return "", a.err
	}
	if dev, ok := a.tokens[token]; ok {
		return dev, nil
	}
	return "", errNoToken
}

// testNow is the fixed clock of the tests: Hajj 2025, day of Arafat.
var testNow = time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)

type rig struct {
	t    *testing.T
	h    *Handler
	sink *fakeSink
	reg  *prometheus.Registry
	mux  *http.ServeMux
	now  time.Time
}

// newRig builds a handler with a fake sink, devices "dev1", "dev2",
// "48241179", "8737767034", "ali/phone" and a luggage tag "L1", tokens
// "tok1"→dev1 and "tok2"→dev2, and a clock at testNow (tests may move it).
func newRig(t *testing.T, mutate ...func(*Config)) *rig {
	t.Helper()
	cfg := DefaultConfig()
	rg := &rig{t: t, sink: &fakeSink{}, reg: prometheus.NewRegistry(), now: testNow}
	cfg.Now = func() time.Time { return rg.now }
	// The decoder and filter tests name devices by id (open mode); the
	// tests of the secure default turn it off with requireToken.
	cfg.OpenIngest = true
	for _, m := range mutate {
		m(&cfg)
	}
	devs := devicesOf("dev1", "dev2", "48241179", "8737767034", "902064", "123456", "ali/phone")
	devs["L1"] = dalil.Device{ID: "L1", Kind: dalil.DeviceLuggageTag, Luggage: "BAG1"}
	auth := &fakeAuth{tokens: map[string]string{"tok1": "dev1", "tok2": "dev2", "tokL": "L1"}}
	rg.h = NewHandler(cfg, rg.sink, devs, auth, NewMetrics(rg.reg), nil)
	rg.mux = http.NewServeMux()
	rg.h.Register(rg.mux)
	return rg
}

// do sends a request through the mux and returns the recorder.
func (rg *rig) do(method, target, contentType, body string, headers ...string) *httptest.ResponseRecorder {
	rg.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	rg.mux.ServeHTTP(rec, req)
	return rec
}

// counter returns the value of a counter series, 0 if absent.
func (rg *rig) counter(name, label, value string) float64 {
	rg.t.Helper()
	mfs, err := rg.reg.Gather()
	if err != nil {
		rg.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabel(m, label, value) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (rg *rig) histogramCount(name, label, value string) uint64 {
	rg.t.Helper()
	mfs, err := rg.reg.Gather()
	if err != nil {
		rg.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabel(m, label, value) {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, label, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == label && lp.GetValue() == value {
			return true
		}
	}
	return false
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d; body %q", rec.Code, want, rec.Body.String())
	}
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }
