package tracking

import (
	"context"
	"strings"
	"testing"
	"time"

	"dalil/registry"
)

// A pilgrim's position is the posterior: the camp with its probability, the
// likeliest tent with its probability, sharpening while they rest, in every
// answer (Pilgrim, Device, the bulk queries' place).
func TestEnginePublishesThePosterior(t *testing.T) {
	ix := defaultIndex(t)
	l := ix.Layout()
	ps, gs := registry.GenerateRegistry(l, 20, 3)
	reg := registry.NewRegistry()
	if err := reg.Import(context.Background(), nil, ps, gs); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(DefaultEngineConfig(), newTrkStore(), reg, ix, nil, nil)
	p := &ps[0]
	tent, _ := l.Tent(p.Tent)
	c := tent.Polygon.Centroid()
	var first float64
	for k := range 10 {
		// ~2 m of jitter around the tent's centre, every 30 s, ±8 m.
		lat := c.Lat + float64(k%3-1)*2e-5
		mustAccept(t, e, Position{Device: p.Devices[0], Time: engT0.Add(time.Duration(k) * 30 * time.Second), Lat: lat, Lon: c.Lon,
			Accuracy: 8, Speed: 0.1, Heading: Unknown, Altitude: Unknown, Battery: Unknown})
		s, ok := e.Pilgrim(p.PID)
		if !ok {
			t.Fatal("no live position")
		}
		loc := s.Location
		if !loc.Posterior || loc.Camp != p.Camp || loc.CampProbability < 0.9 || loc.Tent != p.Tent || loc.TentProbability <= 0 {
			t.Fatalf("fix %d: %+v; want the posterior naming camp %s and tent %s with probabilities", k, loc, p.Camp, p.Tent)
		}
		if k == 0 {
			first = loc.TentProbability
		}
		if k == 9 && !(loc.TentProbability > first) {
			t.Fatalf("tent probability %.3f after ten fixes, %.3f after one: no fusion", loc.TentProbability, first)
		}
		if !strings.Contains(loc.Describe(), "probably tent "+p.Tent+" (") {
			t.Fatalf("Describe = %q", loc.Describe())
		}
	}
	d, _ := e.Device(p.Devices[0])
	pl, _ := e.Pilgrim(p.PID)
	if d.Location.TentProbability != pl.Location.TentProbability || d.Location.Camp != pl.Location.Camp {
		t.Fatalf("Device and Pilgrim disagree: %+v vs %+v", d.Location, pl.Location)
	}
	near := e.InCamp(p.Camp)
	found := false
	for _, s := range near {
		if s.Pilgrim == p.PID {
			found = true
			if s.Location.CampProbability < 0.9 || s.Location.TentProbability <= 0 {
				t.Fatalf("bulk answer without the posterior's probabilities: %+v", s.Location)
			}
		}
	}
	if !found {
		t.Fatalf("InCamp(%s) misses %s", p.Camp, p.PID)
	}
}
