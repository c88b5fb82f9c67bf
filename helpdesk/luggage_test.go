package helpdesk

import (
	"context"
	"errors"
	"testing"

	"dalil"
)

func hdLuggage(t *testing.T, w *hdWorld) *LuggageDesk {
	t.Helper()
	l, err := LoadLuggageDesk(context.Background(), LuggageDeps{Store: w.st, Pilgrims: w.reg, Devices: w.reg, Now: newHDClock(hdT0()).now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLuggageWorkflowAndRestart(t *testing.T) {
	ctx := context.Background()
	w := newHDWorld(t)
	l := hdLuggage(t, w)

	if _, err := l.Register(ctx, LuggageRequest{Tag: "BG-1", Owner: "NOBODY"}, "op"); !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}
	if _, err := l.Register(ctx, LuggageRequest{Tag: " - ", Owner: "M1"}, "op"); !errors.Is(err, ErrInvalidLuggage) {
		t.Fatalf("empty tag: %v", err)
	}
	if _, err := l.Register(ctx, LuggageRequest{Tag: "BG-1", Owner: "M1", Tracker: "ph-M2"}, "op"); !errors.Is(err, ErrInvalidLuggage) {
		t.Fatalf("a pilgrim's phone accepted as a bag tracker: %v", err)
	}
	bag, err := l.Register(ctx, LuggageRequest{Tag: "bg 123-456", Owner: "M1", Description: "Green suitcase with red ribbon, wheels", Tracker: "lt-9"}, "op")
	if err != nil {
		t.Fatal(err)
	}
	if bag.Tag != "BG123456" || bag.Status != LuggageRegistered {
		t.Fatalf("bag = %+v", bag)
	}
	if d, ok := w.reg.Device("lt-9"); !ok || d.Luggage != "BG123456" || d.Kind != dalil.DeviceLuggageTag {
		t.Fatalf("tracker not bound: %+v %v", d, ok)
	}
	other, _ := l.Register(ctx, LuggageRequest{Tag: "BG-2", Owner: "M2", Description: "black backpack"}, "op")
	if _, err := l.ReportLost(ctx, "BG123456", "Mina camp gate", "last seen on the bus", "pilgrim:M1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ReportLost(ctx, "bg-123456", "", "", "x"); !errors.Is(err, ErrLuggageConflict) {
		t.Fatalf("lost twice: %v", err)
	}
	l.ReportLost(ctx, other.Tag, "", "", "x")

	// A found green suitcase without its tag: suggested by description.
	f, sug, err := l.RecordFound(ctx, FoundRequest{Where: "Helpdesk 3, Mina", Description: "green suitcase, red ribbon"}, "op")
	if err != nil {
		t.Fatal(err)
	}
	if len(sug) == 0 || sug[0].Tag != "BG123456" || sug[0].Reason != "description" {
		t.Fatalf("suggestions = %+v", sug)
	}
	for _, s := range sug {
		if s.Tag == other.Tag {
			t.Fatalf("unrelated bag suggested: %+v", sug)
		}
	}
	// A found item with its tag is suggested by tag, first.
	f2, sug2, _ := l.RecordFound(ctx, FoundRequest{Where: "Scouts' point 7", Description: "bag", Tag: "BG-2"}, "op")
	if len(sug2) == 0 || sug2[0].Tag != "BG2" || sug2[0].Reason != "tag" || sug2[0].Score != 1 {
		t.Fatalf("tag suggestions = %+v", sug2)
	}
	if _, _, err := l.RecordFound(ctx, FoundRequest{Description: "x"}, "op"); !errors.Is(err, ErrInvalidLuggage) {
		t.Fatalf("found item without where: %v", err)
	}

	if _, err := l.Handover(ctx, "BG123456", HandoverRequest{To: "M1"}, "op"); !errors.Is(err, ErrInvalidLuggage) {
		t.Fatalf("handover without signature: %v", err)
	}
	if _, _, err := l.Match(ctx, f.ID, "BG123456", "op"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Match(ctx, f2.ID, "BG123456", "op"); !errors.Is(err, ErrLuggageConflict) {
		t.Fatalf("bag matched twice: %v", err)
	}
	got, err := l.Handover(ctx, "BG123456", HandoverRequest{To: "M1 (owner)", Signature: "signed slip 4411", Note: "passport checked"}, "operator:desk-3")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != LuggageReturned || len(got.Custody) != 1 || got.Custody[0].Signature != "signed slip 4411" || got.Custody[0].From != "helpdesk: Helpdesk 3, Mina" {
		t.Fatalf("after handover: %+v", got)
	}
	if _, err := l.Handover(ctx, "BG123456", HandoverRequest{To: "x", Signature: "y"}, "op"); !errors.Is(err, ErrLuggageConflict) {
		t.Fatalf("handed over twice: %v", err)
	}

	// Restart: everything is still there.
	l2 := hdLuggage(t, w)
	b2, ok := l2.Get("BG123456")
	if !ok || b2.Status != LuggageReturned || b2.Found != f.ID || len(b2.History) != 4 {
		t.Fatalf("after restart: %+v", b2)
	}
	fi, ok := l2.Found(f.ID)
	if !ok || fi.Status != FoundReturned || len(fi.Custody) != 2 {
		t.Fatalf("found item after restart: %+v", fi)
	}
	f3, _, _ := l2.RecordFound(ctx, FoundRequest{Where: "x", Description: "y"}, "op")
	if f3.ID == f.ID || f3.ID == f2.ID {
		t.Fatalf("found-item ID reused after restart: %s", f3.ID)
	}
	if n := len(l2.FoundItems(FoundUnmatched)); n != 2 {
		t.Fatalf("unmatched found items = %d, want 2", n)
	}
}
