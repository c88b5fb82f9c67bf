package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"dalil"
)

// KindWebhook is the record kind of webhook events not yet delivered or given
// up. Ids are webhookIDs, so the store's id order is enqueue order.
const KindWebhook = "webhook"

// webhookID is the id of an event enqueued at t: the time in nanoseconds,
// zero-padded, and a sequence number (the audit log's scheme), so that ids
// sort by enqueue time and two events in one nanosecond do not collide.
func webhookID(t time.Time, seq uint64) string {
	return fmt.Sprintf("%020d-%06d", t.UnixNano(), seq%1_000_000)
}

// webhookItem is one event waiting in memory.
type webhookItem struct {
	p       WebhookPayload
	durable bool // in the store: removed from it once delivered or given up
}

// webhookQueue holds the events waiting for delivery, oldest first. The store
// is the queue of record; memory holds at most limit of its events. When
// memory is full, a new event is left in the store only ("spilled"), and so
// is every later one until the loader has caught up, so that nothing
// overtakes an older event waiting there. The loader brings spilled events
// (and, at start, those a previous run left) into memory in id order as the
// queue drains. An event the store could not take lives in memory only.
type webhookQueue struct {
	store   dalil.RecordStore
	limit   int
	timeout time.Duration    // one store call
	retry   [2]time.Duration // the loader's backoff after a failed load: first, most
	log     *slog.Logger
	count   *webhookCounters

	ready chan struct{} // an event waits in memory (wakes a worker)
	load  chan struct{} // spilled events may fit in memory now (wakes the loader)

	mu    sync.Mutex
	items []webhookItem
	// held are the events memory owns (being written, waiting, in flight,
	// or delivered but not deleted): the loader skips them, so no event is
	// queued twice.
	held map[string]struct{}
	// spilled: the store may hold events memory does not (true at start,
	// for a previous run's). spillGen counts spills, so that a load that
	// raced one does not clear spilled.
	spilled  bool
	spillGen uint64
	// While a load scans the store, released collects the events finished
	// meanwhile: the scan may have read them before they were deleted.
	loading  bool
	released map[string]struct{}
	seq      uint64
}

func newWebhookQueue(st dalil.RecordStore, cfg WebhookConfig, log *slog.Logger, count *webhookCounters) *webhookQueue {
	return &webhookQueue{
		store: st, limit: cfg.QueueSize, timeout: cfg.StoreTimeout, log: log, count: count,
		retry: [2]time.Duration{cfg.InitialBackoff, cfg.MaxBackoff},
		ready: make(chan struct{}, 1), load: make(chan struct{}, 1),
		held: map[string]struct{}{}, spilled: true,
	}
}

// wakeOne wakes one waiter of c without blocking.
func wakeOne(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// add stores p and queues it (see webhookQueue).
func (q *webhookQueue) add(p WebhookPayload) {
	q.mu.Lock()
	q.seq++
	p.ID = webhookID(time.Now(), q.seq)
	q.held[p.ID] = struct{}{} // a load running now must not queue it too
	q.mu.Unlock()

	durable := q.persist(p)

	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case durable && !q.spilled && len(q.items) < q.limit:
		q.push(webhookItem{p: p, durable: true})
	case durable:
		delete(q.held, p.ID) // the loader brings it in, behind the older ones
		q.spilled = true
		q.spillGen++
		wakeOne(q.load)
	default: // the store did not take it, as far as we know
		if len(q.items) >= q.limit {
			delete(q.held, p.ID)
			q.count.dropped.Add(1)
			return
		}
		// It stays held: if the write landed after all (a commit that
		// outlived its timeout), the loader must not queue it a second time.
		q.push(webhookItem{p: p})
	}
}

// persist writes p to the store and reports whether it is there.
func (q *webhookQueue) persist(p WebhookPayload) bool {
	data, err := json.Marshal(p)
	if err == nil {
		// Publish has no context; the timeout bounds a store that hangs.
		ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
		err = q.store.PutRecords(ctx, KindWebhook, []dalil.Record{{ID: p.ID, Data: data}})
		cancel()
	}
	if err != nil {
		q.count.storeErrors.Add(1)
		q.log.Warn("webhook: cannot store event; delivering it from memory only, so it is lost if the process stops first",
			"id", p.ID, "type", p.Type, "err", err)
		return false
	}
	return true
}

// push appends to the memory queue. Called with mu held.
func (q *webhookQueue) push(it webhookItem) {
	q.items = append(q.items, it)
	wakeOne(q.ready)
}

// take removes the oldest event from memory.
func (q *webhookQueue) take() (webhookItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return webhookItem{}, false
	}
	it := q.items[0]
	q.items[0] = webhookItem{}
	q.items = q.items[1:]
	if len(q.items) > 0 {
		wakeOne(q.ready) // another worker may take the next one
	}
	if q.spilled && len(q.items) <= q.limit/2 {
		wakeOne(q.load)
	}
	return it, true
}

