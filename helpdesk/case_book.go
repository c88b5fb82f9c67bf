package helpdesk

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// KindCase is the record kind cases are stored under.
const KindCase = "case"

// PilgrimLookup finds a registered pilgrim. *Registry implements it.
type PilgrimLookup interface {
	Pilgrim(pid string) (registry.Pilgrim, bool)
}

// Router finds the walk to a tent. *geo.Index implements it.
type Router interface {
	Route(from geo.Point, tentID string) (geo.Route, error)
}

// CaseDeps are what a CaseBook works with. Store and Pilgrims are required.
type CaseDeps struct {
	Store    dalil.RecordStore
	Pilgrims PilgrimLookup
	// Live gives the pilgrim's newest position when a case opens (optional).
	Live LiveLookup
	// Router offers the walk to the assigned tent once located (optional).
	Router Router
	// Publisher receives an EventCase for every change: the websocket hub,
	// the webhook notifier (optional).
	Publisher dalil.Publisher
	Logger    *slog.Logger
	// Now is the clock (optional, for tests).
	Now func() time.Time
}

// CaseBook keeps every lost-pilgrim case, in memory and in the store (records
// of kind "case"). It is safe for concurrent use. Every change is written to
// the store before it becomes visible, so a case survives a restart with its
// whole timeline.
type CaseBook struct {
	d CaseDeps

	// wmu serialises writers (so that the store sees changes in order)
	// while readers only wait for mu's brief pointer swaps.
	wmu    sync.Mutex
	mu     sync.RWMutex
	cases  map[string]*Case // immutable snapshots: a change swaps the pointer
	seq    uint64
	active atomic.Pointer[map[string][]string] // PID → IDs of its active cases
}

