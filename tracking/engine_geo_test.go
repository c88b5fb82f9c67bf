package tracking

import (
	"context"
	"slices"
	"testing"
	"time"

	"dalil/geo"
	"dalil/registry"
)

// These tests run the engine over the layout that ships with the binary and
// its real H3 index.

func defaultIndex(t testing.TB) *geo.Index {
	t.Helper()
	ix, err := geo.NewIndex(geo.Default())
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestEngineWithDefaultLayout(t *testing.T) {
	ix := defaultIndex(t)
	l := ix.Layout()
	ps, gs := registry.GenerateRegistry(l, 1500, 3)
	reg := registry.NewRegistry()
	if err := reg.Import(context.Background(), nil, ps, gs); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(DefaultEngineConfig(), newTrkStore(), reg, ix, nil, nil)

	// Every pilgrim's first device reports from the middle of their tent.
	batch := make([]Position, 0, len(ps))
	for i := range ps {
		tent, ok := l.Tent(ps[i].Tent)
		if !ok {
			t.Fatalf("%s: tent %q not in the layout", ps[i].PID, ps[i].Tent)
		}
		c := tent.Polygon.Centroid()
		batch = append(batch, Position{Device: ps[i].Devices[0], Time: engT0, Lat: c.Lat, Lon: c.Lon, Accuracy: 3,
			Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: Unknown})
	}
	mustAccept(t, e, batch...)

	byTent := make(map[string][]string)
	byCamp := make(map[string]int)
	for i := range ps {
		p := &ps[i]
		s, ok := e.Pilgrim(p.PID)
		if !ok {
			t.Fatalf("%s has no live position", p.PID)
		}
		if s.Location.Camp != p.Camp || s.Location.Tent != p.Tent || s.Location.Site != geo.SiteMina {
			t.Fatalf("%s located in %s %q %q, assigned %q %q", p.PID, s.Location.Site, s.Location.Camp, s.Location.Tent, p.Camp, p.Tent)
		}
		if s.Location.NumCandidates == 0 {
			t.Fatalf("%s: Pilgrim() lost the tent candidates", p.PID)
		}
		byTent[p.Tent] = append(byTent[p.Tent], p.PID)
		byCamp[p.Camp]++
	}
	for tent, want := range byTent {
		var got []string
		for _, s := range e.InTent(tent) {
			got = append(got, s.Pilgrim)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("InTent(%s) = %v, want %v", tent, got, want)
		}
	}
	for camp, n := range byCamp {
		if got := len(e.InCamp(camp)); got != n {
			t.Fatalf("InCamp(%s) = %d, want %d", camp, got, n)
		}
	}
	// The H3 cell Locate reported finds the pilgrim again.
	s, _ := e.Pilgrim(ps[0].PID)
	found := false
	for _, x := range e.InCell(s.Location.Cell) {
		found = found || x.Pilgrim == ps[0].PID
	}
	if !found {
		t.Fatalf("InCell(%x) misses %s", s.Location.Cell, ps[0].PID)
	}

	// A walk out of the tent to the middle of the street outside the camp
	// raises tent_exit and camp_exit once.
	rec := &trkRecorder{}
	e.pub = rec
	p := &ps[0]
	camp, _ := l.Camp(p.Camp)
	gate := camp.Gates[0]
	out := gate
	for d := 5.0; d < 60; d += 5 { // step away from the camp until the street is sure
		cl := camp.Polygon.Centroid()
		lat, lon := gate.Lat+(gate.Lat-cl.Lat)*d/100, gate.Lon+(gate.Lon-cl.Lon)*d/100
		if loc := ix.Locate(lat, lon, 5); loc.Camp == "" && loc.EdgeDistanceM > 8 {
			out = geo.Point{Lat: lat, Lon: lon}
			break
		}
	}
	if loc := ix.Locate(out.Lat, out.Lon, 5); loc.Camp != "" {
		t.Skipf("could not find a street point outside %s", p.Camp)
	}
	for i := 1; i <= 4; i++ {
		mustAccept(t, e, Position{Device: p.Devices[0], Time: engT0.Add(time.Duration(i) * 10 * time.Second),
			Lat: out.Lat, Lon: out.Lon, Accuracy: 5, Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: Unknown})
	}
	if got := eventKinds(rec.takeEvents()); !slices.Equal(got, []EventKind{EventTentExit, EventCampExit}) {
		t.Fatalf("events %v, want tent_exit, camp_exit", got)
	}
}
