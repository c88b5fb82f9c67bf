package tracking

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Rebuild restores the live state from the store's newest position of every
// device (call it at start, before ingest). It raises no events and
// publishes nothing: the first fix of each pilgrim sets their confirmed
// site, camp and tent. In-memory trails start with that one fix.
func (e *Engine) Rebuild(ctx context.Context) error {
	start := time.Now()
	ap := applier{e: e}
	n := 0
	err := e.st.Latest(ctx, func(p Position) error {
		ap.apply(&p)
		n++
		if n&0xfff == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild live state: %w", err)
	}
	if ap.invalid > 0 {
		e.counters.invalid.Add(ap.invalid)
	}
	e.log.Info("live state rebuilt", "positions", n, "devices", e.nDevices.Load(),
		"pilgrims", e.nPilgrims.Load(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// maybeReconcile brings the live state in line with the registry after an
// import or a device rebinding. It runs on the next Accept or query after
// the change; a caller that finds another goroutine reconciling goes on
// without waiting.
func (e *Engine) maybeReconcile() {
	if e.regSeen.Load() == e.reg.Version() {
		return
	}
	if !e.reconcileMu.TryLock() {
		return
	}
	defer e.reconcileMu.Unlock()
	v := e.reg.Version()
	if e.regSeen.Load() == v {
		return
	}
	e.reconcile()
	e.regSeen.Store(v)
}

type movedDevice struct {
	d   *devState
	key subjectKey
	o   DeviceOwner
}

// reconcile refreshes each live device's kind, pilgrim and group from the
// registry and moves a device bound to another pilgrim over, keeping its
// newest fix and trail. It locks one shard at a time.
func (e *Engine) reconcile() {
	var movers []movedDevice
	for _, sh := range e.shards {
		sh.mu.Lock()
		for _, s := range sh.subjects {
			for _, d := range slices.Clone(s.devs) {
				key, o := e.keyOf(d.id)
				d.kind = o.Kind
				if key == s.key {
					if key.device {
						s.luggage = o.Luggage
					} else {
						s.group = o.Group
						s.prior = e.reg.Home(s.pilgrim)
					}
					continue
				}
				e.detach(sh, d)
				e.forget(d)
				movers = append(movers, movedDevice{d: d, key: key, o: o})
			}
		}
		sh.mu.Unlock()
	}
	for _, m := range movers {
		sh := e.shardOf(m.key)
		sh.mu.Lock()
		// nil when a newer ping has recreated the device already.
		if nd := e.newDevice(sh, m.d.id, m.key, m.o); nd != nil {
			nd.fix, nd.place, nd.recv, nd.trail = m.d.fix, m.d.place, m.d.recv, m.d.trail
			s := nd.subj
			s.best = s.pickBest(e.window, e.cfg.BestAccuracyRatio, e.cfg.UnknownAccuracyM)
			e.reindex(sh, s)
			if !s.hy.init && s.best != nil {
				loc := e.locate(s.best)
				var evs eventBuf
				s.hy.observe(&loc, s.best.fix.acc, time.Time{}, Event{}, &e.rules, &evs)
			}
		}
		sh.mu.Unlock()
	}
	if len(movers) > 0 {
		e.log.Info("live devices moved to their new owners", "devices", len(movers))
	}
}

// detach removes a device from its subject in a locked shard, dropping the
// subject when it has no device left.
func (e *Engine) detach(sh *engineShard, d *devState) {
	s := d.subj
	for i, x := range s.devs {
		if x == d {
			s.devs = append(s.devs[:i], s.devs[i+1:]...)
			break
		}
	}
	if len(s.devs) == 0 {
		sh.unindex(s)
		delete(sh.subjects, s.key)
		e.nSubjects.Add(-1)
		if !s.key.device {
			e.nPilgrims.Add(-1)
		}
		return
	}
	if s.best == d {
		s.best = s.pickBest(e.window, e.cfg.BestAccuracyRatio, e.cfg.UnknownAccuracyM)
		e.reindex(sh, s)
	}
}

// RunRetention deletes position history older than maxAge every interval
// (first at once) until ctx ends; see Retain.
func (e *Engine) RunRetention(ctx context.Context, maxAge time.Duration, every time.Duration) {
	if maxAge <= 0 {
		return
	}
	if every <= 0 {
		every = time.Hour
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := e.Retain(ctx, time.Now().Add(-maxAge)); err != nil && ctx.Err() == nil {
			e.log.Warn("retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Retain deletes stored positions older than before and forgets live
// devices whose newest fix is older too (and older trail points), so memory
// follows the store. It returns how many stored positions were deleted.
func (e *Engine) Retain(ctx context.Context, before time.Time) (int64, error) {
	n, err := e.st.DeletePositionsBefore(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	cut := before.UnixNano()
	dropped := 0
	for _, sh := range e.shards {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		sh.mu.Lock()
		for _, s := range sh.subjects {
			for _, d := range slices.Clone(s.devs) {
				if d.fix.t < cut {
					e.detach(sh, d)
					e.forget(d)
					dropped++
					continue
				}
				d.trail.dropBefore(cut)
			}
		}
		sh.mu.Unlock()
	}
	e.log.Info("retention", "before", before.UTC().Format(time.RFC3339), "positions_deleted", n, "live_devices_dropped", dropped)
	return n, nil
}

// EngineStats are the engine's counters.
type EngineStats struct {
	Devices     int    `json:"devices"`      // live devices
	Pilgrims    int    `json:"pilgrims"`     // pilgrims with a live position
	Subjects    int    `json:"subjects"`     // pilgrims plus lone devices (luggage tags, unregistered ids)
	Stale       int    `json:"stale"`        // subjects whose best fix is older than StaleAfter
	Accepted    uint64 `json:"accepted"`     // pings stored and applied since start
	OutOfOrder  uint64 `json:"out_of_order"` // stored, older than the live fix
	Duplicates  uint64 `json:"duplicates"`   // stored, same time as the live fix
	Invalid     uint64 `json:"invalid"`      // stored but not applied: bad coordinates or no time
	Events      uint64 `json:"events"`       // boundary events raised
	Published   uint64 `json:"published"`    // updates handed to the publisher
	StoreErrors uint64 `json:"store_errors"` // batches refused because the store failed
}

// Stats returns the counters; Stale walks the live state (milliseconds at
// two million devices).
func (e *Engine) Stats() EngineStats {
	st := EngineStats{
		Devices:     int(e.nDevices.Load()),
		Pilgrims:    int(e.nPilgrims.Load()),
		Subjects:    int(e.nSubjects.Load()),
		Accepted:    e.counters.accepted.Load(),
		OutOfOrder:  e.counters.outOfOrder.Load(),
		Duplicates:  e.counters.duplicates.Load(),
		Invalid:     e.counters.invalid.Load(),
		Events:      e.counters.events.Load(),
		Published:   e.counters.published.Load(),
		StoreErrors: e.counters.storeErrors.Load(),
	}
	cut := time.Now().Add(-e.cfg.StaleAfter).UnixNano()
	for _, sh := range e.shards {
		sh.mu.RLock()
		for _, s := range sh.subjects {
			if s.best != nil && s.best.fix.t < cut {
				st.Stale++
			}
		}
		sh.mu.RUnlock()
	}
	return st
}
