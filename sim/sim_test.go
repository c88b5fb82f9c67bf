package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// testIndex indexes a part of the shipped layout: Mina's zones 1 and 2 (the
// Jamarat end) and eight Arafat camps, so that the tests build it quickly.
var testIndex = sync.OnceValues(func() (*geo.Index, error) {
	full := geo.Default()
	var camps []geo.Camp
	keep := map[string]bool{}
	arafat := 0
	for _, c := range full.Camps {
		if (c.Site == geo.SiteMina && c.Zone <= 2) || (c.Site == geo.SiteArafat && arafat < 8) {
			if c.Site == geo.SiteArafat {
				arafat++
			}
			camps = append(camps, c)
			keep[c.ID] = true
		}
	}
	var tents []geo.Tent
	for _, t := range full.Tents {
		if keep[t.Camp] {
			tents = append(tents, t)
		}
	}
	l, err := geo.NewLayout(slices.Clone(full.Areas), camps, tents)
	if err != nil {
		return nil, err
	}
	return geo.NewIndex(l)
})

func index(t testing.TB) *geo.Index {
	t.Helper()
	ix, err := testIndex()
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	return ix
}

// demoRegistry is a small demo registry; every third pilgrim also carries a
// luggage tag.
func demoRegistry(t testing.TB, ix *geo.Index, n int) ([]registry.Pilgrim, []registry.Group) {
	t.Helper()
	ps, gs := registry.GenerateRegistry(ix.Layout(), n, 7)
	if len(ps) == 0 || len(gs) == 0 {
		t.Fatal("empty registry")
	}
	for i := range ps {
		if i%3 != 0 {
			continue
		}
		p := &ps[i]
		for len(p.DeviceKinds) < len(p.Devices) {
			p.DeviceKinds = append(p.DeviceKinds, dalil.DevicePhone)
		}
		p.Devices = append(p.Devices, fmt.Sprintf("LUG%06d", i))
		p.DeviceKinds = append(p.DeviceKinds, dalil.DeviceLuggageTag)
	}
	return ps, gs
}

var t0 = time.Date(2025, 6, 6, 8, 0, 0, 0, time.UTC)

func testConfig(phase Phase, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Seed = 42
	cfg.Phase = phase
	cfg.Start = t0
	cfg.Speed = 0
	cfg.Duration = d
	cfg.Step = 5 * time.Second
	return cfg
}

// collect runs the simulator and returns every ping it emitted.
func collect(t testing.TB, s *Simulator) []dalil.Position {
	t.Helper()
	var out []dalil.Position
	err := s.Run(context.Background(), func(_ context.Context, ps []dalil.Position) error {
		out = append(out, ps...)
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out
}

func TestDeterministicForASeed(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 300)
	cfg := testConfig(PhaseJamarat, 20*time.Minute)
	cfg.LostFraction, cfg.SilentFraction, cfg.EventWindow = 0.05, 0.3, 10*time.Minute
	a := collect(t, New(cfg, ix, ps, gs))
	b := collect(t, New(cfg, ix, ps, gs))
	if len(a) == 0 {
		t.Fatal("no pings")
	}
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different pings: %d vs %d", len(a), len(b))
	}
	cfg.Seed = 43
	c := collect(t, New(cfg, ix, ps, gs))
	if slices.Equal(a, c) {
		t.Fatal("another seed gave the same pings")
	}
}

