package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dalil"
	"dalil/notify"
	"dalil/store/embedded"
)

// These tests run the webhook notifier over the embedded store in a temp
// directory, closed and reopened to stand for a restart of the process.

const hookSecret = "gateway-secret"

// hookReceiver is the operator's gateway: it verifies every request, answers
// with the status the test sets, and keeps what it saw.
type hookReceiver struct {
	t      *testing.T
	url    string
	status atomic.Int32 // answer; 0 blocks until the sender gives up the request

	mu       sync.Mutex
	requests []hookRequest
}

type hookRequest struct {
	eventID string // X-Dalil-Event-Id
	p       notify.WebhookPayload
	status  int
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	r := &hookReceiver{t: t}
	r.status.Store(int32(status))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !notify.VerifyWebhook([]byte(hookSecret), body, req.Header.Get("X-Dalil-Signature")) {
			t.Errorf("signature does not verify")
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body: %v", err)
		}
		code := int(r.status.Load())
		if req.URL.Path == "/down" {
			// Always down: a sender stopped before the gateway came back
			// posts here, so an attempt it abandoned, still being handled
			// after the status changed, is not counted as accepted.
			code = http.StatusServiceUnavailable
		}
		r.mu.Lock()
		r.requests = append(r.requests, hookRequest{eventID: req.Header.Get("X-Dalil-Event-Id"), p: p, status: code})
		r.mu.Unlock()
		if code == 0 {
			<-req.Context().Done() // hangs until the sender gives up
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *hookReceiver) seen() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.requests...)
}

// accepted are the requests answered 2xx: what the gateway acted on.
func (r *hookReceiver) accepted() []hookRequest {
	var out []hookRequest
	for _, q := range r.seen() {
		if q.status >= 200 && q.status < 300 {
			out = append(out, q)
		}
	}
	return out
}

