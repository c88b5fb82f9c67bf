package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dalil"
	"dalil/store/memstore"
)

func TestWebhookSignedRetriedDelivered(t *testing.T) {
	secret := []byte("s3cret")
	var calls atomic.Int32
	var mu sync.Mutex
	var got []WebhookPayload
	var ids, deliveryIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !VerifyWebhook(secret, body, r.Header.Get("X-Dalil-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		n := calls.Add(1)
		mu.Lock()
		ids = append(ids, r.Header.Get("X-Dalil-Event-Id"))
		deliveryIDs = append(deliveryIDs, r.Header.Get("X-Dalil-Delivery"))
		mu.Unlock()
		if n <= 2 { // the SMS gateway is down twice
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var p WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	defer srv.Close()

	st := memstore.New()
	cfg := DefaultWebhookConfig()
	cfg.URL, cfg.Secret = srv.URL, string(secret)
	cfg.InitialBackoff, cfg.MaxBackoff, cfg.Workers = 5*time.Millisecond, 20*time.Millisecond, 1
	n, err := NewWebhookNotifier(cfg, WebhookDeps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)

	n.Publish(dalil.Update{State: &dalil.LiveState{Device: "x"}})                           // positions are not sent
	n.Publish(dalil.Update{Event: &dalil.Event{Kind: dalil.EventCampEnter, Pilgrim: "M1"}}) // nor routine events
	n.Publish(dalil.Update{Event: &dalil.Event{Kind: dalil.EventCase, Case: "C000001", Pilgrim: "M1", Detail: "located: located"}})
	waitUntil(t, "delivery", func() bool { return n.Stats().Delivered == 1 })
	waitUntil(t, "the delivered event removed from the store", func() bool { return len(webhookRecords(st)) == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Event.Case != "C000001" || got[0].Type != dalil.EventCase {
		t.Fatalf("delivered %+v", got)
	}
	if len(ids) != 3 || ids[0] != ids[2] || ids[0] == "" || ids[0] != got[0].ID || deliveryIDs[0] != ids[0] {
		t.Fatalf("retries must keep the event id (header and body): %v %v body %q", ids, deliveryIDs, got[0].ID)
	}
	if s := n.Stats(); s.Retries != 2 || s.Failed != 0 || s.StoreErrors != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

// When the store refuses writes, events are still delivered from memory;
// only then does a full queue drop them. A 4xx is given up at once.
func TestWebhookStoreDownDeliversFromMemory(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no such number", http.StatusBadRequest) // 4xx: not retried
	}))
	defer srv.Close()
	st := memstore.New()
	st.FailPutKind = map[string]bool{KindWebhook: true}
	cfg := DefaultWebhookConfig()
	cfg.URL, cfg.Secret, cfg.QueueSize = srv.URL, "k", 4
	cfg.InitialBackoff = time.Millisecond
	n, err := NewWebhookNotifier(cfg, WebhookDeps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	// Not running yet: the queue fills, then events are dropped, never blocking.
	for range 10 {
		n.Publish(dalil.Update{Event: &dalil.Event{Kind: dalil.EventSeparation, Pilgrim: "M1", Group: "G1"}})
	}
	if s := n.Stats(); s.Dropped != 6 || s.StoreErrors != 10 {
		t.Fatalf("stats = %+v, want 6 dropped and 10 store errors", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	waitUntil(t, "4 refused", func() bool { return n.Stats().Failed == 4 })
	if c := calls.Load(); c != 4 {
		t.Fatalf("%d calls for 4 refused deliveries (4xx must not be retried)", c)
	}
	if s := n.Stats(); s.Refused != 4 || s.Exhausted != 0 {
		t.Fatalf("stats = %+v, want 4 refused", s)
	}
}

func TestWebhookConfigChecked(t *testing.T) {
	st := memstore.New()
	if _, err := NewWebhookNotifier(WebhookConfig{URL: "ftp://x", Secret: "k"}, WebhookDeps{Store: st}); err == nil {
		t.Fatal("ftp URL accepted")
	}
	if _, err := NewWebhookNotifier(WebhookConfig{URL: "http://x/hook"}, WebhookDeps{Store: st}); err == nil {
		t.Fatal("missing secret accepted")
	}
	if _, err := NewWebhookNotifier(WebhookConfig{URL: "http://x/hook", Secret: "k"}, WebhookDeps{}); err == nil {
		t.Fatal("missing store accepted: pending events would not survive a restart")
	}
}

// Ids sort by enqueue time, so the store's id order is delivery order.
func TestWebhookIDsSortByTime(t *testing.T) {
	t0 := time.Date(2025, 6, 5, 4, 0, 0, 0, time.UTC)
	ids := []string{webhookID(t0, 999_999), webhookID(t0.Add(time.Nanosecond), 1_000_000), webhookID(t0.Add(time.Second), 3)}
	if !slices.IsSorted(ids) || ids[0] == ids[1] {
		t.Fatalf("ids do not sort by time: %v", ids)
	}
}

// webhookRecords lists the ids of the stored webhook events.
func webhookRecords(st *memstore.Store) []string {
	var ids []string
	_ = st.ScanRecords(context.Background(), KindWebhook, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	return ids
}

func TestWebhookSignature(t *testing.T) {
	body := []byte(`{"id":"1"}`)
	sig := SignWebhook([]byte("k"), body)
	// HMAC-SHA256 of the body under "k", computed independently with openssl.
	if sig != "sha256=9517944737cafb550065dd115b693946f64b48abd9d64e6e404794f23197dd77" {
		t.Fatalf("signature %q", sig)
	}
	if !VerifyWebhook([]byte("k"), body, sig) || VerifyWebhook([]byte("other"), body, sig) || VerifyWebhook([]byte("k"), []byte(`{"id":"2"}`), sig) {
		t.Fatal("signature does not bind key and body")
	}
	if len(sig) != len("sha256=")+64 || sig[:7] != "sha256=" {
		t.Fatalf("signature format %q", sig)
	}
}

// waitUntil polls cond until it holds or a few seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