// finish removes a delivered or given-up event from the store. The delete
// outlives ctx (shutdown), or the event would be sent again at the next start.
// An event whose write failed is deleted too, in case the write landed after
// all; that delete's failure is not reported (the store is known to be ailing,
// and the worst outcome is a resend after a restart).
func (q *webhookQueue) finish(ctx context.Context, it webhookItem) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.timeout)
	err := q.store.DeleteRecord(dctx, KindWebhook, it.p.ID)
	cancel()
	if it.durable && err != nil && !errors.Is(err, dalil.ErrNotFound) {
		q.count.storeErrors.Add(1)
		q.log.Warn("webhook: cannot remove a finished event from the store; it will be sent again after a restart",
			"id", it.p.ID, "err", err)
		return // still held: this process does not load it again
	}
	q.mu.Lock()
	delete(q.held, it.p.ID)
	if q.loading {
		q.released[it.p.ID] = struct{}{}
	}
	q.mu.Unlock()
}

// interrupted is an event whose delivery shutdown cut short: a stored one
// is sent at the next start, one in memory only is lost.
func (q *webhookQueue) interrupted(it webhookItem) {
	if !it.durable {
		q.count.dropped.Add(1)
	}
}

// dropMemoryOnly counts the events left in memory only at shutdown as
// dropped; the stored ones wait for the next start.
func (q *webhookQueue) dropMemoryOnly() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	lost := 0
	for _, it := range q.items {
		if !it.durable {
			lost++
		}
	}
	q.count.dropped.Add(uint64(lost))
	return lost
}

// runLoader brings stored events into memory as room appears, until ctx
// ends. A failed load is retried with backoff.
func (q *webhookQueue) runLoader(ctx context.Context) {
	backoff := q.retry[0]
	for {
		var retry <-chan time.Time
		if err := q.fill(ctx); err != nil && ctx.Err() == nil {
			q.count.storeErrors.Add(1)
			q.log.Warn("webhook: cannot load waiting events from the store", "retry_in", backoff, "err", err)
			retry = time.After(backoff)
			backoff = min(2*backoff, q.retry[1])
		} else {
			backoff = q.retry[0]
		}
		select {
		case <-ctx.Done():
			return
		case <-q.load:
		case <-retry:
		}
	}
}

// fill loads the oldest stored events that memory does not hold, up to the
// free room, once the queue is at most half full (so loads are few and
// large). When the store has no more, spilled is cleared and new events go
// straight to memory again.
func (q *webhookQueue) fill(ctx context.Context) error {
	q.mu.Lock()
	if !q.spilled || len(q.items) > q.limit/2 {
		q.mu.Unlock()
		return nil
	}
	room, gen := q.limit-len(q.items), q.spillGen
	q.loading, q.released = true, map[string]struct{}{}
	q.mu.Unlock()

	// Scanning from the start re-reads only the few events memory holds
	// (skipped below); it finds every stored event, however its write raced
	// this load.
	var got []dalil.Record
	err := q.store.ScanRecords(ctx, KindWebhook, func(id string, data []byte) error {
		q.mu.Lock()
		_, held := q.held[id]
		q.mu.Unlock()
		if !held {
			got = append(got, dalil.Record{ID: id, Data: slices.Clone(data)})
		}
		if len(got) >= room {
			return dalil.ErrStopScan
		}
		return nil
	})

	q.mu.Lock()
	released := q.released
	q.loading, q.released = false, nil
	if err != nil {
		q.mu.Unlock()
		return err
	}
	var bad []webhookItem
	full := false
	for _, r := range got {
		if _, ok := q.held[r.ID]; ok {
			continue
		}
		if _, ok := released[r.ID]; ok {
			continue // finished and deleted while the scan ran
		}
		if len(q.items) >= q.limit { // events kept in memory only took the room
			full = true
			break
		}
		q.held[r.ID] = struct{}{}
		var p WebhookPayload
		if err := json.Unmarshal(r.Data, &p); err != nil {
			bad = append(bad, webhookItem{p: WebhookPayload{ID: r.ID}, durable: true})
			continue
		}
		p.ID = r.ID // the record's id is the event's
		q.push(webhookItem{p: p, durable: true})
	}
	if len(got) < room && !full && q.spillGen == gen {
		q.spilled = false
	} else if len(q.items) <= q.limit/2 {
		// Not caught up, yet no take may come to wake the loader (what it
		// read was finished meanwhile): look again.
		wakeOne(q.load)
	}
	q.mu.Unlock()

	for _, it := range bad {
		q.count.unreadable.Add(1)
		q.log.Error("webhook delivery given up", "id", it.p.ID, "reason", giveUpUnreadable)
		q.finish(ctx, it)
	}
	return nil
}