// TestPilgrimsStayOnWalkableGround checks the true positions of everyone who
// is not lost: in the street or in their own camp, never in another camp.
func TestPilgrimsStayOnWalkableGround(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 400)
	for _, phase := range []Phase{PhaseMina, PhaseJamarat, PhaseArafat} {
		t.Run(string(phase), func(t *testing.T) {
			cfg := testConfig(phase, 90*time.Minute)
			cfg.LostFraction = 0.05
			s := New(cfg, ix, ps, gs)
			checked, walking := 0, 0
			step := 0
			err := s.Run(context.Background(), func(context.Context, []dalil.Position) error {
				step++
				if step%12 != 0 {
					return nil
				}
				lost := map[string]bool{}
				for _, l := range s.GroundTruth().Lost {
					lost[l.PID] = true
				}
				for _, p := range ps {
					pos, ok := s.TruePosition(p.PID)
					if !ok || lost[p.PID] {
						continue
					}
					camp, tent, _ := s.Home(p.PID)
					loc := ix.Locate(pos.Lat, pos.Lon, 1)
					if loc.Camp != "" && loc.Camp != camp {
						t.Fatalf("%s (home %s) is inside camp %s at %v", p.PID, camp, loc.Camp, pos)
					}
					if loc.Camp == "" {
						walking++
					}
					_ = tent
					checked++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if checked == 0 || walking == 0 {
				t.Fatalf("checked %d positions, %d in the streets: nobody walked", checked, walking)
			}
		})
	}
}

func TestGroundTruthListsTheLost(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 400)
	cfg := testConfig(PhaseJamarat, 3*time.Hour)
	cfg.LostFraction, cfg.EventWindow = 0.03, 20*time.Minute
	s := New(cfg, ix, ps, gs)
	var pings []dalil.Position
	err := s.Run(context.Background(), func(_ context.Context, b []dalil.Position) error {
		pings = append(pings, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gt := s.GroundTruth()
	if len(gt.Lost) == 0 || s.Stats().Lost != len(gt.Lost) {
		t.Fatalf("lost: truth %d, stats %d", len(gt.Lost), s.Stats().Lost)
	}
	guides := map[string]bool{}
	for _, g := range gs {
		guides[g.GuidePID] = true
	}
	sitting := 0
	for _, l := range gt.Lost {
		if guides[l.PID] {
			t.Errorf("guide %s got lost", l.PID)
		}
		if l.Since.Before(t0) || l.Since.After(t0.Add(3*time.Hour)) {
			t.Errorf("%s lost since %v, outside the run", l.PID, l.Since)
		}
		if pos, _ := s.TruePosition(l.PID); pos != l.Where {
			t.Errorf("%s: truth says %v, true position %v", l.PID, l.Where, pos)
		}
		if !l.Moving {
			sitting++
			if l.FromCamp < 200 {
				t.Errorf("%s sits %.0f m from their camp: not far", l.PID, l.FromCamp)
			}
			// Their devices report around where they sit.
			for _, dev := range l.Devices {
				last, ok := lastPing(pings, dev)
				if ok && last.Time.After(l.Since.Add(time.Hour)) {
					if d := geo.DistanceM(geo.Point{Lat: last.Lat, Lon: last.Lon}, l.Where); d > 60 {
						t.Errorf("%s's device %s reports %.0f m from where they sit", l.PID, dev, d)
					}
				}
			}
		}
	}
	if sitting == 0 {
		t.Errorf("no lost pilgrim sat down within 3 h")
	}
}

func lastPing(ps []dalil.Position, dev string) (dalil.Position, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Device == dev {
			return ps[i], true
		}
	}
	return dalil.Position{}, false
}

func TestSilentPhonesFlushABacklogOutOfOrder(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 200)
	cfg := testConfig(PhaseMina, time.Hour)
	cfg.SilentFraction, cfg.EventWindow = 0.5, 5*time.Minute
	s := New(cfg, ix, ps, gs)
	pings := collect(t, s)
	st := s.Stats()
	if st.Flushes == 0 || st.Flushed == 0 {
		t.Fatalf("no backlog flushed: %+v", st)
	}
	// Count, per device, pings older than one it sent before.
	newest := map[string]time.Time{}
	older := 0
	for _, p := range pings {
		if n, ok := newest[p.Device]; ok && p.Time.Before(n) {
			older++
			continue
		}
		newest[p.Device] = p.Time
	}
	if int64(older) != st.OutOfOrder || older == 0 {
		t.Fatalf("out-of-order pings: counted %d, stats %d", older, st.OutOfOrder)
	}
	// A silent phone sends nothing while silent: its pings jump over a gap
	// longer than 5 minutes before the flush.
	gaps := 0
	last := map[string]time.Time{}
	for _, p := range pings {
		if l, ok := last[p.Device]; ok && p.Time.Sub(l) >= 5*time.Minute {
			gaps++
		}
		if p.Time.After(last[p.Device]) {
			last[p.Device] = p.Time
		}
	}
	if gaps == 0 {
		t.Fatal("no silent gap in any phone's pings")
	}
}

func TestBagsLeftBehindStayPut(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 400)
	cfg := testConfig(PhaseJamarat, 2*time.Hour)
	cfg.LeftBagFraction, cfg.LostFraction, cfg.EventWindow = 0.5, -1, 20*time.Minute
	s := New(cfg, ix, ps, gs)
	pings := collect(t, s)
	gt := s.GroundTruth()
	if len(gt.LeftBags) == 0 {
		t.Fatal("no bag left behind")
	}
	byDevice := map[string][]dalil.Position{}
	for _, p := range pings {
		byDevice[p.Device] = append(byDevice[p.Device], p)
	}
	moved := 0
	for _, b := range gt.LeftBags {
		for _, p := range byDevice[b.Device] {
			if !p.Time.After(b.Since) {
				continue
			}
			if d := geo.DistanceM(geo.Point{Lat: p.Lat, Lon: p.Lon}, b.Where); d > 80 {
				t.Fatalf("bag %s reported %.0f m from where it was left", b.Device, d)
			}
		}
		if owner, _ := s.TruePosition(b.Owner); geo.DistanceM(owner, b.Where) > 100 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("every owner is still beside their left bag")
	}
}

func TestFixesLookLikeDevices(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 300)
	cfg := testConfig(PhaseJamarat, 40*time.Minute)
	cfg.SilentFraction = -1
	s := New(cfg, ix, ps, gs)
	owners := map[string]string{}
	for _, p := range ps {
		for _, d := range p.Devices {
			owners[d] = p.PID
		}
	}
	var ratios []float64
	batt := map[string]float32{}
	err := s.Run(context.Background(), func(_ context.Context, b []dalil.Position) error {
		for _, p := range b {
			if p.Accuracy < 4 || p.Accuracy > 13*1.2*1.6+0.1 {
				t.Fatalf("%s reports accuracy %.1f m", p.Device, p.Accuracy)
			}
			if p.Speed != dalil.Unknown && (p.Speed < 0 || p.Speed > 1.41) {
				t.Fatalf("%s walks at %.2f m/s", p.Device, p.Speed)
			}
			if prev, ok := batt[p.Device]; ok && p.Battery > prev {
				t.Fatalf("%s battery rose from %.1f to %.1f", p.Device, prev, p.Battery)
			}
			batt[p.Device] = p.Battery
		}
		// GPS noise: distance from the owner's true position, in accuracies.
		for _, p := range b {
			owner := owners[p.Device]
			if owner == "" || p.Device[:3] == "LUG" {
				continue
			}
			pos, _ := s.TruePosition(owner)
			ratios = append(ratios, geo.DistanceM(pos, geo.Point{Lat: p.Lat, Lon: p.Lon})/float64(p.Accuracy))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ratios)
	med := ratios[len(ratios)/2]
	// With sigma = acc/1.5 per axis the median radius is 1.1774·acc/1.5 ≈ 0.78·acc.
	if med < 0.6 || med > 0.95 {
		t.Fatalf("median GPS error is %.2f × the reported accuracy, want about 0.78", med)
	}
	drained := 0
	for _, v := range batt {
		if v < 100 {
			drained++
		}
	}
	if drained == 0 {
		t.Fatal("no battery drained")
	}
}

func TestRunRetriesWhenUnavailableAndStopsOnOtherErrors(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 100)
	cfg := testConfig(PhaseMina, 10*time.Minute)
	s := New(cfg, ix, ps, gs)
	var failed []dalil.Position
	calls := 0
	boom := errors.New("boom")
	err := s.Run(context.Background(), func(_ context.Context, b []dalil.Position) error {
		calls++
		switch {
		case failed == nil && len(b) > 0:
			failed = slices.Clone(b)
			return fmt.Errorf("store down: %w", dalil.ErrUnavailable)
		case len(failed) > 0 && calls < 1000:
			if len(b) < len(failed) || !slices.Equal(b[:len(failed)], failed) {
				t.Fatalf("the next emit does not start with the %d pings that failed", len(failed))
			}
			failed = failed[:0]
			calls = 1000
			return nil
		case calls > 1005:
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the emit error", err)
	}
	if s.Stats().EmitErrors != 1 {
		t.Fatalf("emit errors %d, want 1", s.Stats().EmitErrors)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ix := index(t)
	ps, gs := demoRegistry(t, ix, 50)
	cfg := testConfig(PhaseMina, 0) // forever
	cfg.Speed = 1000
	s := New(cfg, ix, ps, gs)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := s.Run(ctx, func(context.Context, []dalil.Position) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Fatal("a second Run did not fail")
	}
}

func TestPath(t *testing.T) {
	a := geo.Point{Lat: 21.41, Lon: 39.89}
	b := offset(a, 100, 0)
	c := offset(b, 0, 50)
	p := newPath([]geo.Point{a, b, c})
	if math.Abs(p.length()-150) > 0.01 {
		t.Fatalf("length %.3f, want 150", p.length())
	}
	mid, h := p.at(50)
	if d := flatDistanceM(mid, offset(a, 50, 0)); d > 0.01 || math.Abs(h-90) > 0.01 {
		t.Fatalf("at(50) = %v heading %.2f", mid, h)
	}
	end, h := p.at(125)
	if d := flatDistanceM(end, offset(b, 0, 25)); d > 0.01 || math.Abs(h) > 0.01 {
		t.Fatalf("at(125) = %v heading %.2f", end, h)
	}
	if q, _ := p.at(-5); q != a {
		t.Fatal("before the start is not the start")
	}
	if q, _ := p.at(500); q != c {
		t.Fatal("beyond the end is not the end")
	}
	r := p.reversed()
	if q, _ := r.at(0); q != c {
		t.Fatal("reversed path does not start at the end")
	}
	right := sideways(a, 0, 3) // facing north, 3 m to the right is east
	if d := flatDistanceM(right, offset(a, 3, 0)); d > 0.01 {
		t.Fatalf("sideways went %v", right)
	}
}

func TestParsePhaseAndKinds(t *testing.T) {
	for _, s := range []string{"mina", "jamarat", "arafat"} {
		if _, err := ParsePhase(s); err != nil {
			t.Errorf("ParsePhase(%q): %v", s, err)
		}
	}
	if _, err := ParsePhase("muzdalifah"); err == nil {
		t.Error("ParsePhase accepted muzdalifah")
	}
	for id, want := range map[string]dalil.DeviceKind{
		"LUG000001": dalil.DeviceLuggageTag, "tag-9": dalil.DeviceLuggageTag,
		"WB12345678": dalil.DeviceWristband, "356938035643809": dalil.DevicePhone,
	} {
		if got := KindFromID(id); got != want {
			t.Errorf("KindFromID(%q) = %s, want %s", id, got, want)
		}
	}
}
