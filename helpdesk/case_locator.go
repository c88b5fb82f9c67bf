package helpdesk

import (
	"context"
	"sync"
	"time"

	"dalil"
	"dalil/geo"
)

// Thresholds for following a located pilgrim: a new timeline line only when
// the camp or tent changes, a stored place at most this often otherwise.
const (
	caseFollowEvery = time.Minute
	// caseLocateSlack lets a position taken just before the case was opened
	// still locate it (the report took a while to file).
	caseLocateSlack = 2 * time.Minute
)

// Observe records a pilgrim's new position in their active cases: an open
// case becomes located (with the place and the walk to the assigned tent), a
// located or escorted case follows the pilgrim. It does store I/O; the
// CaseLocator calls it off the ingest path.
func (b *CaseBook) Observe(ctx context.Context, st dalil.LiveState) error {
	if st.Pilgrim == "" || !b.HasActive(st.Pilgrim) {
		return nil
	}
	ids := (*b.active.Load())[st.Pilgrim]
	var firstErr error
	for _, id := range ids {
		_, err := b.change(ctx, id, func(c *Case, now time.Time) (string, error) {
			return b.observeCase(c, &st, now)
		})
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// observeCase applies one position to one case and returns the event detail
// ("" to store quietly) or errNoChange.
func (b *CaseBook) observeCase(c *Case, st *dalil.LiveState, now time.Time) (string, error) {
	if !c.State.Active() {
		return "", errNoChange
	}
	if st.Position.Time.Before(c.Opened.Add(-caseLocateSlack)) {
		return "", errNoChange // an old fix (an offline buffer flushed): not news
	}
	if c.Place != nil && !st.Position.Time.After(c.Place.Time) {
		return "", errNoChange
	}
	place := casePlaceOf(st)
	by := "system:" + place.Source
	switch {
	case c.State == CaseOpen:
		c.Place = place
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionLocated, From: CaseOpen,
			State: CaseLocated, Place: place, Note: "seen at " + place.Where})
		c.State = CaseLocated
		b.routeCase(c)
		return "located", nil
	case c.Place == nil || c.Place.Camp != place.Camp || c.Place.Tent != place.Tent:
		c.Place = place
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionSeen, State: c.State,
			Place: place, Note: "seen at " + place.Where})
		b.routeCase(c)
		return "seen", nil
	case place.Time.Sub(c.Place.Time) >= caseFollowEvery:
		c.Place = place
		b.routeCase(c)
		return "", nil // same camp and tent: keep the position current, quietly
	}
	return "", errNoChange
}

// routeCase offers the walk from the case's place to the assigned tent.
func (b *CaseBook) routeCase(c *Case) {
	if b.d.Router == nil || c.Place == nil {
		return
	}
	p, ok := b.d.Pilgrims.Pilgrim(c.Pilgrim)
	if !ok || p.Tent == "" {
		return
	}
	from := geo.Point{Lat: c.Place.Lat, Lon: c.Place.Lon}
	r, err := WalkToTent(b.d.Router, from, c.Place.Camp, p.Tent)
	if err != nil {
		b.d.Logger.Warn("case route", "case", c.ID, "tent", p.Tent, "err", err)
		c.Route = nil
		return
	}
	c.Route = caseRouteOf(r)
}

// WalkToTent finds the walk from a point to a tent. When the router cannot
// start from the point itself (it lies inside a tent of camp inCamp, say),
// the walk starts at that camp's gate nearest to the point, with the step
// from the point to the gate added. *geo.Index gives the layout for that.
func WalkToTent(rt Router, from geo.Point, inCamp, tent string) (geo.Route, error) {
	r, err := rt.Route(from, tent)
	if err == nil {
		return r, nil
	}
	return routeViaGate(rt, from, inCamp, tent, err)
}

func routeViaGate(rt Router, from geo.Point, camp, tent string, direct error) (geo.Route, error) {
	lr, ok := rt.(interface{ Layout() *geo.Layout })
	if !ok || camp == "" {
		return geo.Route{}, direct
	}
	c, ok := lr.Layout().Camp(camp)
	if !ok || len(c.Gates) == 0 {
		return geo.Route{}, direct
	}
	gate := c.Gates[0]
	for _, g := range c.Gates[1:] {
		if geo.DistanceM(from, g) < geo.DistanceM(from, gate) {
			gate = g
		}
	}
	r, err := rt.Route(gate, tent)
	if err != nil {
		return r, err
	}
	first := geo.DistanceM(from, gate)
	r.Path = append([]geo.Point{from}, r.Path...)
	r.LengthM += first
	if r.LengthM > first {
		r.WalkSeconds *= r.LengthM / (r.LengthM - first)
	}
	r.StraightM = geo.DistanceM(from, r.Path[len(r.Path)-1])
	r.BearingDeg = geo.BearingDeg(from, r.Path[len(r.Path)-1])
	return r, nil
}

// CaseLocator auto-locates cases: it is a Publisher on the tracking engine
// that picks out position updates of pilgrims with an active case and hands
// them to a goroutine (Run), which updates the cases. Publish never blocks
// and never does I/O: updates are coalesced to the newest per pilgrim, so
// the queue is bounded by the number of pilgrims with active cases.
type CaseLocator struct {
	book *CaseBook
	mu   sync.Mutex // guards pending; held only to swap a map entry
	// pending holds the newest unprocessed state per pilgrim.
	pending map[string]dalil.LiveState
	wake    chan struct{}
}

// NewCaseLocator returns a locator for book; start Run before ingest.
func NewCaseLocator(book *CaseBook) *CaseLocator {
	return &CaseLocator{book: book, pending: map[string]dalil.LiveState{}, wake: make(chan struct{}, 1)}
}

// Publish implements Publisher.
func (l *CaseLocator) Publish(u dalil.Update) {
	st := u.State
	if st == nil || st.Pilgrim == "" || !l.book.HasActive(st.Pilgrim) {
		return
	}
	l.mu.Lock()
	if old, ok := l.pending[st.Pilgrim]; !ok || !st.Position.Time.Before(old.Position.Time) {
		l.pending[st.Pilgrim] = *st
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run processes located pilgrims until ctx ends.
func (l *CaseLocator) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.wake:
		}
		l.mu.Lock()
		batch := l.pending
		l.pending = make(map[string]dalil.LiveState, len(batch))
		l.mu.Unlock()
		for _, st := range batch {
			if err := l.book.Observe(ctx, st); err != nil {
				l.book.d.Logger.Warn("case locate", "pilgrim", st.Pilgrim, "err", err)
			}
		}
	}
}
