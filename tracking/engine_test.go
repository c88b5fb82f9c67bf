package tracking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"dalil/registry"

	"github.com/uber/h3-go/v4"
)

// The test camp: about 111 m north-south by 103 m east-west, north of the
// Jamarat end of Mina, split into tents /1 (west) and /2 (east).
const (
	tcMinLat, tcMaxLat = 21.4100, 21.4110
	tcMinLon, tcMaxLon = 39.8800, 39.8810
	tcCamp             = "mina-901"
)

var engT0 = time.Date(2025, 6, 5, 8, 0, 0, 0, time.UTC)

func testLocator() *boxLocator {
	return &boxLocator{camps: []boxCamp{{id: tcCamp, minLat: tcMinLat, minLon: tcMinLon, maxLat: tcMaxLat, maxLon: tcMaxLon}}}
}

// testRegistry registers P1 (phone ph1 + wristband wb1), P2..P9 (phones), a
// group G1 with P1..P3 and a luggage tag T1.
func testRegistry(t *testing.T) *Registry {
	t.Helper()
	reg := registry.NewRegistry()
	ps := []Pilgrim{{PID: "P1", NameEN: "Md. Abdul Karim", Gender: "M", Group: "G1", GuidePID: "P1",
		Devices: []string{"ph1", "wb1"}, DeviceKinds: []DeviceKind{DevicePhone, DeviceWristband}}}
	for i := 2; i <= 9; i++ {
		p := Pilgrim{PID: fmt.Sprintf("P%d", i), NameEN: fmt.Sprintf("Pilgrim %d", i), Devices: []string{fmt.Sprintf("ph%d", i)}}
		if i <= 3 {
			p.Group, p.GuidePID = "G1", "P1"
		}
		ps = append(ps, p)
	}
	if err := reg.Import(context.Background(), nil, ps, nil); err != nil {
		t.Fatal(err)
	}
	if err := reg.PutDevice(context.Background(), nil, Device{ID: "T1", Kind: DeviceLuggageTag, Luggage: "BAG1"}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func newTestEngine(t *testing.T) (*Engine, *trkStore, *trkRecorder) {
	t.Helper()
	st := newTrkStore()
	rec := &trkRecorder{}
	e := NewEngine(DefaultEngineConfig(), st, testRegistry(t), testLocator(), rec, nil)
	return e, st, rec
}

func ping(dev string, at time.Duration, lat, lon float64, acc float32) Position {
	return Position{Device: dev, Time: engT0.Add(at), Lat: lat, Lon: lon, Accuracy: acc,
		Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: 80, Source: SourceNative}
}

func mustAccept(t *testing.T, e *Engine, ps ...Position) {
	t.Helper()
	if err := e.Accept(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
}

// campPoint returns a point dNorth/dEast metres from the camp's south-west corner.
func campPoint(dNorth, dEast float64) (float64, float64) {
	return offset(tcMinLat, tcMinLon, dNorth, dEast)
}

func TestAcceptStoresFirstThenUpdatesLive(t *testing.T) {
	e, st, rec := newTestEngine(t)
	lat, lon := campPoint(50, 20)
	mustAccept(t, e, ping("ph2", 0, lat, lon, 8), ping("ph2", 10*time.Second, lat, lon, 6))
	if n := st.count("ph2"); n != 2 {
		t.Fatalf("store has %d positions, want 2", n)
	}
	s, ok := e.Device("ph2")
	if !ok || !s.Position.Time.Equal(engT0.Add(10*time.Second)) || s.Location.Camp != tcCamp || s.Pilgrim != "P2" || s.Kind != DevicePhone {
		t.Fatalf("live state %+v %v", s, ok)
	}
	if len(rec.states) != 2 {
		t.Fatalf("published %d states, want 2", len(rec.states))
	}

	// A store failure is an error wrapping ErrUnavailable and changes nothing.
	for _, storeErr := range []error{fmt.Errorf("pebble: %w", ErrUnavailable), errors.New("disk full")} {
		st.failAppend = storeErr
		err := e.Accept(context.Background(), []Position{ping("ph2", time.Minute, lat+0.001, lon, 5)})
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, storeErr) {
			t.Fatalf("Accept with failing store = %v, want ErrUnavailable wrapping %v", err, storeErr)
		}
		if s, _ := e.Device("ph2"); !s.Position.Time.Equal(engT0.Add(10 * time.Second)) {
			t.Fatalf("live state moved after a failed store write: %v", s.Position.Time)
		}
	}
	if got := e.Stats().StoreErrors; got != 2 {
		t.Fatalf("StoreErrors = %d", got)
	}
}

func TestOutOfOrderPingsAreStoredButDoNotMoveBack(t *testing.T) {
	e, st, _ := newTestEngine(t)
	aLat, aLon := campPoint(80, 80)
	bLat, bLon := campPoint(10, 10)
	mustAccept(t, e, ping("ph3", 20*time.Second, aLat, aLon, 5))
	mustAccept(t, e, ping("ph3", 10*time.Second, bLat, bLon, 5)) // a flushed offline buffer
	mustAccept(t, e, ping("ph3", 20*time.Second, aLat, aLon, 5)) // a retry of the same fix

	s, _ := e.Device("ph3")
	if !s.Position.Time.Equal(engT0.Add(20*time.Second)) || s.Position.Lat != aLat {
		t.Fatalf("live position moved back: %+v", s.Position)
	}
	if st.count("ph3") != 3 {
		t.Fatalf("store has %d positions, want all 3", st.count("ph3"))
	}
	tr := e.RecentTrail("ph3")
	if len(tr) != 2 || !tr[0].Time.Equal(engT0.Add(10*time.Second)) || !tr[1].Time.Equal(engT0.Add(20*time.Second)) {
		t.Fatalf("recent trail %v, want the two fixes in time order", tr)
	}
	if math.Abs(tr[0].Lat-bLat) > 1e-6 || math.Abs(tr[0].Lon-bLon) > 1e-6 {
		t.Fatalf("trail point %v,%v, want %v,%v", tr[0].Lat, tr[0].Lon, bLat, bLon)
	}
	st2 := e.Stats()
	if st2.OutOfOrder != 1 || st2.Duplicates != 1 || st2.Accepted != 3 {
		t.Fatalf("stats %+v", st2)
	}
}

func TestRecentTrailIsBounded(t *testing.T) {
	cfg := DefaultEngineConfig()
	cfg.TrailLen = 5
	e := NewEngine(cfg, newTrkStore(), testRegistry(t), testLocator(), nil, nil)
	for i := 0; i < 12; i++ {
		lat, lon := campPoint(float64(i), 5)
		mustAccept(t, e, ping("ph4", time.Duration(i)*time.Second, lat, lon, 5))
	}
	tr := e.RecentTrail("ph4")
	if len(tr) != 5 || !tr[0].Time.Equal(engT0.Add(7*time.Second)) || !tr[4].Time.Equal(engT0.Add(11*time.Second)) {
		t.Fatalf("trail %v, want the last 5 fixes", tr)
	}
}

func TestPilgrimBestOfTwoDevices(t *testing.T) {
	e, _, _ := newTestEngine(t)
	inLat, inLon := campPoint(50, 25) // in the camp
	outLat, outLon := offset(tcMinLat, tcMinLon, 50, -60)

	// A precise wristband fix, then a vague phone fix 10 s later: the wristband wins.
	mustAccept(t, e, ping("wb1", 0, inLat, inLon, 5))
	mustAccept(t, e, ping("ph1", 10*time.Second, outLat, outLon, 40))
	s, ok := e.Pilgrim("P1")
	if !ok || s.Device != "wb1" || s.Location.Camp != tcCamp {
		t.Fatalf("best = %s in %q, want wb1 in the camp", s.Device, s.Location.Camp)
	}
	// Once the wristband's fix is older than the window, the newest wins.
	mustAccept(t, e, ping("ph1", 50*time.Second, outLat, outLon, 40))
	if s, _ := e.Pilgrim("P1"); s.Device != "ph1" || s.Location.Camp != "" {
		t.Fatalf("best = %s, want ph1 (wristband fix too old)", s.Device)
	}
	// A newer fix that is not much worse wins.
	mustAccept(t, e, ping("wb1", 55*time.Second, inLat, inLon, 12))
	mustAccept(t, e, ping("ph1", 60*time.Second, outLat, outLon, 8))
	if s, _ := e.Pilgrim("P1"); s.Device != "ph1" {
		t.Fatalf("best = %s, want ph1 (newest, 8 m vs 12 m)", s.Device)
	}
	mustAccept(t, e, ping("wb1", 65*time.Second, inLat, inLon, 12))
	if s, _ := e.Pilgrim("P1"); s.Device != "wb1" {
		t.Fatalf("best = %s, want wb1 (newest; 8 m is not twice as good as 12 m)", s.Device)
	}
	// The pilgrim appears once in every bulk answer, at the best position.
	in := e.InCamp(tcCamp)
	if len(in) != 1 || in[0].Pilgrim != "P1" || in[0].Device != "wb1" {
		t.Fatalf("InCamp = %v", in)
	}
	near := e.Nearby(inLat, inLon, 500, 0)
	if len(near) != 1 || near[0].Device != "wb1" {
		t.Fatalf("Nearby = %v", near)
	}
	if st := e.Stats(); st.Devices != 2 || st.Pilgrims != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Both devices keep their own live state.
	if d, _ := e.Device("ph1"); d.Position.Accuracy != 8 || d.Pilgrim != "P1" {
		t.Fatalf("Device(ph1) = %+v", d)
	}
}

func TestNearbyNearestFirst(t *testing.T) {
	e, _, _ := newTestEngine(t)
	qLat, qLon := 21.4000, 39.8700
	want := []struct {
		dev           string
		dNorth, dEast float64
	}{{"ph5", 0, 120}, {"ph2", 5, 0}, {"ph6", -400, 0}, {"ph3", 0, -20}, {"T1", 30, 40}, {"ph4", -35, 35}}
	for i, w := range want {
		lat, lon := offset(qLat, qLon, w.dNorth, w.dEast)
		mustAccept(t, e, ping(w.dev, time.Duration(i)*time.Second, lat, lon, 5))
	}
	got := e.Nearby(qLat, qLon, 100, 0)
	order := []string{"ph2", "ph3", "ph4", "T1"}
	dists := []float64{5, 20, math.Hypot(35, 35), 50}
	if len(got) != len(order) {
		t.Fatalf("Nearby(100 m) = %d results, want %d: %v", len(got), len(order), got)
	}
	for i := range order {
		if got[i].Device != order[i] || math.Abs(got[i].DistanceM-dists[i]) > 0.5 {
			t.Fatalf("result %d = %s at %.1f m, want %s at %.1f m", i, got[i].Device, got[i].DistanceM, order[i], dists[i])
		}
	}
	if got[3].Luggage != "BAG1" || got[3].Pilgrim != "" {
		t.Fatalf("luggage tag state %+v", got[3].LiveState)
	}
	if lim := e.Nearby(qLat, qLon, 100, 2); len(lim) != 2 || lim[0].Device != "ph2" || lim[1].Device != "ph3" {
		t.Fatalf("Nearby limit 2 = %v", lim)
	}
	if all := e.Nearby(qLat, qLon, 1000, 0); len(all) != 6 || all[5].Device != "ph6" {
		t.Fatalf("Nearby(1 km) = %v", all)
	}
	if none := e.Nearby(qLat, qLon, 3, 0); len(none) != 0 {
		t.Fatalf("Nearby(3 m) = %v", none)
	}
}

func TestInCampTentCellAndBBox(t *testing.T) {
	e, _, _ := newTestEngine(t)
	w1Lat, w1Lon := campPoint(30, 20) // tent /1 (west half)
	w2Lat, w2Lon := campPoint(60, 25) // tent /1
	eLat, eLon := campPoint(60, 80)   // tent /2
	oLat, oLon := offset(tcMinLat, tcMinLon, 60, -30)
	mustAccept(t, e, ping("ph2", 0, w1Lat, w1Lon, 5), ping("ph3", 0, w2Lat, w2Lon, 5),
		ping("ph4", 0, eLat, eLon, 5), ping("ph5", 0, oLat, oLon, 5))

	pids := func(ss []LiveState) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Pilgrim)
		}
		return out
	}
	if got := pids(e.InCamp(tcCamp)); !slices.Equal(got, []string{"P2", "P3", "P4"}) {
		t.Fatalf("InCamp = %v", got)
	}
	if n := e.CampCount(tcCamp); n != 3 {
		t.Fatalf("CampCount = %d, want 3", n)
	}
	if got := pids(e.InTent(tcCamp + "/1")); !slices.Equal(got, []string{"P2", "P3"}) {
		t.Fatalf("InTent /1 = %v", got)
	}
	if got := pids(e.InTent(tcCamp + "/2")); !slices.Equal(got, []string{"P4"}) {
		t.Fatalf("InTent /2 = %v", got)
	}
	// Moving out of the camp leaves the camp index.
	mustAccept(t, e, ping("ph4", time.Minute, oLat, oLon, 5))
	if got := pids(e.InCamp(tcCamp)); !slices.Equal(got, []string{"P2", "P3"}) {
		t.Fatalf("InCamp after P4 left = %v", got)
	}

	// InCell agrees with h3 for every device, at several resolutions.
	pts := map[string][2]float64{"P2": {w1Lat, w1Lon}, "P3": {w2Lat, w2Lon}, "P4": {oLat, oLon}, "P5": {oLat, oLon}}
	for _, res := range []int{7, 9, 11, 13} {
		c, err := h3.LatLngToCell(h3.NewLatLng(w1Lat, w1Lon), res)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, pid := range []string{"P2", "P3", "P4", "P5"} {
			pc, _ := h3.LatLngToCell(h3.NewLatLng(pts[pid][0], pts[pid][1]), res)
			if pc == c {
				want = append(want, pid)
			}
		}
		if got := pids(e.InCell(uint64(c))); !slices.Equal(got, want) {
			t.Fatalf("InCell res %d = %v, want %v", res, got, want)
		}
	}
	if got := e.InCell(12345); got != nil {
		t.Fatalf("InCell(invalid) = %v", got)
	}

	box := e.InBBox(tcMinLon, tcMinLat, tcMaxLon, tcMaxLat, 0)
	slices.SortFunc(box, func(a, b LiveState) int { return cmpString(a.Pilgrim, b.Pilgrim) })
	if got := pids(box); !slices.Equal(got, []string{"P2", "P3"}) {
		t.Fatalf("InBBox = %v", got)
	}
	if got := e.InBBox(tcMinLon-0.01, tcMinLat-0.01, tcMaxLon+0.01, tcMaxLat+0.01, 3); len(got) != 3 {
		t.Fatalf("InBBox limit 3 = %d results", len(got))
	}
}

