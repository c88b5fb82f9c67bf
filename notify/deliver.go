package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Why a delivery was given up (log field "reason", WebhookStats).
const (
	giveUpRefused    = "refused"    // a 3xx or 4xx answer: retrying would not help
	giveUpExhausted  = "exhausted"  // MaxAttempts used
	giveUpUnreadable = "unreadable" // a stored event that no longer decodes
)

// deliver tries one event until it is accepted, refused or out of attempts,
// then removes it from the store. An attempt cut short by ctx (shutdown)
// leaves it in the store for the next start.
func (n *WebhookNotifier) deliver(ctx context.Context, it webhookItem) {
	p := it.p
	backoff := n.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		p.SentAt = time.Now().UTC()
		retry, wait, err := n.post(ctx, p)
		if err == nil {
			n.count.delivered.Add(1)
			n.q.finish(ctx, it)
			return
		}
		if ctx.Err() != nil {
			n.q.interrupted(it)
			return
		}
		if !retry || attempt >= n.cfg.MaxAttempts {
			reason := giveUpExhausted
			if !retry {
				reason = giveUpRefused
			}
			n.giveUp(ctx, it, reason, attempt, err)
			return
		}
		n.count.retries.Add(1)
		if wait <= 0 {
			wait = jitter(backoff)
			backoff = min(backoff*2, n.cfg.MaxBackoff)
		}
		wait = min(wait, n.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.q.interrupted(it)
			return
		case <-t.C:
		}
	}
}

// giveUp counts and logs why an event will not be sent, and removes it from
// the store: it would otherwise be retried at every start, forever.
func (n *WebhookNotifier) giveUp(ctx context.Context, it webhookItem, reason string, attempts int, err error) {
	switch reason {
	case giveUpRefused:
		n.count.refused.Add(1)
	case giveUpExhausted:
		n.count.exhausted.Add(1)
	}
	n.log.Warn("webhook delivery given up", "id", it.p.ID, "type", it.p.Type, "reason", reason, "attempts", attempts, "err", err)
	n.q.finish(ctx, it)
}

// post makes one attempt. It reports whether a failure is worth retrying and
// how long the receiver asked to wait (Retry-After).
func (n *WebhookNotifier) post(ctx context.Context, p WebhookPayload) (retry bool, wait time.Duration, err error) {
	body, err := json.Marshal(p)
	if err != nil {
		return false, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dalil-webhook/1")
	req.Header.Set("X-Dalil-Signature", SignWebhook([]byte(n.cfg.Secret), body))
	// Delivery is at least once (a restart between a 2xx and the store's
	// delete sends the event again): the event id lets receivers drop the
	// repeat. X-Dalil-Delivery is the older name of the same id.
	req.Header.Set("X-Dalil-Event-Id", p.ID)
	req.Header.Set("X-Dalil-Delivery", p.ID)
	req.Header.Set("X-Dalil-Event", string(p.Type))
	resp, err := n.client.Do(req)
	if err != nil {
		return true, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return true, wait, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, 0, fmt.Errorf("webhook refused: %s", resp.Status)
	}
}

// SignWebhook returns the X-Dalil-Signature value for body: "sha256=" and
// the hex HMAC-SHA256 of the body under secret.
func SignWebhook(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks an X-Dalil-Signature header in constant time; a
// receiver calls it on the raw body.
func VerifyWebhook(secret, body []byte, header string) bool {
	want := SignWebhook(secret, body)
	return hmac.Equal([]byte(want), []byte(header))
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}
