// Package notify delivers events to an outside system by signed webhook, from
// a durable queue, with retries; delivery may block, so it runs on its own.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"dalil"
)

// WebhookConfig configures the outbound webhook for case and alert events
// (an SMS gateway that tells the guide and the family, say).
type WebhookConfig struct {
	URL string
	// Secret signs every body: header X-Dalil-Signature: sha256=<hex HMAC>.
	Secret string
	// Kinds are the event kinds sent (default: case, separation,
	// separation_clear, outside_camp_night). Each is stored as it is
	// published: a kind the engine raises (camp_enter, …) would put a store
	// write on the ingest path.
	Kinds []dalil.EventKind
	// QueueSize bounds the events held in memory. Beyond it events wait in
	// the store only and are loaded, oldest first, as the queue drains; only
	// an event the store could not take is dropped (and counted) when the
	// queue is full, rather than slowing the tracker.
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
	// StoreTimeout bounds one store write or delete, so that a store that
	// hangs holds a publisher (the case book, the alert monitor) at most
	// this long before the event is kept in memory only.
	StoreTimeout time.Duration
}

// DefaultWebhookConfig: 1024 queued in memory, 8 attempts from 1 s to 5 min,
// 10 s per attempt, 2 workers, 2 s per store call.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		Kinds:     []dalil.EventKind{dalil.EventCase, dalil.EventSeparation, dalil.EventRejoined, dalil.EventOutsideCamp},
		QueueSize: 1024, MaxAttempts: 8, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute,
		Timeout: 10 * time.Second, Workers: 2, StoreTimeout: 2 * time.Second,
	}
}

// WebhookDeps are what a notifier works with.
type WebhookDeps struct {
	// Store keeps every event (records of kind "webhook") from Publish until
	// it is delivered or given up, so a restart or a crash loses nothing.
	// Required.
	Store dalil.RecordStore
	// Client may be nil: the notifier builds one that follows no redirects.
	Client *http.Client
	Logger *slog.Logger
}

// WebhookPayload is the JSON body of every delivery.
type WebhookPayload struct {
	// ID identifies the event: the same on every retry and after a restart
	// (it is the store record's id), so receivers de-duplicate on it.
	ID     string          `json:"id"`
	Type   dalil.EventKind `json:"type"`
	SentAt time.Time       `json:"sent_at"`
	Event  dalil.Event     `json:"event"`
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	Delivered uint64 `json:"delivered"`
	// Failed counts events given up, for one of three reasons: Refused (a
	// 3xx or 4xx answer), Exhausted (MaxAttempts used) or Unreadable (a
	// stored event that no longer decodes).
	Failed     uint64 `json:"failed"`
	Refused    uint64 `json:"refused"`
	Exhausted  uint64 `json:"exhausted"`
	Unreadable uint64 `json:"unreadable"`
	// Dropped counts events lost unsent: the store could not take them and
	// the memory queue was full, or they were still in memory at shutdown.
	Dropped uint64 `json:"dropped"`
	Retries uint64 `json:"retries"`
	// StoreErrors counts store writes, deletes and loads that failed.
	StoreErrors uint64 `json:"store_errors"`
}

// webhookCounters are the live counters behind WebhookStats.
type webhookCounters struct {
	delivered, refused, exhausted, unreadable, dropped, retries, storeErrors atomic.Uint64
}

// WebhookNotifier posts events to a webhook. It is a Publisher: Publish
// stores the event and enqueues it; Run delivers.
type WebhookNotifier struct {
	cfg    WebhookConfig
	client *http.Client
	log    *slog.Logger
	q      *webhookQueue
	count  *webhookCounters
}

// NewWebhookNotifier checks the configuration and returns a notifier.
func NewWebhookNotifier(cfg WebhookConfig, deps WebhookDeps) (*WebhookNotifier, error) {
	def := DefaultWebhookConfig()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: want http(s)://host/path", cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhook secret is required: receivers must be able to verify the sender")
	}
	if deps.Store == nil {
		return nil, errors.New("webhook: a record store is required: pending deliveries must survive a restart")
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
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = def.StoreTimeout
	}
	client := deps.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	counters := &webhookCounters{}
	return &WebhookNotifier{
		cfg: cfg, client: client, log: log, count: counters,
		q: newWebhookQueue(deps.Store, cfg, log, counters),
	}, nil
}

// Publish implements Publisher. Updates it does not send (positions, other
// event kinds) cost a slice lookup. An event it sends is written to the store
// before Publish returns, so that a case change acknowledged to an operator
// is not lost by a crash; the events sent by default come from the case book
// and the alert monitor, never from ingest. If the write fails (or takes
// longer than StoreTimeout) the event is logged and delivered from memory
// only: a store outage must not hold up the publishers.
func (n *WebhookNotifier) Publish(u dalil.Update) {
	if u.Event == nil || !slices.Contains(n.cfg.Kinds, u.Event.Kind) {
		return
	}
	n.q.add(WebhookPayload{Type: u.Event.Kind, Event: *u.Event})
}

// Stats returns the delivery counters.
func (n *WebhookNotifier) Stats() WebhookStats {
	c := n.count
	s := WebhookStats{
		Delivered: c.delivered.Load(), Refused: c.refused.Load(), Exhausted: c.exhausted.Load(),
		Unreadable: c.unreadable.Load(), Dropped: c.dropped.Load(), Retries: c.retries.Load(),
		StoreErrors: c.storeErrors.Load(),
	}
	s.Failed = s.Refused + s.Exhausted + s.Unreadable
	return s
}

// Run delivers until ctx ends, then waits for its workers and returns.
// It first loads the events a previous run left in the store, oldest first,
// and delivers them before the events published since. An attempt cut short
// by ctx is not given up: the event stays in the store and is sent again at
// the next start. Call Run once.
func (n *WebhookNotifier) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { n.q.runLoader(ctx) })
	for range n.cfg.Workers {
		wg.Go(func() { n.work(ctx) })
	}
	wg.Wait()
	if lost := n.q.dropMemoryOnly(); lost > 0 {
		n.log.Warn("webhook: events held only in memory (the store did not take them) were not sent", "events", lost)
	}
	return ctx.Err()
}

// work delivers queued events one at a time until ctx ends.
func (n *WebhookNotifier) work(ctx context.Context) {
	for ctx.Err() == nil {
		it, ok := n.q.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-n.q.ready:
			}
			continue
		}
		n.deliver(ctx, it)
	}
}
