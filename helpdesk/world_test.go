package helpdesk

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
	"dalil/store/memstore"
)

// newHDStore is an in-memory store, ready for the helpdesk tests to make
// PutRecords fail by kind.
func newHDStore() *memstore.Store {
	st := memstore.New()
	st.FailPutKind = map[string]bool{}
	return st
}

// hdEvents records published events.
type hdEvents struct {
	mu     sync.Mutex
	events []dalil.Event
	states int
}

func (r *hdEvents) Publish(u dalil.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u.Event != nil {
		r.events = append(r.events, *u.Event)
	}
	if u.State != nil {
		r.states++
	}
}

func (r *hdEvents) list() []dalil.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *hdEvents) kinds() []dalil.EventKind {
	var ks []dalil.EventKind
	for _, e := range r.list() {
		ks = append(ks, e.Kind)
	}
	return ks
}

// The real shipped layout, indexed once for all helpdesk tests.
var hdGeo struct {
	once sync.Once
	ix   *geo.Index
	err  error
}

func hdIndex(t testing.TB) *geo.Index {
	hdGeo.once.Do(func() { hdGeo.ix, hdGeo.err = geo.NewIndex(geo.Default()) })
	if hdGeo.err != nil {
		t.Fatal(hdGeo.err)
	}
	return hdGeo.ix
}

// hdWorld is a small Mina: a group G1 in a real camp, with a guide.
type hdWorld struct {
	ix    *geo.Index
	st    *memstore.Store
	reg   *registry.Registry
	camp  *geo.Camp
	tents []*geo.Tent
	other *geo.Camp // another camp
}

// newHDWorld registers: GUIDE (phone ph-guide), M1..M4 (phones ph-M1…;
// M4 has no device), all in group G1 assigned to tents of one camp.
func newHDWorld(t *testing.T) *hdWorld {
	t.Helper()
	ix := hdIndex(t)
	l := ix.Layout()
	w := &hdWorld{ix: ix, st: newHDStore(), reg: registry.NewRegistry()}
	for i := range l.Camps {
		c := &l.Camps[i]
		if c.Site != geo.SiteMina || len(l.TentsOf(c.ID)) < 2 {
			continue
		}
		if w.camp == nil {
			w.camp, w.tents = c, l.TentsOf(c.ID)
		} else if w.other == nil && geo.DistanceM(c.Polygon.Centroid(), w.camp.Polygon.Centroid()) > 800 {
			w.other = c
			break
		}
	}
	if w.camp == nil || w.other == nil {
		t.Fatal("layout has too few Mina camps")
	}
	ps := []registry.Pilgrim{{PID: "GUIDE", NameEN: "Guide Habib", Group: "G1", Camp: w.camp.ID, Tent: w.tents[0].ID,
		Phone: "+8801700000000", Devices: []string{"ph-guide"}}}
	for i := 1; i <= 4; i++ {
		p := registry.Pilgrim{PID: fmt.Sprintf("M%d", i), NameEN: fmt.Sprintf("Member %d", i), Group: "G1", GuidePID: "GUIDE",
			Camp: w.camp.ID, Tent: w.tents[i%len(w.tents)].ID}
		if i < 4 {
			p.Devices = []string{fmt.Sprintf("ph-M%d", i)}
		}
		ps = append(ps, p)
	}
	gs := []registry.Group{{ID: "G1", Agency: "AG1", GuidePID: "GUIDE"}}
	if err := w.reg.Import(context.Background(), w.st, ps, gs); err != nil {
		t.Fatal(err)
	}
	return w
}

// tentPoint is the middle of tent i of the world's camp.
func (w *hdWorld) tentPoint(i int) geo.Point { return w.tents[i].Polygon.Centroid() }

// ping makes a position of device at p, t.
func hdPing(device string, p geo.Point, t time.Time) dalil.Position {
	return dalil.Position{Device: device, Time: t, Lat: p.Lat, Lon: p.Lon, Accuracy: 5,
		Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: dalil.Unknown, Source: dalil.SourceNative}
}

// hdWaitFor polls cond until it holds or a few seconds pass.
func hdWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
