package geo

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

// atOffset is p moved by east and north metres.
func atOffset(ix *Index, p Point, east, north float64) Point {
	return ix.f.point(ix.f.xy(p).add(vec{east, north}))
}

func TestTrackIsSmall(t *testing.T) {
	// Two million devices each keep one.
	if s := unsafe.Sizeof(Track{}); s > 32 {
		t.Fatalf("Track is %d bytes; want ≤ 32", s)
	}
}

func TestPosteriorSharpensWhileStillAndFollowsAWalk(t *testing.T) {
	ix := testIndex(t)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	var tr Track
	var first, last float64
	// Fixes around the tent's centre, 3 m off in turn, 30 s apart, 8 m.
	offs := [][2]float64{{3, 0}, {-3, 0}, {0, 3}, {0, -3}, {2, 2}, {-2, -2}, {2, -2}, {-2, 2}, {3, 1}, {-3, -1}}
	for k, o := range offs {
		p := atOffset(ix, c, o[0], o[1])
		loc := ix.Locate(p.Lat, p.Lon, 8)
		ix.Refine(&loc, &tr, Fix{T: int64(k) * 30e9, Lat: p.Lat, Lon: p.Lon, AccM: 8, SpeedMps: 0.1}, Prior{})
		if !loc.Posterior || loc.Camp != tt.Camp || loc.CampProbability < 0.9 {
			t.Fatalf("fix %d: camp %q (%.3f), want %s", k, loc.Camp, loc.CampProbability, tt.Camp)
		}
		if loc.Tent != tt.ID {
			t.Fatalf("fix %d: tent %q (%.3f), want %s", k, loc.Tent, loc.TentProbability, tt.ID)
		}
		if k == 0 {
			first = loc.TentProbability
		}
		last = loc.TentProbability
	}
	if !(last > first+0.1) {
		t.Fatalf("tent probability %.3f after ten still fixes, %.3f after one: fusion does not sharpen", last, first)
	}
	// Walking away 40 m along the lane: the answer follows at once.
	p := atOffset(ix, c, 40, 0)
	want := ix.Locate(p.Lat, p.Lon, 0.01)
	loc := ix.Locate(p.Lat, p.Lon, 5)
	ix.Refine(&loc, &tr, Fix{T: 11 * 30e9, Lat: p.Lat, Lon: p.Lon, AccM: 5, SpeedMps: 1.1}, Prior{})
	if loc.FusedFixes > 1.01 {
		t.Fatalf("a walking fix kept %.2f fused fixes; want a fresh start", loc.FusedFixes)
	}
	if want.Camp != "" && loc.Camp != want.Camp {
		t.Fatalf("after the walk: camp %q, want %q", loc.Camp, want.Camp)
	}
}

func TestPosteriorRegistryPriorIsNotAVerdict(t *testing.T) {
	ix := testIndex(t)
	own, _ := ix.Layout().Tent("mina-094/3")
	// A pilgrim registered in mina-094/3 resting in a tent of another camp
	// far away: the registry must not pull the answer back home.
	other := ix.Layout().TentsOf("mina-050")[5]
	c := other.Polygon.Centroid()
	var tr Track
	var loc Location
	for k := range 10 {
		loc = ix.Locate(c.Lat, c.Lon, 8)
		ix.Refine(&loc, &tr, Fix{T: int64(k) * 30e9, Lat: c.Lat, Lon: c.Lon, AccM: 8, SpeedMps: 0.1}, Prior{Camp: own.Camp, Tent: own.ID})
	}
	if loc.Camp != other.Camp || loc.Tent != other.ID {
		t.Fatalf("camp %q tent %q; want %s %s", loc.Camp, loc.Tent, other.Camp, other.ID)
	}
	// Next door to their own tent, the registry leans towards it, but says so
	// with a probability, not a certainty.
	p := atOffset(ix, own.Polygon.Centroid(), 9, 0)
	tr = Track{}
	loc = ix.Locate(p.Lat, p.Lon, 8)
	ix.Refine(&loc, &tr, Fix{T: 0, Lat: p.Lat, Lon: p.Lon, AccM: 8}, Prior{Camp: own.Camp, Tent: own.ID})
	if loc.TentProbability >= 0.99 || loc.TentProbability <= 0 {
		t.Fatalf("one 8 m fix next to the registered tent: tent %s %.3f; want a probability, not a verdict", loc.Tent, loc.TentProbability)
	}
	sum := loc.StreetProbability
	for _, c := range loc.Candidates() {
		sum += c.Probability
	}
	if sum > 1.0001 {
		t.Fatalf("tent and street probabilities sum to %.4f > 1", sum)
	}
}

