package helpdesk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"dalil"
	"dalil/tracking"
)

type hdClock struct{ t time.Time }

func (c *hdClock) now() time.Time      { return c.t }
func (c *hdClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newHDClock(t time.Time) *hdClock  { return &hdClock{t} }
func hdT0() time.Time                  { return time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC) }
func hdOpen(b *CaseBook, pid string) Case {
	c, _ := b.Open(context.Background(), CaseRequest{Pilgrim: pid}, "operator:desk-1")
	return c
}
func hdLoadBook(t *testing.T, w *hdWorld, clk *hdClock, pub dalil.Publisher) *CaseBook {
	t.Helper()
	b, err := LoadCaseBook(context.Background(), CaseDeps{Store: w.st, Pilgrims: w.reg, Router: w.ix, Publisher: pub, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckTransition(t *testing.T) {
	ok := [][2]CaseState{
		{CaseOpen, CaseLocated}, {CaseLocated, CaseEscorted}, {CaseEscorted, CaseReunited}, {CaseReunited, CaseClosed},
		{CaseOpen, CaseReunited}, {CaseOpen, CaseCancelled}, {CaseEscorted, CaseCancelled}, {CaseReunited, CaseCancelled},
	}
	bad := [][2]CaseState{
		{CaseLocated, CaseOpen}, {CaseReunited, CaseEscorted}, {CaseOpen, CaseClosed}, {CaseEscorted, CaseClosed},
		{CaseClosed, CaseCancelled}, {CaseCancelled, CaseOpen}, {CaseClosed, CaseOpen}, {CaseOpen, CaseOpen},
		{CaseOpen, "found"},
	}
	for _, p := range ok {
		if err := CheckTransition(p[0], p[1]); err != nil {
			t.Errorf("%s → %s refused: %v", p[0], p[1], err)
		}
	}
	for _, p := range bad {
		if err := CheckTransition(p[0], p[1]); !errors.Is(err, ErrInvalidTransition) {
			t.Errorf("%s → %s = %v, want ErrInvalidTransition", p[0], p[1], err)
		}
	}
}

func TestCaseLifecycleAndRestart(t *testing.T) {
	ctx := context.Background()
	w := newHDWorld(t)
	clk := newHDClock(hdT0())
	ev := &hdEvents{}
	b := hdLoadBook(t, w, clk, ev)

	if _, err := b.Open(ctx, CaseRequest{Pilgrim: "NOBODY"}, "operator:x"); !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("unknown PID: %v", err)
	} else if fe := (*FieldError)(nil); !errors.As(err, &fe) || fe.Field != "pilgrim" {
		t.Fatalf("unknown PID error does not name the field: %v", err)
	}
	if _, err := b.Open(ctx, CaseRequest{Kind: "stolen", Pilgrim: "M1"}, "operator:x"); !errors.Is(err, ErrInvalidCase) {
		t.Fatalf("bad kind: %v", err)
	}

	c, err := b.Open(ctx, CaseRequest{Pilgrim: "M1", ReportedBy: "son, +8801812000000", LastSeenPlace: "Jamarat level 2", Note: "elderly, no phone"}, "guide:G1")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.State != CaseOpen || c.Group != "G1" || len(c.Timeline) != 1 || c.Timeline[0].By != "guide:G1" {
		t.Fatalf("opened case = %+v", c)
	}
	if !b.HasActive("M1") || b.HasActive("M2") {
		t.Fatal("HasActive wrong after open")
	}
	clk.add(time.Minute)
	if _, err := b.Assign(ctx, c.ID, "operator:desk-7", "operator:desk-1"); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	if _, err := b.Transition(ctx, c.ID, CaseClosed, "operator:desk-7", "done?"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("open → closed allowed: %v", err)
	}
	if _, err := b.Transition(ctx, "C999999", CaseLocated, "x", ""); !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}
	for _, to := range []CaseState{CaseLocated, CaseEscorted, CaseReunited} {
		clk.add(time.Minute)
		if _, err := b.Transition(ctx, c.ID, to, "operator:desk-7", "step "+string(to)); err != nil {
			t.Fatal(err)
		}
	}
	if b.HasActive("M1") {
		t.Fatal("a reunited case is still active")
	}
	if _, err := b.Transition(ctx, c.ID, CaseEscorted, "operator:desk-7", ""); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("reunited → escorted allowed: %v", err)
	}
	c2 := hdOpen(b, "M2")
	// A second report of M2 joins the open case instead of opening another.
	j, created, err := b.OpenOrJoin(ctx, CaseRequest{Pilgrim: "M2", ReportedBy: "brother", Note: "wearing a white ihram"}, "operator:desk-2")
	if err != nil || created || j.ID != c2.ID || j.Timeline[len(j.Timeline)-1].Action != ActionReported {
		t.Fatalf("second report: created=%v %+v %v", created, j, err)
	}

	// Restart: a new book over the same store has both cases, the full
	// timeline, and keeps numbering after the last ID.
	b2 := hdLoadBook(t, w, clk, nil)
	got, ok := b2.Get(c.ID)
	if !ok {
		t.Fatal("case lost on restart")
	}
	var actions []string
	for _, e := range got.Timeline {
		actions = append(actions, e.Action+":"+string(e.State))
	}
	want := "opened:open assigned:open transition:located transition:escorted transition:reunited"
	if strings.Join(actions, " ") != want || got.Assignee != "operator:desk-7" || got.ReportedBy != "son, +8801812000000" {
		t.Fatalf("after restart: %v assignee %q", actions, got.Assignee)
	}
	if !b2.HasActive("M2") {
		t.Fatal("active index not rebuilt on load")
	}
	c3 := hdOpen(b2, "M3")
	if c3.ID <= c2.ID {
		t.Fatalf("IDs reused after restart: %s after %s", c3.ID, c2.ID)
	}
	if _, err := b2.Transition(ctx, c.ID, CaseClosed, "operator:desk-7", "family confirmed"); err != nil {
		t.Fatal(err)
	}
	if n := len(b2.List(CaseFilter{State: CaseOpen})); n != 2 {
		t.Fatalf("open cases = %d, want 2", n)
	}
	// Events: every change published with the case ID and the group.
	var n int
	for _, e := range ev.list() {
		if e.Kind != dalil.EventCase || e.Case == "" || e.Group != "G1" {
			t.Fatalf("bad case event %+v", e)
		}
		n++
	}
	if n != 7 { // open, assign, 3 transitions, open M2, second report of M2
		t.Fatalf("%d case events, want 6", n)
	}
}

func TestCaseStoreFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	w := newHDWorld(t)
	b := hdLoadBook(t, w, newHDClock(hdT0()), nil)
	c := hdOpen(b, "M1")
	w.st.FailPutKind[KindCase] = true
	if _, err := b.Transition(ctx, c.ID, CaseLocated, "x", ""); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("store failure: %v", err)
	}
	if got, _ := b.Get(c.ID); got.State != CaseOpen || len(got.Timeline) != 1 {
		t.Fatalf("failed change is visible: %+v", got)
	}
	if _, err := b.Open(ctx, CaseRequest{Pilgrim: "M2"}, "x"); err == nil {
		t.Fatal("open succeeded with the store down")
	}
	w.st.FailPutKind[KindCase] = false
	c2 := hdOpen(b, "M2")
	if c2.ID != "C000002" {
		t.Fatalf("failed open consumed an ID: %s", c2.ID)
	}
}

func TestCaseAutoLocate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newHDWorld(t)
	clk := newHDClock(time.Now().UTC())
	ev := &hdEvents{}
	b := hdLoadBook(t, w, clk, ev)
	loc := NewCaseLocator(b)
	go loc.Run(ctx)
	eng := tracking.NewEngine(tracking.DefaultEngineConfig(), w.st, w.reg, w.ix, loc, nil)
	b.SetLive(eng)

	// A ping before any case: nothing happens.
	far := w.other.Polygon.Centroid()
	if err := eng.Accept(ctx, []dalil.Position{hdPing("ph-M1", far, clk.t.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	c, err := b.Open(ctx, CaseRequest{Pilgrim: "M1", Note: "lost near Jamarat"}, "operator:desk-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastKnown == nil || c.LastKnown.Camp != w.other.ID {
		t.Fatalf("last known place not recorded at open: %+v", c.LastKnown)
	}
	// An old buffered fix does not locate the case.
	loc.Publish(dalil.Update{State: &dalil.LiveState{Device: "ph-M1", Pilgrim: "M1", Position: hdPing("ph-M1", far, clk.t.Add(-30*time.Minute))}})
	// A fresh ping in the other camp does.
	if err := eng.Accept(ctx, []dalil.Position{hdPing("ph-M1", far, clk.t.Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	hdWaitFor(t, "case located", func() bool { got, _ := b.Get(c.ID); return got.State == CaseLocated })
	got, _ := b.Get(c.ID)
	if got.Place == nil || got.Place.Camp != w.other.ID || got.Place.Where == "" {
		t.Fatalf("place = %+v", got.Place)
	}
	p, _ := w.reg.Pilgrim("M1")
	if got.Route == nil || got.Route.Tent != p.Tent || got.Route.LengthM < 500 || len(got.Route.Path) < 2 {
		t.Fatalf("route = %+v", got.Route)
	}
	last := got.Timeline[len(got.Timeline)-1]
	if last.Action != ActionLocated || last.From != CaseOpen || last.Place == nil {
		t.Fatalf("timeline end = %+v", last)
	}
	hdWaitFor(t, "located event", func() bool {
		for _, e := range ev.list() {
			if e.Kind == dalil.EventCase && e.Case == c.ID && strings.HasPrefix(e.Detail, "located") && e.Camp == w.other.ID {
				return true
			}
		}
		return false
	})
	// The located pilgrim walks into their own camp: the case follows, a
	// "seen" line is added, the state stays located.
	if err := eng.Accept(ctx, []dalil.Position{hdPing("ph-M1", w.tentPoint(1), clk.t.Add(2*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	hdWaitFor(t, "case follows", func() bool { got, _ := b.Get(c.ID); return got.Place != nil && got.Place.Camp == w.camp.ID })
	got, _ = b.Get(c.ID)
	if got.State != CaseLocated || got.Timeline[len(got.Timeline)-1].Action != ActionSeen {
		t.Fatalf("after moving: %s %+v", got.State, got.Timeline[len(got.Timeline)-1])
	}
	// Another pilgrim's pings never touch the case.
	before := len(got.Timeline)
	if err := eng.Accept(ctx, []dalil.Position{hdPing("ph-M2", far, clk.t.Add(3*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if got, _ := b.Get(c.ID); len(got.Timeline) != before {
		t.Fatal("another pilgrim's ping changed the case")
	}
}

func TestHandover(t *testing.T) {
	ctx := context.Background()
	w := newHDWorld(t)
	clk := newHDClock(hdT0())
	b := hdLoadBook(t, w, clk, nil)
	a := hdOpen(b, "M1") // will be assigned and located
	clk.add(time.Minute)
	u := hdOpen(b, "M2") // stays unassigned
	clk.add(time.Minute)
	d := hdOpen(b, "M3") // closed: not in the handover
	b.Assign(ctx, a.ID, "operator:desk-2", "x")
	b.Transition(ctx, a.ID, CaseLocated, "x", "")
	b.Transition(ctx, d.ID, CaseCancelled, "x", "duplicate")
	clk.add(2 * time.Hour)
	h := b.Handover()
	if len(h) != 2 || h[0].Case != u.ID || h[1].Case != a.ID {
		t.Fatalf("handover order = %+v", h)
	}
	if !strings.HasPrefix(h[0].Next, "assign an operator") || !strings.Contains(h[0].Next, "no news for") {
		t.Fatalf("unassigned next = %q", h[0].Next)
	}
	if !strings.Contains(h[1].Next, "escort") || !strings.Contains(h[1].Next, h[1].Tent) || h[1].Name != "Member 1" {
		t.Fatalf("located next = %+v", h[1])
	}
}
