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
	"dalil/helpdesk"
	"dalil/notify"
	"dalil/registry"
)

// A configured webhook receives a signed event when an operator opens a case,
// so that an SMS gateway can tell the guide and the family.
func TestWebhookReceivesCaseEvents(t *testing.T) {
	const secret = "gateway-shared-secret"
	got := make(chan notify.WebhookPayload, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.VerifyWebhook([]byte(secret), body, r.Header.Get("X-Dalil-Signature")) {
			t.Errorf("webhook signature %q does not verify", r.Header.Get("X-Dalil-Signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got <- p
	}))
	defer hook.Close()

	f := newFixture(t, func(c *Config, _ *Deps) {
		c.Webhook.URL, c.Webhook.Secret = hook.URL, secret
	})
	startBackground(t, f.srv)

	code, body := f.do("POST", "/v1/cases", "operator", `{"kind":"lost_pilgrim","pilgrim":"a1","note":"lost near the Jamarat"}`)
	if code != http.StatusCreated {
		t.Fatalf("open case: %d %s", code, body)
	}
	select {
	case p := <-got:
		if p.Type != dalil.EventCase {
			t.Errorf("webhook type %q, want %q", p.Type, dalil.EventCase)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivery within 10 s of opening a case")
	}
}

// The webhook does not follow redirects: a receiver that redirects (a
// misconfigured or hijacked gateway) cannot send signed events elsewhere.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	elsewhere := make(chan string, 8)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere <- r.Header.Get("X-Dalil-Signature")
	}))
	defer other.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect) // 307 keeps method and body
	}))
	defer hook.Close()

	f := newFixture(t, func(c *Config, _ *Deps) {
		c.Webhook.URL, c.Webhook.Secret = hook.URL, "s3cret"
	})
	startBackground(t, f.srv)
	if f.srv.webhook == nil {
		t.Fatal("no webhook notifier started")
	}
	f.call("POST", "/v1/cases", "operator", `{"kind":"lost_pilgrim","pilgrim":"a1"}`, http.StatusCreated, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := f.srv.webhook.Stats()
		if st.Delivered+st.Failed > 0 {
			if st.Failed != 1 || st.Delivered != 0 {
				t.Errorf("redirected delivery: %+v, want it failed", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery attempt within 10 s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case sig := <-elsewhere:
		t.Errorf("the redirect target received the event (signature %q)", sig)
	default:
	}
	// The operator sees why the event was given up.
	_, metrics := f.do("GET", "/metrics", "admin", "")
	if !strings.Contains(string(metrics), `dalil_webhook_given_up_total{reason="refused"} 1`) {
		t.Errorf("metrics do not count the refused delivery:\n%s", grepLines(string(metrics), "dalil_webhook_"))
	}
}

// A case event the gateway could not take before a restart is delivered once
// after it, with the event id it had before: pending events wait in the
// server's store, and shutdown waits for the notifier before closing it. On
// the embedded store and, with DALIL_TEST_POSTGRES, on PostgreSQL.
func TestWebhookPendingEventSurvivesServerRestart(t *testing.T) {
	onBothStores(t, webhookRestart)
}

func webhookRestart(t *testing.T, open func() dalil.Store) {
	const secret = "gateway-shared-secret"
	type hookRequest struct {
		eventID  string
		p        notify.WebhookPayload
		accepted bool
	}
	var mu sync.Mutex
	var seen []hookRequest
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.VerifyWebhook([]byte(secret), body, r.Header.Get("X-Dalil-Signature")) {
			t.Errorf("webhook signature does not verify")
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		// The gateway is down for the first server and up for the second:
		// each posts to its own path, so an attempt the first server
		// abandoned at shutdown, still being handled here, is not mistaken
		// for the second's.
		ok := r.URL.Path == "/after"
		mu.Lock()
		seen = append(seen, hookRequest{eventID: r.Header.Get("X-Dalil-Event-Id"), p: p, accepted: ok})
		mu.Unlock()
		if !ok {
			http.Error(w, "gateway starting", http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()
	requests := func() []hookRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]hookRequest(nil), seen...)
	}

	ctx := context.Background()
	ix := testIndex(t)
	tent := ix.Layout().Tents[0]
	st := open()
	reg := registry.NewRegistry()
	if err := reg.Import(ctx, st, []registry.Pilgrim{{PID: "w1", NameEN: "Abdul Karim", Group: "gW", Camp: tent.Camp, Tent: tent.ID}},
		[]registry.Group{{ID: "gW"}}); err != nil {
		t.Fatal(err)
	}
	s1 := startWebhookServer(t, st, reg, hook.URL+"/before", secret)
	var c helpdesk.Case
	s1.call("POST", "/v1/cases", `{"pilgrim":"w1","note":"lost near the Jamarat"}`, http.StatusCreated, &c)
	waitUntil(t, "a first delivery attempt", func() bool { return len(requests()) > 0 })
	s1.stop()
	first := requests()[0]
	if first.p.Event.Case != c.ID || first.eventID == "" {
		t.Fatalf("first attempt: %+v, want case %s with an event id", first, c.ID)
	}

	st2 := open()
	reg2, err := registry.LoadRegistry(ctx, st2)
	if err != nil {
		t.Fatal(err)
	}
	s2 := startWebhookServer(t, st2, reg2, hook.URL+"/after", secret)
	defer s2.stop()
	waitUntil(t, "delivery after the restart", func() bool { return s2.srv.webhook.Stats().Delivered == 1 })
	waitUntil(t, "the delivered event removed from the store", func() bool {
		n := 0
		_ = st2.ScanRecords(ctx, notify.KindWebhook, func(string, []byte) error { n++; return nil })
		return n == 0
	})
	var accepted []hookRequest
	for _, r := range requests() {
		if r.accepted {
			accepted = append(accepted, r)
		}
	}
	if len(accepted) != 1 || accepted[0].eventID != first.eventID || accepted[0].p.Event.Case != c.ID {
		t.Fatalf("accepted %+v, want case %s once with event id %s", accepted, c.ID, first.eventID)
	}
}

// webhookServer is a server with a webhook whose background tasks the test
// starts and stops, as Serve does, over a store the test reopens.
type webhookServer struct {
	*restartServer
	stopBG func()
}

func startWebhookServer(t *testing.T, st dalil.Store, reg *registry.Registry, url, secret string) *webhookServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AdminToken = adminSecret
	cfg.Webhook.URL, cfg.Webhook.Secret = url, secret
	// Fast retries that never run out while the gateway is down.
	cfg.Webhook.InitialBackoff, cfg.Webhook.MaxBackoff, cfg.Webhook.MaxAttempts = time.Millisecond, 10*time.Millisecond, 1<<30
	srv, err := New(t.Context(), cfg, Deps{Store: st, Index: testIndex(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.EnsureAdmin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.webhook == nil {
		t.Fatal("no webhook notifier started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	srv.mu.Lock()
	tasks := append([]func(context.Context){}, srv.background...)
	srv.mu.Unlock()
	for _, fn := range tasks {
		wg.Go(func() { fn(ctx) })
	}
	var once sync.Once
	w := &webhookServer{
		restartServer: &restartServer{t: t, st: st, srv: srv, ts: httptest.NewServer(srv.Handler())},
		stopBG:        func() { once.Do(func() { cancel(); wg.Wait() }) },
	}
	t.Cleanup(w.stopBG)
	return w
}

// stop shuts down in Serve's order: requests, then background tasks, then
// the store.
func (w *webhookServer) stop() {
	w.ts.Close()
	w.stopBG()
	w.restartServer.stop()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