// LoadCaseBook reads every case from the store.
func LoadCaseBook(ctx context.Context, d CaseDeps) (*CaseBook, error) {
	if d.Store == nil || d.Pilgrims == nil {
		return nil, fmt.Errorf("tracking: CaseDeps.Store and CaseDeps.Pilgrims are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	b := &CaseBook{d: d, cases: map[string]*Case{}}
	err := d.Store.ScanRecords(ctx, KindCase, func(id string, data []byte) error {
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("case %s: %w", id, err)
		}
		b.cases[c.ID] = &c
		if n, err := strconv.ParseUint(strings.TrimPrefix(c.ID, "C"), 10, 64); err == nil && n > b.seq {
			b.seq = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cases: %w", err)
	}
	b.refreshActive()
	return b, nil
}

// SetPublisher sets where case events go (when the hub is made after the book).
func (b *CaseBook) SetPublisher(p dalil.Publisher) {
	b.wmu.Lock()
	b.d.Publisher = p
	b.wmu.Unlock()
}

// SetLive sets where the pilgrim's last known position is read from when a
// case opens (when the engine is made after the book).
func (b *CaseBook) SetLive(l LiveLookup) {
	b.wmu.Lock()
	b.d.Live = l
	b.wmu.Unlock()
}

// refreshActive rebuilds the PID → active cases map the locator reads
// without locking. Called with wmu held (or before the book is shared).
func (b *CaseBook) refreshActive() {
	m := map[string][]string{}
	b.mu.RLock()
	for _, c := range b.cases {
		if c.State.Active() {
			m[c.Pilgrim] = append(m[c.Pilgrim], c.ID)
		}
	}
	b.mu.RUnlock()
	for _, ids := range m {
		slices.Sort(ids)
	}
	b.active.Store(&m)
}

// HasActive reports, without locking, whether pid has an open, located or
// escorted case. The locator calls it on every position update.
func (b *CaseBook) HasActive(pid string) bool {
	m := b.active.Load()
	return m != nil && len((*m)[pid]) > 0
}

// Get returns a case by ID.
func (b *CaseBook) Get(id string) (Case, bool) {
	b.mu.RLock()
	c, ok := b.cases[id]
	b.mu.RUnlock()
	if !ok {
		return Case{}, false
	}
	return *c.clone(), true
}

// List returns the cases that match f, newest first.
func (b *CaseBook) List(f CaseFilter) []Case {
	b.mu.RLock()
	var out []Case
	for _, c := range b.cases {
		if f.match(c) {
			out = append(out, *c.clone())
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(a, b Case) int {
		if c := b.Opened.Compare(a.Opened); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

// Open opens a case for a registered pilgrim. by names who opened it
// ("operator:desk-3", "guide:G12", "pilgrim:PID" for an SOS). A pilgrim
// who already has an active case does not get a second one: the report is
// added to that case's timeline instead (see OpenOrJoin).
func (b *CaseBook) Open(ctx context.Context, req CaseRequest, by string) (Case, error) {
	c, _, err := b.OpenOrJoin(ctx, req, by)
	return c, err
}

// OpenOrJoin is Open that also says whether a new case was created (false:
// the report joined the pilgrim's newest active case as a "reported" line).
func (b *CaseBook) OpenOrJoin(ctx context.Context, req CaseRequest, by string) (Case, bool, error) {
	switch req.Kind {
	case "":
		req.Kind = CaseLostPilgrim
	case CaseLostPilgrim, CaseSOS:
	default:
		return Case{}, false, fieldErr(ErrInvalidCase, "kind", "unknown case kind %q (want lost_pilgrim or sos)", req.Kind)
	}
	if req.Pilgrim == "" {
		return Case{}, false, fieldErr(ErrInvalidCase, "pilgrim", "pilgrim is required")
	}
	p, ok := b.d.Pilgrims.Pilgrim(req.Pilgrim)
	if !ok {
		return Case{}, false, fieldErr(dalil.ErrNotFound, "pilgrim", "no pilgrim with PID %q", req.Pilgrim)
	}
	for field, v := range map[string]string{"reported_by": req.ReportedBy, "last_seen_place": req.LastSeenPlace, "note": req.Note, "assignee": req.Assignee} {
		if len(v) > 2000 {
			return Case{}, false, fieldErr(ErrInvalidCase, field, "%s is longer than 2000 bytes", field)
		}
	}
	now := b.d.Now().UTC()
	c := &Case{
		Kind: req.Kind, Pilgrim: p.PID, Group: p.Group, ReportedBy: req.ReportedBy,
		LastSeenPlace: req.LastSeenPlace, Note: req.Note, State: CaseOpen, Assignee: req.Assignee,
		OpenedBy: by, Opened: now, Updated: now,
	}

	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.d.Live != nil {
		if st, ok := b.d.Live.Pilgrim(p.PID); ok {
			c.LastKnown = casePlaceOf(&st)
		}
	}
	c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionOpened, State: CaseOpen, Note: req.Note, Place: c.LastKnown})
	if req.Assignee != "" {
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionAssigned, State: CaseOpen, Note: "assigned to " + req.Assignee})
	}
	c.ID = fmt.Sprintf("C%06d", b.seq+1)
	if ids := b.activeIDs(p.PID); len(ids) > 0 {
		j, err := b.joinLocked(ctx, ids[len(ids)-1], req, by, now)
		return j, false, err
	}
	if err := b.commit(ctx, c); err != nil {
		return Case{}, false, err
	}
	b.seq++
	b.publish(c, "opened")
	return *c.clone(), true, nil
}

// ActionReported marks a second report of a pilgrim who already has an
// active case.
const ActionReported = "reported"

func (b *CaseBook) activeIDs(pid string) []string {
	if m := b.active.Load(); m != nil {
		return (*m)[pid]
	}
	return nil
}

// joinLocked adds a repeated report to an active case. Called with wmu held.
func (b *CaseBook) joinLocked(ctx context.Context, id string, req CaseRequest, by string, now time.Time) (Case, error) {
	b.mu.RLock()
	old := b.cases[id]
	b.mu.RUnlock()
	c := old.clone()
	note := "reported again"
	if req.ReportedBy != "" {
		note += " by " + req.ReportedBy
	}
	if req.LastSeenPlace != "" {
		note += "; last seen at " + req.LastSeenPlace
	}
	if req.Note != "" {
		note += "; " + req.Note
	}
	c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionReported, State: c.State, Note: note})
	c.Updated = now
	if err := b.commit(ctx, c); err != nil {
		return Case{}, err
	}
	b.publish(c, "reported")
	return *c.clone(), nil
}

// Transition moves a case to another state (see CheckTransition).
func (b *CaseBook) Transition(ctx context.Context, id string, to CaseState, by, note string) (Case, error) {
	return b.change(ctx, id, func(c *Case, now time.Time) (string, error) {
		if err := CheckTransition(c.State, to); err != nil {
			return "", err
		}
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionTransition, From: c.State, State: to, Note: note})
		c.State = to
		return string(to), nil
	})
}