func eventKinds(evs []Event) []EventKind {
	var out []EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func TestCampEventsWithHysteresis(t *testing.T) {
	e, _, rec := newTestEngine(t)
	at := time.Duration(0)
	send := func(dNorth, dEast float64, acc float32) {
		at += 10 * time.Second
		lat, lon := campPoint(dNorth, dEast)
		mustAccept(t, e, ping("ph2", at, lat, lon, acc))
	}
	send(50, -30, 10) // first fix, in the street: sets the state silently
	if ev := rec.takeEvents(); len(ev) != 0 {
		t.Fatalf("first fix raised %v", ev)
	}
	// Standing at the fence: fixes alternate 3 m in and 3 m out.
	for i := 0; i < 10; i++ {
		send(50, 3, 10)
		send(50, -3, 10)
	}
	if ev := rec.takeEvents(); len(ev) != 0 {
		t.Fatalf("jitter on the fence raised %v", eventKinds(ev))
	}
	// Three consecutive fixes inside, each within its accuracy of the fence.
	send(50, 4, 10)
	send(50, 5, 10)
	if ev := rec.takeEvents(); len(ev) != 0 {
		t.Fatalf("entered after two fixes: %v", eventKinds(ev))
	}
	send(50, 4, 10)
	ev := rec.takeEvents()
	if !slices.Equal(eventKinds(ev), []EventKind{EventCampEnter, EventTentEnter}) {
		t.Fatalf("events %v, want camp_enter, tent_enter", eventKinds(ev))
	}
	if ev[0].Camp != tcCamp || ev[0].Pilgrim != "P2" || ev[0].Group != "G1" || ev[0].Device != "ph2" ||
		!ev[0].Time.Equal(engT0.Add(at)) || ev[1].Tent != tcCamp+"/1" {
		t.Fatalf("event %+v / %+v", ev[0], ev[1])
	}
	// Jitter again: in, out, in — no exit.
	send(50, -2, 10)
	send(50, 3, 10)
	send(50, -2, 10)
	if ev := rec.takeEvents(); len(ev) != 0 {
		t.Fatalf("jitter inside raised %v", eventKinds(ev))
	}
	// A fix 40 m outside with 10 m accuracy is decisive: exit at once.
	send(50, -40, 10)
	ev = rec.takeEvents()
	if !slices.Equal(eventKinds(ev), []EventKind{EventTentExit, EventCampExit}) || ev[1].Camp != tcCamp || ev[0].Tent != tcCamp+"/1" {
		t.Fatalf("events %v, want tent_exit, camp_exit", ev)
	}
	// A decisive fix deep inside the east tent enters at once.
	send(55, 80, 4)
	if ev := rec.takeEvents(); !slices.Equal(eventKinds(ev), []EventKind{EventCampEnter, EventTentEnter}) || ev[1].Tent != tcCamp+"/2" {
		t.Fatalf("events %v, want camp_enter, tent_enter /2", ev)
	}
	if got := e.Stats().Events; got != 6 {
		t.Fatalf("Stats.Events = %d, want 6", got)
	}
}

func TestRebuildAfterRestart(t *testing.T) {
	e1, st, _ := newTestEngine(t)
	inLat, inLon := campPoint(50, 25)
	mustAccept(t, e1,
		ping("wb1", 0, inLat, inLon, 4), ping("ph1", 5*time.Second, inLat+0.0005, inLon, 40),
		ping("ph2", 0, inLat, inLon+0.0001, 6), ping("ph2", 20*time.Second, inLat, inLon+0.0002, 6),
		ping("T1", 0, 21.42, 39.87, 15))
	mustAccept(t, e1, ping("ph2", 10*time.Second, inLat, inLon, 6)) // out of order

	rec2 := &trkRecorder{}
	e2 := NewEngine(DefaultEngineConfig(), st, e1.Registry(), testLocator(), rec2, nil)
	if err := e2.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{"P1", "P2"} {
		a, _ := e1.Pilgrim(pid)
		b, ok := e2.Pilgrim(pid)
		if !ok || a.Device != b.Device || !a.Position.Time.Equal(b.Position.Time) || a.Position.Lat != b.Position.Lat ||
			a.Location.Camp != b.Location.Camp || a.Group != b.Group {
			t.Fatalf("%s after rebuild = %+v, before %+v", pid, b, a)
		}
	}
	if a, b := e1.Stats(), e2.Stats(); a.Devices != b.Devices || a.Pilgrims != b.Pilgrims || a.Subjects != b.Subjects {
		t.Fatalf("stats before %+v after %+v", a, b)
	}
	if got := e2.InCamp(tcCamp); len(got) != 2 {
		t.Fatalf("InCamp after rebuild = %v", got)
	}
	if len(rec2.states)+len(rec2.events) != 0 {
		t.Fatalf("rebuild published %d states, %d events", len(rec2.states), len(rec2.events))
	}
	// The confirmed camp survived: more fixes inside raise nothing.
	mustAccept(t, e2, ping("ph2", 30*time.Second, inLat, inLon, 6))
	if ev := rec2.takeEvents(); len(ev) != 0 {
		t.Fatalf("events after rebuild: %v", eventKinds(ev))
	}
}

func TestEngineFollowsRegistryChanges(t *testing.T) {
	e, _, _ := newTestEngine(t)
	lat, lon := campPoint(50, 25)
	mustAccept(t, e, ping("wb1", 0, lat, lon, 2), ping("ph2", 0, lat, lon, 5))
	// The wristband is handed to P2, who also moves to group G2.
	reg := e.Registry()
	p1, _ := reg.Pilgrim("P1")
	p2, _ := reg.Pilgrim("P2")
	p1.Devices, p1.DeviceKinds = []string{"ph1"}, nil
	p2.Devices, p2.DeviceKinds = []string{"ph2", "wb1"}, []DeviceKind{DevicePhone, DeviceWristband}
	p2.Group = "G2"
	if err := reg.Import(context.Background(), nil, []Pilgrim{p1, p2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Pilgrim("P1"); ok {
		t.Fatal("P1 still has a live position from a device they no longer have")
	}
	d, ok := e.Device("wb1")
	if !ok || d.Pilgrim != "P2" || d.Group != "G2" || d.Kind != DeviceWristband {
		t.Fatalf("wb1 = %+v %v", d, ok)
	}
	if s, _ := e.Pilgrim("P2"); s.Group != "G2" || s.Device != "wb1" {
		t.Fatalf("P2 = %+v", s)
	}
	if st := e.Stats(); st.Devices != 2 || st.Pilgrims != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTrailAcrossDevicesAndRetention(t *testing.T) {
	e, st, _ := newTestEngine(t)
	lat, lon := campPoint(50, 25)
	mustAccept(t, e, ping("wb1", 0, lat, lon, 4), ping("ph1", 5*time.Second, lat, lon, 10),
		ping("wb1", 10*time.Second, lat, lon, 4), ping("ph2", time.Hour, lat, lon, 5))
	tr, err := e.Trail(context.Background(), "P1", engT0, engT0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 3 || tr[0].Device != "wb1" || tr[1].Device != "ph1" || tr[2].Device != "wb1" {
		t.Fatalf("trail %v", tr)
	}
	if _, err := e.Trail(context.Background(), "nobody", engT0, engT0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("trail of unknown pid: %v", err)
	}

	n, err := e.Retain(context.Background(), engT0.Add(30*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("Retain = %d, %v; want 3 deleted", n, err)
	}
	if _, ok := e.Pilgrim("P1"); ok {
		t.Fatal("P1's live state outlived retention")
	}
	if _, ok := e.Device("ph2"); !ok {
		t.Fatal("ph2's recent fix was dropped")
	}
	if st.count("wb1") != 0 || e.Stats().Devices != 1 {
		t.Fatalf("after retention: store %d, stats %+v", st.count("wb1"), e.Stats())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.RunRetention(ctx, time.Hour, time.Hour); close(done) }()
	for i := 0; ; i++ {
		st.mu.Lock()
		calls := len(st.deleted)
		st.mu.Unlock()
		if calls >= 2 {
			break
		}
		if i > 500 {
			t.Fatal("RunRetention did not run at start")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestConcurrentIngestAndQueries(t *testing.T) {
	st := newTrkStore()
	e := NewEngine(DefaultEngineConfig(), st, testRegistry(t), testLocator(), &trkRecorder{}, nil)
	const workers, batches, perBatch = 4, 50, 20
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ps := make([]Position, perBatch)
			for b := 0; b < batches; b++ {
				for i := range ps {
					lat, lon := campPoint(float64(i*5), float64(b))
					ps[i] = ping(fmt.Sprintf("dev-%d-%d", w, i), time.Duration(b)*time.Second, lat, lon, 5)
				}
				if err := e.Accept(context.Background(), ps); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	stop := make(chan struct{})
	var qwg sync.WaitGroup
	qwg.Add(1)
	go func() {
		defer qwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			lat, lon := campPoint(50, 25)
			e.Nearby(lat, lon, 100, 10)
			e.InCamp(tcCamp)
			e.InBBox(tcMinLon, tcMinLat, tcMaxLon, tcMaxLat, 0)
			e.Stats()
			e.Device("dev-0-0")
		}
	}()
	wg.Wait()
	close(stop)
	qwg.Wait()
	s := e.Stats()
	if s.Accepted != workers*batches*perBatch || s.Devices != workers*perBatch || s.Subjects != workers*perBatch {
		t.Fatalf("stats %+v", s)
	}
	if got := len(e.InCamp(tcCamp)); got != workers*perBatch {
		t.Fatalf("InCamp = %d, want %d", got, workers*perBatch)
	}
}

func TestConcurrentFirstPingsOfTheSameDevices(t *testing.T) {
	e := NewEngine(DefaultEngineConfig(), newTrkStore(), testRegistry(t), testLocator(), nil, nil)
	devs := []string{"ph1", "wb1", "ph2", "ph3", "T1", "stranger-1", "stranger-2"}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < 30; r++ {
				var ps []Position
				for i, d := range devs {
					lat, lon := campPoint(float64(10+i*10), float64(10+w))
					ps = append(ps, ping(d, time.Duration(r*4+w)*time.Second, lat, lon, 5))
				}
				if err := e.Accept(context.Background(), ps); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	st := e.Stats()
	// P1 (two devices), P2, P3, the tag and two strangers.
	if st.Devices != len(devs) || st.Pilgrims != 3 || st.Subjects != 6 {
		t.Fatalf("stats %+v", st)
	}
	for _, d := range devs {
		s, ok := e.Device(d)
		if !ok || !s.Position.Time.Equal(engT0.Add(time.Duration(29*4+3)*time.Second)) {
			t.Fatalf("%s: %v %v, want the newest fix of all workers", d, s.Position.Time, ok)
		}
	}
	if got := len(e.InCamp(tcCamp)); got != 6 {
		t.Fatalf("InCamp = %d, want 6", got)
	}
}