func TestPosteriorDescribeNamesProbabilities(t *testing.T) {
	ix := testIndex(t)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	var tr Track
	loc := ix.Locate(c.Lat, c.Lon, 8)
	ix.Refine(&loc, &tr, Fix{Lat: c.Lat, Lon: c.Lon, AccM: 8}, Prior{})
	d := loc.Describe()
	if !strings.HasPrefix(d, "Near camp 94 (") || !strings.Contains(d, "probably tent mina-094/3 (") || !strings.Contains(d, "%)") {
		t.Fatalf("Describe = %q; want \"Near camp 94 (…; N %%), probably tent mina-094/3 (N %%).\"", d)
	}
}

func TestRefineDoesNotAllocate(t *testing.T) {
	ix := testIndex(t)
	ps := fixes(ix.Layout(), 64)
	var tr Track
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		p := ps[i&63]
		loc := ix.Locate(p.Lat, p.Lon, 8)
		ix.Refine(&loc, &tr, Fix{T: int64(i) * 30e9, Lat: p.Lat, Lon: p.Lon, AccM: 8}, Prior{Tent: "mina-094/3"})
		i++
	})
	if allocs != 0 {
		t.Fatalf("Locate+Refine: %.1f allocations per fix, want 0", allocs)
	}
}

func TestRefineIgnoresBadInput(t *testing.T) {
	ix := testIndex(t)
	var tr Track
	loc := Location{StreetProbability: 1}
	ix.Refine(&loc, &tr, Fix{Lat: math.NaN(), Lon: 39.9}, Prior{})
	if loc.Posterior || tr.valid {
		t.Fatal("a NaN fix changed the track")
	}
}

// BenchmarkRefine is the posterior's cost per fix beyond Locate, for fixes
// at ±8 m scattered over Mina (a fresh start every fix: the far-fix path)
// and for a pilgrim resting in one place (the fusion path).
func BenchmarkRefine(b *testing.B) {
	ix := testIndex(b)
	ps := fixes(ix.Layout(), 4096)
	b.Run("scattered", func(b *testing.B) {
		var tr Track
		var loc Location
		b.ReportAllocs()
		i := 0
		cpu := startCPU()
		for b.Loop() {
			p := ps[i&4095]
			ix.Refine(&loc, &tr, Fix{T: int64(i) * 30e9, Lat: p.Lat, Lon: p.Lon, AccM: 8}, Prior{Tent: "mina-094/3"})
			i++
		}
		cpu.report(b)
	})
	b.Run("resting", func(b *testing.B) {
		tt, _ := ix.Layout().Tent("mina-094/3")
		c := tt.Polygon.Centroid()
		var tr Track
		var loc Location
		b.ReportAllocs()
		i := 0
		cpu := startCPU()
		for b.Loop() {
			p := atOffset(ix, c, float64(i%7)-3, float64(i%5)-2)
			ix.Refine(&loc, &tr, Fix{T: int64(i) * 30e9, Lat: p.Lat, Lon: p.Lon, AccM: 8, SpeedMps: 0.1}, Prior{Tent: "mina-094/3"})
			i++
		}
		cpu.report(b)
	})
}