// Assign gives a case to an operator ("" unassigns it).
func (b *CaseBook) Assign(ctx context.Context, id, operator, by string) (Case, error) {
	return b.change(ctx, id, func(c *Case, now time.Time) (string, error) {
		if c.State.Terminal() {
			return "", fmt.Errorf("%w: the case is %s", ErrInvalidTransition, c.State)
		}
		note := "assigned to " + operator
		if operator == "" {
			note = "unassigned"
		}
		c.Assignee = operator
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionAssigned, State: c.State, Note: note})
		return "assigned", nil
	})
}

// AddNote appends a note to a case's timeline.
func (b *CaseBook) AddNote(ctx context.Context, id, by, note string) (Case, error) {
	return b.change(ctx, id, func(c *Case, now time.Time) (string, error) {
		if strings.TrimSpace(note) == "" {
			return "", fieldErr(ErrInvalidCase, "note", "note is empty")
		}
		c.Timeline = append(c.Timeline, CaseEntry{Time: now, By: by, Action: ActionNote, State: c.State, Note: note})
		return "note", nil
	})
}

// errNoChange tells change that fn left the case as it was.
var errNoChange = errors.New("no change")

// change applies fn to a copy of case id, stores it and swaps it in.
// fn returns the event detail, or "" to store without publishing, or
// errNoChange to leave the case alone.
func (b *CaseBook) change(ctx context.Context, id string, fn func(c *Case, now time.Time) (string, error)) (Case, error) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.RLock()
	old, ok := b.cases[id]
	b.mu.RUnlock()
	if !ok {
		return Case{}, fieldErr(dalil.ErrNotFound, "id", "no case %q", id)
	}
	c := old.clone()
	now := b.d.Now().UTC()
	detail, err := fn(c, now)
	if err == errNoChange {
		return *old.clone(), nil
	}
	if err != nil {
		return Case{}, err
	}
	c.Updated = now
	if err := b.commit(ctx, c); err != nil {
		return Case{}, err
	}
	if detail != "" {
		b.publish(c, detail)
	}
	return *c.clone(), nil
}

// commit stores c and makes it visible. Called with wmu held.
func (b *CaseBook) commit(ctx context.Context, c *Case) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := b.d.Store.PutRecords(ctx, KindCase, []dalil.Record{{ID: c.ID, Data: data}}); err != nil {
		return fmt.Errorf("store case %s: %w", c.ID, err)
	}
	b.mu.Lock()
	old := b.cases[c.ID]
	b.cases[c.ID] = c
	b.mu.Unlock()
	if old == nil || old.State.Active() != c.State.Active() {
		b.refreshActive()
	}
	return nil
}

// publish sends an EventCase for c. Detail is "<what>: <state>[ at <where>]".
func (b *CaseBook) publish(c *Case, what string) {
	if b.d.Publisher == nil {
		return
	}
	ev := &dalil.Event{Kind: dalil.EventCase, Time: c.Updated, Pilgrim: c.Pilgrim, Group: c.Group, Case: c.ID,
		Detail: what + ": " + string(c.State)}
	if c.Place != nil {
		ev.Site, ev.Camp, ev.Tent = c.Place.Site, c.Place.Camp, c.Place.Tent
		ev.Detail += " at " + c.Place.Where
	}
	b.d.Publisher.Publish(dalil.Update{Event: ev})
}

// casePlaceOf describes a live state as a case place.
func casePlaceOf(st *dalil.LiveState) *CasePlace {
	return &CasePlace{
		Time: st.Position.Time.UTC(), Device: st.Device, Source: st.Position.Source.String(),
		Lat: st.Position.Lat, Lon: st.Position.Lon, Accuracy: st.Position.Accuracy,
		Site: st.Location.Site, Camp: st.Location.Camp, Tent: st.Location.Tent,
		Where: st.Location.Describe(),
	}
}
