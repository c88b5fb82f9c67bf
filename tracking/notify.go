package tracking

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookConfig configures the outbound webhook for case and alert events
// (an SMS gateway that tells the guide and the family, say).
type WebhookConfig struct {
	URL string
	// Secret signs every body: header X-Dalil-Signature: sha256=<hex HMAC>.
	Secret string
	// Kinds are the event kinds sent (default: case, separation,
	// separation_clear, outside_camp_night).
	Kinds []EventKind
	// QueueSize bounds the deliveries waiting; when full, new events are
	// dropped and counted rather than slowing the tracker.
	QueueSize int
	// MaxAttempts per delivery, with exponential backoff from
	// InitialBackoff, doubling up to MaxBackoff (with ±20% jitter).
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Workers deliver in parallel.
	Workers int
}

// DefaultWebhookConfig: 1024 queued, 8 attempts from 1 s to 5 min, 10 s
// per attempt, 2 workers.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		Kinds:     []EventKind{EventCase, EventSeparation, EventRejoined, EventOutsideCamp},
		QueueSize: 1024, MaxAttempts: 8, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute,
		Timeout: 10 * time.Second, Workers: 2,
	}
}

// WebhookPayload is the JSON body of every delivery.
type WebhookPayload struct {
	ID     string    `json:"id"` // unique per delivery; the same on every retry
	Type   EventKind `json:"type"`
	SentAt time.Time `json:"sent_at"`
	Event  Event     `json:"event"`
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`  // gave up after MaxAttempts or a 4xx answer
	Dropped   uint64 `json:"dropped"` // the queue was full
	Retries   uint64 `json:"retries"`
}

// WebhookNotifier posts events to a webhook. It is a Publisher: Publish
// enqueues without blocking; Run delivers.
type WebhookNotifier struct {
	cfg    WebhookConfig
	client *http.Client
	log    *slog.Logger
	kinds  []EventKind
	queue  chan WebhookPayload

	delivered, failed, dropped, retries atomic.Uint64
}

// NewWebhookNotifier checks the configuration and returns a notifier. client
// may be nil (a client with no redirects followed).
func NewWebhookNotifier(cfg WebhookConfig, client *http.Client, log *slog.Logger) (*WebhookNotifier, error) {
	def := DefaultWebhookConfig()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: want http(s)://host/path", cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhook secret is required: receivers must be able to verify the sender")
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = def.Kinds
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = def.QueueSize
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = def.InitialBackoff
	}
	if cfg.MaxBackoff < cfg.InitialBackoff {
		cfg.MaxBackoff = max(def.MaxBackoff, cfg.InitialBackoff)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebhookNotifier{cfg: cfg, client: client, log: log, kinds: cfg.Kinds, queue: make(chan WebhookPayload, cfg.QueueSize)}, nil
}

// Publish implements Publisher.
func (n *WebhookNotifier) Publish(u Update) {
	if u.Event == nil || !slices.Contains(n.kinds, u.Event.Kind) {
		return
	}
	p := WebhookPayload{ID: newDeliveryID(), Type: u.Event.Kind, Event: *u.Event}
	select {
	case n.queue <- p:
	default:
		n.dropped.Add(1)
	}
}

// Stats returns the delivery counters.
func (n *WebhookNotifier) Stats() WebhookStats {
	return WebhookStats{Delivered: n.delivered.Load(), Failed: n.failed.Load(), Dropped: n.dropped.Load(), Retries: n.retries.Load()}
}

// Run delivers until ctx ends; deliveries still queued then are not sent.
func (n *WebhookNotifier) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range n.cfg.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case p := <-n.queue:
					n.deliver(ctx, p)
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// deliver tries one payload until it is accepted, refused or out of attempts.
func (n *WebhookNotifier) deliver(ctx context.Context, p WebhookPayload) {
	backoff := n.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		p.SentAt = time.Now().UTC()
		retry, wait, err := n.post(ctx, p)
		if err == nil {
			n.delivered.Add(1)
			return
		}
		if !retry || attempt >= n.cfg.MaxAttempts || ctx.Err() != nil {
			n.failed.Add(1)
			n.log.Warn("webhook delivery failed", "id", p.ID, "type", p.Type, "attempts", attempt, "err", err)
			return
		}
		n.retries.Add(1)
		if wait <= 0 {
			wait = jitter(backoff)
			backoff = min(backoff*2, n.cfg.MaxBackoff)
		}
		wait = min(wait, n.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.failed.Add(1)
			return
		case <-t.C:
		}
	}
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

func newDeliveryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
