package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dalil/tracking"
)

// A configured webhook receives a signed event when an operator opens a case,
// so that an SMS gateway can tell the guide and the family.
func TestWebhookReceivesCaseEvents(t *testing.T) {
	const secret = "gateway-shared-secret"
	got := make(chan tracking.WebhookPayload, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !tracking.VerifyWebhook([]byte(secret), body, r.Header.Get("X-Dalil-Signature")) {
			t.Errorf("webhook signature %q does not verify", r.Header.Get("X-Dalil-Signature"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p tracking.WebhookPayload
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
		if p.Type != tracking.EventCase {
			t.Errorf("webhook type %q, want %q", p.Type, tracking.EventCase)
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
}
