package tracking

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"dalil/geo"
)

// hdStore is an in-memory Store for the helpdesk's unit tests (the HTTP
// tests in package api run on the real embedded store and PostgreSQL).
type hdStore struct {
	mu        sync.Mutex
	positions map[string][]Position
	records   map[string]map[string][]byte
	failPut   map[string]bool
	puts      int
}

func newHDStore() *hdStore {
	return &hdStore{positions: map[string][]Position{}, records: map[string]map[string][]byte{}, failPut: map[string]bool{}}
}

func (s *hdStore) AppendPositions(ctx context.Context, ps []Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.positions[p.Device] = append(s.positions[p.Device], p)
	}
	return nil
}

func (s *hdStore) Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Position
	for _, p := range s.positions[device] {
		if !p.Time.Before(since) && p.Time.Before(until) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *hdStore) Latest(ctx context.Context, fn func(Position) error) error {
	s.mu.Lock()
	var latest []Position
	for _, ps := range s.positions {
		best := ps[0]
		for _, p := range ps[1:] {
			if p.Time.After(best.Time) {
				best = p
			}
		}
		latest = append(latest, best)
	}
	s.mu.Unlock()
	for _, p := range latest {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *hdStore) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	return 0, nil
}

func (s *hdStore) PutRecords(ctx context.Context, kind string, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPut[kind] {
		return fmt.Errorf("put %s: %w", kind, ErrUnavailable)
	}
	s.puts++
	if s.records[kind] == nil {
		s.records[kind] = map[string][]byte{}
	}
	for _, r := range recs {
		s.records[kind][r.ID] = slices.Clone(r.Data)
	}
	return nil
}

func (s *hdStore) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.records[kind][id]
	if !ok {
		return nil, ErrNotFound
	}
	return slices.Clone(d), nil
}

func (s *hdStore) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.records[kind]))
	for id := range s.records[kind] {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		d, err := s.GetRecord(ctx, kind, id)
		if err != nil {
			continue
		}
		if err := fn(id, d); err != nil {
			return err
		}
	}
	return nil
}

func (s *hdStore) DeleteRecord(ctx context.Context, kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records[kind], id)
	return nil
}

func (s *hdStore) Ping(ctx context.Context) error { return nil }
func (s *hdStore) Close() error                   { return nil }

// hdEvents records published events.
type hdEvents struct {
	mu     sync.Mutex
	events []Event
	states int
}

func (r *hdEvents) Publish(u Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u.Event != nil {
		r.events = append(r.events, *u.Event)
	}
	if u.State != nil {
		r.states++
	}
}

func (r *hdEvents) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *hdEvents) kinds() []EventKind {
	var ks []EventKind
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
	st    *hdStore
	reg   *Registry
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
	w := &hdWorld{ix: ix, st: newHDStore(), reg: NewRegistry()}
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
	ps := []Pilgrim{{PID: "GUIDE", NameEN: "Guide Habib", Group: "G1", Camp: w.camp.ID, Tent: w.tents[0].ID,
		Phone: "+8801700000000", Devices: []string{"ph-guide"}}}
	for i := 1; i <= 4; i++ {
		p := Pilgrim{PID: fmt.Sprintf("M%d", i), NameEN: fmt.Sprintf("Member %d", i), Group: "G1", GuidePID: "GUIDE",
			Camp: w.camp.ID, Tent: w.tents[i%len(w.tents)].ID}
		if i < 4 {
			p.Devices = []string{fmt.Sprintf("ph-M%d", i)}
		}
		ps = append(ps, p)
	}
	gs := []Group{{ID: "G1", Agency: "AG1", GuidePID: "GUIDE"}}
	if err := w.reg.Import(context.Background(), w.st, ps, gs); err != nil {
		t.Fatal(err)
	}
	return w
}

// tentPoint is the middle of tent i of the world's camp.
func (w *hdWorld) tentPoint(i int) geo.Point { return w.tents[i].Polygon.Centroid() }

// ping makes a position of device at p, t.
func hdPing(device string, p geo.Point, t time.Time) Position {
	return Position{Device: device, Time: t, Lat: p.Lat, Lon: p.Lon, Accuracy: 5,
		Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: Unknown, Source: SourceNative}
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
