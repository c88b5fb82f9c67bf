package tracking

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"dalil/geo"
)

// hdOffset moves a point north by dn metres and east by de metres.
func hdOffset(p geo.Point, dn, de float64) geo.Point {
	const mPerDeg = 111_320.0
	return geo.Point{Lat: p.Lat + dn/mPerDeg, Lon: p.Lon + de/(mPerDeg*0.93)}
}

func (w *hdWorld) state(pid string, p geo.Point, t time.Time) LiveState {
	return LiveState{Device: "ph-" + pid, Pilgrim: pid, Group: "G1", Position: hdPing("ph-"+pid, p, t),
		Location: w.ix.Locate(p.Lat, p.Lon, 5)}
}

func alertKinds(ev *hdEvents, pid string) []EventKind {
	var ks []EventKind
	for _, e := range ev.list() {
		if e.Pilgrim == pid {
			ks = append(ks, e.Kind)
		}
	}
	return ks
}

func TestSeparationAlertWithHysteresis(t *testing.T) {
	w := newHDWorld(t)
	ev := &hdEvents{}
	cfg := DefaultAlertConfig()
	cfg.NightStart, cfg.NightEnd = 0, 0 // no night: only separation here
	m := NewAlertMonitor(cfg, w.reg, ev, nil, nil)
	base := w.tentPoint(0)
	t0 := time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC) // 12:00 in Riyadh
	// The guide and M1 report every minute from where the group sits.
	group := func(now time.Time) {
		m.observe(w.state("GUIDE", base, now), now)
		m.observe(w.state("M1", hdOffset(base, 20, 0), now), now)
	}
	// M2 wanders 400 m off: nothing for 9 minutes, an alert at 10.
	for i := 0; i <= 9; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		group(now)
		m.observe(w.state("M2", hdOffset(base, 400, 0), now), now)
	}
	if len(alertKinds(ev, "M2")) != 0 {
		t.Fatalf("alert before RaiseAfter: %v", alertKinds(ev, "M2"))
	}
	group(t0.Add(10 * time.Minute))
	m.tick(t0.Add(10 * time.Minute)) // time alone raises it
	if got := alertKinds(ev, "M2"); !slices.Equal(got, []EventKind{EventSeparation}) {
		t.Fatalf("after 10 min: %v", got)
	}
	e := ev.list()[0]
	if e.Group != "G1" || e.Detail == "" {
		t.Fatalf("alert event = %+v", e)
	}
	if a := m.Active("G1"); len(a) != 1 || a[0].Pilgrim != "M2" || a[0].Kind != EventSeparation {
		t.Fatalf("active = %+v", a)
	}
	// Jitter around the raise distance (250–350 m) neither clears nor re-raises.
	for i, d := range []float64{250, 350, 260, 340, 250} {
		now := t0.Add(time.Duration(11+i) * time.Minute)
		group(now)
		m.observe(w.state("M2", hdOffset(base, d, 0), now), now)
	}
	if got := alertKinds(ev, "M2"); len(got) != 1 {
		t.Fatalf("flapping: %v", got)
	}
	// Back within the clear distance: rejoined, once.
	now := t0.Add(20 * time.Minute)
	group(now)
	m.observe(w.state("M2", hdOffset(base, 50, 0), now), now)
	m.observe(w.state("M2", hdOffset(base, 40, 0), now.Add(time.Minute)), now.Add(time.Minute))
	if got := alertKinds(ev, "M2"); !slices.Equal(got, []EventKind{EventSeparation, EventRejoined}) {
		t.Fatalf("after return: %v", got)
	}
	if len(m.Active("")) != 0 {
		t.Fatalf("alert still active: %+v", m.Active(""))
	}
	if got := alertKinds(ev, "M1"); len(got) != 0 {
		t.Fatalf("M1 stayed close but got %v", got)
	}
}