func openHookStore(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// startNotifier runs a notifier with fast, bounded retries and one worker
// (so that delivery order is enqueue order). stop ends Run and waits for it,
// as the server does at shutdown.
func startNotifier(t *testing.T, st dalil.RecordStore, url string, tune func(*notify.WebhookConfig)) (n *notify.WebhookNotifier, stop func()) {
	t.Helper()
	cfg := notify.DefaultWebhookConfig()
	cfg.URL, cfg.Secret, cfg.Workers = url, hookSecret, 1
	cfg.InitialBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	n, err := notify.NewWebhookNotifier(cfg, notify.WebhookDeps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return n, stop
}

func caseEvent(id string) dalil.Update {
	return dalil.Update{Event: &dalil.Event{Kind: dalil.EventCase, Case: id, Pilgrim: "M1", Detail: "located: located"}}
}

// pending lists the stored webhook events, oldest first.
func pending(t *testing.T, st dalil.RecordStore) []notify.WebhookPayload {
	t.Helper()
	var out []notify.WebhookPayload
	err := st.ScanRecords(context.Background(), notify.KindWebhook, func(id string, data []byte) error {
		var p notify.WebhookPayload
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		if p.ID != id {
			t.Errorf("record %s holds event %s", id, p.ID)
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stored counts the webhook records, readable or not.
func stored(t *testing.T, st dalil.RecordStore) int {
	t.Helper()
	n := 0
	if err := st.ScanRecords(context.Background(), notify.KindWebhook, func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func cases(ps []notify.WebhookPayload) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Event.Case)
	}
	return out
}

func acceptedCases(rs []hookRequest) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.p.Event.Case)
	}
	return out
}

// waitFor polls cond; the deadline is generous because the machine is shared.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The gateway is down when cases are located; Dalil restarts; the gateway
// comes back. Every event arrives once, in order, with the event id it had
// before the restart, and the store is left empty.
func TestWebhookEventsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	hook := newHookReceiver(t, http.StatusServiceUnavailable)

	st := openHookStore(t, dir)
	n1, stop1 := startNotifier(t, st, hook.url+"/down", func(c *notify.WebhookConfig) { c.MaxAttempts = 1 << 30 })
	for _, id := range []string{"C1", "C2", "C3"} {
		n1.Publish(caseEvent(id))
	}
	waitFor(t, "a first attempt", func() bool { return len(hook.seen()) > 0 })
	stop1()
	before := pending(t, st)
	if got := cases(before); !equal(got, []string{"C1", "C2", "C3"}) {
		t.Fatalf("stored after shutdown: %v, want C1 C2 C3 in order", got)
	}
	if s := n1.Stats(); s.Failed != 0 || s.Dropped != 0 || s.Delivered != 0 {
		t.Fatalf("a shutdown is not a give-up: %+v", s)
	}
	if first := hook.seen()[0]; first.eventID != before[0].ID || first.p.ID != before[0].ID {
		t.Fatalf("attempt carried event id %q (body %q), stored as %q", first.eventID, first.p.ID, before[0].ID)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	hook.status.Store(http.StatusOK)
	st2 := openHookStore(t, dir)
	defer st2.Close()
	n2, stop2 := startNotifier(t, st2, hook.url, nil)
	n2.Publish(caseEvent("C4")) // published while the backlog loads: it goes behind it
	waitFor(t, "4 deliveries", func() bool { return n2.Stats().Delivered == 4 })
	waitFor(t, "the store emptied", func() bool { return len(pending(t, st2)) == 0 })
	stop2()

	got := hook.accepted()
	if c := acceptedCases(got); !equal(c, []string{"C1", "C2", "C3", "C4"}) {
		t.Fatalf("gateway accepted %v, want C1 C2 C3 C4 once each, in order", c)
	}
	for i, p := range before {
		if got[i].eventID != p.ID || got[i].p.ID != p.ID {
			t.Errorf("%s resent with event id %q (body %q), want %q", p.Event.Case, got[i].eventID, got[i].p.ID, p.ID)
		}
	}
	if s := n2.Stats(); s.Failed != 0 || s.Dropped != 0 || s.StoreErrors != 0 {
		t.Fatalf("stats after restart: %+v", s)
	}
}

// A delivery cut short by shutdown (the gateway had not answered) is not
// lost: it waits in the store.
func TestWebhookShutdownKeepsInFlightEvent(t *testing.T) {
	hook := newHookReceiver(t, 0) // hangs
	st := openHookStore(t, t.TempDir())
	defer st.Close()
	n, stop := startNotifier(t, st, hook.url, nil)
	n.Publish(caseEvent("C1"))
	waitFor(t, "the attempt in flight", func() bool { return len(hook.seen()) == 1 })
	stop()
	if got := cases(pending(t, st)); !equal(got, []string{"C1"}) {
		t.Fatalf("stored after shutdown: %v, want C1", got)
	}
	if s := n.Stats(); s.Failed != 0 || s.Dropped != 0 {
		t.Fatalf("stats = %+v: an interrupted delivery is neither failed nor dropped", s)
	}
}

// noDeleteStore loses every delete: a crash between the gateway's 2xx and
// the delete.
type noDeleteStore struct{ dalil.RecordStore }

func (noDeleteStore) DeleteRecord(context.Context, string, string) error {
	return errors.New("disk gone")
}

// At least once: an event whose delete was lost is sent again after a
// restart (not before), with the same event id, so the gateway can drop the
// repeat.
func TestWebhookResendCarriesSameEventID(t *testing.T) {
	dir := t.TempDir()
	hook := newHookReceiver(t, http.StatusOK)
	st := openHookStore(t, dir)
	n1, stop1 := startNotifier(t, noDeleteStore{st}, hook.url, nil)
	n1.Publish(caseEvent("C1"))
	waitFor(t, "the failed delete", func() bool { return n1.Stats().StoreErrors == 1 })
	stop1()
	if len(hook.accepted()) != 1 || len(pending(t, st)) != 1 {
		t.Fatalf("before restart: %d accepted, %d stored; want 1 and 1", len(hook.accepted()), len(pending(t, st)))
	}
	st.Close()

	st2 := openHookStore(t, dir)
	defer st2.Close()
	n2, stop2 := startNotifier(t, st2, hook.url, nil)
	waitFor(t, "the resend", func() bool { return n2.Stats().Delivered == 1 })
	waitFor(t, "the store emptied", func() bool { return len(pending(t, st2)) == 0 })
	stop2()
	got := hook.accepted()
	if len(got) != 2 || got[0].eventID == "" || got[0].eventID != got[1].eventID || got[1].p.ID != got[0].eventID {
		t.Fatalf("resend: %+v, want the same event id twice", got)
	}
}

// A give-up (refused, or out of attempts) removes the event from the store
// and is counted by reason: it is not retried at every start.
func TestWebhookGiveUpRemovesEvent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		attempts int
		want     func(notify.WebhookStats) bool
	}{
		{"refused", http.StatusBadRequest, 1, func(s notify.WebhookStats) bool { return s.Refused == 1 && s.Exhausted == 0 }},
		{"exhausted", http.StatusBadGateway, 3, func(s notify.WebhookStats) bool { return s.Exhausted == 1 && s.Refused == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookReceiver(t, tc.status)
			st := openHookStore(t, t.TempDir())
			defer st.Close()
			n, stop := startNotifier(t, st, hook.url, func(c *notify.WebhookConfig) { c.MaxAttempts = 3 })
			n.Publish(caseEvent("C1"))
			waitFor(t, "the give-up", func() bool { return n.Stats().Failed == 1 })
			waitFor(t, "the store emptied", func() bool { return len(pending(t, st)) == 0 })
			stop()
			if s := n.Stats(); !tc.want(s) || s.Delivered != 0 {
				t.Fatalf("stats = %+v", s)
			}
			if got := len(hook.seen()); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

// More events than the memory queue holds wait in the store (none dropped)
// and are delivered in order as the queue drains, new ones behind them. A
// stored event that no longer decodes is given up and removed.
func TestWebhookBacklogBeyondQueueKeepsOrder(t *testing.T) {
	hook := newHookReceiver(t, http.StatusOK)
	st := openHookStore(t, t.TempDir())
	defer st.Close()
	// A record a previous version left that does not decode; its id sorts first.
	if err := st.PutRecords(context.Background(), notify.KindWebhook, []dalil.Record{{ID: "00000000000000000000-000000", Data: []byte("{not json")}}); err != nil {
		t.Fatal(err)
	}
	cfg := notify.DefaultWebhookConfig()
	cfg.URL, cfg.Secret, cfg.Workers, cfg.QueueSize = hook.url, hookSecret, 1, 3
	n, err := notify.NewWebhookNotifier(cfg, notify.WebhookDeps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, id := range []string{"C01", "C02", "C03", "C04", "C05", "C06", "C07"} {
		n.Publish(caseEvent(id)) // before Run: nothing is sent yet
		want = append(want, id)
	}
	if s := n.Stats(); s.Dropped != 0 || stored(t, st) != 8 {
		t.Fatalf("before Run: %+v, %d stored; want none dropped, 8 stored", s, stored(t, st))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for _, id := range []string{"C08", "C09", "C10", "C11", "C12"} {
		n.Publish(caseEvent(id)) // while the backlog drains
		want = append(want, id)
	}
	waitFor(t, "12 deliveries", func() bool { return n.Stats().Delivered == 12 })
	waitFor(t, "the store emptied", func() bool { return stored(t, st) == 0 })
	if got := acceptedCases(hook.accepted()); !equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if s := n.Stats(); s.Unreadable != 1 || s.Failed != 1 || s.Dropped != 0 {
		t.Fatalf("stats = %+v, want the unreadable record given up", s)
	}
}

// Many publishers at once, a small memory queue, two workers and a gateway
// that turns away the first attempt of every third event: every event is
// accepted exactly once and the store ends empty (no event is lost or queued
// twice while events spill to the store and are loaded back).
func TestWebhookConcurrentPublishDeliversEachOnce(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	accepted := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Dalil-Event-Id")
		mu.Lock()
		defer mu.Unlock()
		attempts[id]++
		if attempts[id] == 1 && len(attempts)%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accepted[id]++
	}))
	defer srv.Close()
	st := openHookStore(t, t.TempDir())
	defer st.Close()
	n, stop := startNotifier(t, st, srv.URL, func(c *notify.WebhookConfig) { c.QueueSize, c.Workers = 4, 2 })
	const publishers, each = 8, 25
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for range each {
				n.Publish(caseEvent("C1"))
			}
		})
	}
	wg.Wait()
	waitFor(t, "every delivery", func() bool { return n.Stats().Delivered == publishers*each })
	waitFor(t, "the store emptied", func() bool { return stored(t, st) == 0 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != publishers*each {
		t.Fatalf("%d distinct events accepted, want %d", len(accepted), publishers*each)
	}
	for id, k := range accepted {
		if k != 1 {
			t.Fatalf("event %s accepted %d times", id, k)
		}
	}
	if s := n.Stats(); s.Failed != 0 || s.Dropped != 0 || s.StoreErrors != 0 || s.Retries == 0 {
		t.Fatalf("stats = %+v", s)
	}
}

// lateStore stores records but reports failure: a commit that outlived its
// timeout.
type lateStore struct{ dalil.RecordStore }

func (s lateStore) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	if err := s.RecordStore.PutRecords(ctx, kind, recs); err != nil {
		return err
	}
	return errors.New("timed out waiting for the commit")
}

// An event whose store write reported failure but landed is delivered from
// memory once, not also loaded from the store, and removed from it.
func TestWebhookLateWriteSentOnce(t *testing.T) {
	hook := newHookReceiver(t, http.StatusOK)
	st := openHookStore(t, t.TempDir())
	defer st.Close()
	cfg := notify.DefaultWebhookConfig()
	cfg.URL, cfg.Secret, cfg.Workers = hook.url, hookSecret, 1
	n, err := notify.NewWebhookNotifier(cfg, notify.WebhookDeps{Store: lateStore{st}})
	if err != nil {
		t.Fatal(err)
	}
	n.Publish(caseEvent("C1")) // before Run, so that the start-up load finds it in the store
	if s := n.Stats(); s.StoreErrors != 1 || stored(t, st) != 1 {
		t.Fatalf("stats = %+v, %d stored; want the write reported failed yet stored", s, stored(t, st))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	waitFor(t, "the delivery", func() bool { return n.Stats().Delivered == 1 })
	waitFor(t, "the store emptied", func() bool { return stored(t, st) == 0 })
	cancel()
	<-done
	if got := acceptedCases(hook.accepted()); !equal(got, []string{"C1"}) {
		t.Fatalf("accepted %v, want C1 once", got)
	}
}