func TestSeparationFromCentroidWhenGuideStale(t *testing.T) {
	w := newHDWorld(t)
	ev := &hdEvents{}
	cfg := DefaultAlertConfig()
	cfg.NightStart, cfg.NightEnd = 0, 0
	m := NewAlertMonitor(cfg, w.reg, ev, nil, nil)
	base := w.tentPoint(0)
	t0 := time.Date(2025, 6, 5, 9, 0, 0, 0, time.UTC)
	// The guide was last seen an hour ago, 2 km away: not trusted.
	m.observe(w.state("GUIDE", hdOffset(base, 2000, 0), t0.Add(-time.Hour)), t0)
	m.observe(w.state("M1", base, t0), t0)
	m.observe(w.state("M2", hdOffset(base, 30, 0), t0), t0)
	m.observe(w.state("M3", hdOffset(base, 0, 500), t0), t0)
	m.tick(t0.Add(11 * time.Minute))
	// Re-report positions so they are fresh at the tick.
	now := t0.Add(11 * time.Minute)
	for pid, p := range map[string]geo.Point{"M1": base, "M2": hdOffset(base, 30, 0), "M3": hdOffset(base, 0, 500)} {
		m.observe(w.state(pid, p, now), now)
	}
	if got := alertKinds(ev, "M3"); !slices.Equal(got, []EventKind{EventSeparation}) {
		t.Fatalf("M3 500 m from the group's centre: %v", got)
	}
	for _, pid := range []string{"M1", "M2"} {
		if got := alertKinds(ev, pid); len(got) != 0 {
			t.Fatalf("%s is with the group but got %v", pid, got)
		}
	}
}

func TestOutsideCampAtNight(t *testing.T) {
	w := newHDWorld(t)
	ev := &hdEvents{}
	m := NewAlertMonitor(DefaultAlertConfig(), w.reg, ev, nil, nil)
	inside := w.tentPoint(1)
	outside := w.other.Polygon.Centroid()
	riyadh := RiyadhTime()
	day := time.Date(2025, 6, 5, 14, 0, 0, 0, riyadh)
	night := time.Date(2025, 6, 5, 23, 0, 0, 0, riyadh)

	// By day, outside the camp is fine (the guide is with them).
	m.observe(w.state("GUIDE", outside, day), day)
	m.observe(w.state("M1", outside, day), day)
	m.tick(day.Add(30 * time.Minute))
	if got := alertKinds(ev, "M1"); len(got) != 0 {
		t.Fatalf("daytime alert: %v", got)
	}
	// At night: after OutsideAfter, an alert; back in camp: cleared.
	for i := 0; i <= 15; i += 5 {
		now := night.Add(time.Duration(i) * time.Minute)
		m.observe(w.state("GUIDE", outside, now), now)
		m.observe(w.state("M1", outside, now), now)
	}
	if got := alertKinds(ev, "M1"); !slices.Equal(got, []EventKind{EventOutsideCamp}) {
		t.Fatalf("night outside: %v", got)
	}
	now := night.Add(20 * time.Minute)
	m.observe(w.state("M1", inside, now), now)
	if got := alertKinds(ev, "M1"); !slices.Equal(got, []EventKind{EventOutsideCamp, EventRejoined}) {
		t.Fatalf("back in camp: %v", got)
	}
}

func TestAlertMonitorPublishNeverBlocks(t *testing.T) {
	w := newHDWorld(t)
	cfg := DefaultAlertConfig()
	cfg.QueueLimit = alertInboxShards // one pilgrim per shard
	m := NewAlertMonitor(cfg, w.reg, &hdEvents{}, nil, nil)
	now := time.Now()
	// Run is not started: Publish must still return, coalescing per pilgrim
	// and dropping new pilgrims past the limit of their shard.
	var pids []string
	for i := 0; i < 40; i++ { // more pilgrims than shards: some must share
		pids = append(pids, fmt.Sprintf("X%d", i))
	}
	shards := map[uint32]int{}
	for _, pid := range pids {
		shards[shardOfString(pid)%alertInboxShards]++
	}
	wantDropped := 0
	for _, n := range shards {
		wantDropped += (n - 1) * 1000
	}
	for i := 0; i < 1000; i++ {
		for _, pid := range pids {
			st := w.state(pid, w.tentPoint(0), now.Add(time.Duration(i)*time.Second))
			m.Publish(Update{State: &st})
		}
	}
	if int(m.Dropped()) != wantDropped || m.queued() != len(shards) {
		t.Fatalf("dropped = %d, queued %d; want %d, %d", m.Dropped(), m.queued(), wantDropped, len(shards))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	hdWaitFor(t, "queue drained", func() bool { return m.queued() == 0 })
	cancel()
	<-done
}
