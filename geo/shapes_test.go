package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// shapesLayout is a hand-built Mina camp whose shapes take Locate's slower
// paths: the camp is L-shaped (concave), and so is one tent; another tent
// is a convex pentagon, another a plain rectangle, and a 150 m hall is too
// long for a grid cell's packed offsets. A second, rectangular camp stands
// across a street. Shapes are given in metres east and north of an origin
// in Mina.
func shapesLayout(t testing.TB) *Layout {
	t.Helper()
	origin := Point{Lat: 21.4140, Lon: 39.8850}
	ring := func(xy ...float64) Ring {
		var r Ring
		for i := 0; i+1 < len(xy); i += 2 {
			r = append(r, Point{
				Lat: origin.Lat + xy[i+1]/111_000,
				Lon: origin.Lon + xy[i]/(111_000*math.Cos(origin.Lat*math.Pi/180)),
			})
		}
		return append(r, r[0])
	}
	camps := []Camp{
		{ID: "mina-201", Site: SiteMina, Number: 201, Zone: 3, Category: "B", Capacity: 500,
			// An L: 200 m along the bottom, 60 m up the left side to 160 m.
			Polygon: ring(0, 0, 200, 0, 200, 60, 60, 60, 60, 160, 0, 160), Gates: ring(100, 0)[:1]},
		{ID: "mina-202", Site: SiteMina, Number: 202, Zone: 3, Category: "B", Capacity: 500,
			Polygon: ring(80, 80, 180, 80, 180, 160, 80, 160), Gates: ring(130, 80)[:1]},
	}
	tents := []Tent{
		{ID: "mina-201/1", Camp: "mina-201", Number: 1, Capacity: 20, Polygon: ring(10, 10, 18, 10, 18, 18, 10, 18)},
		// An L-shaped tent.
		{ID: "mina-201/2", Camp: "mina-201", Number: 2, Capacity: 20, Polygon: ring(22, 10, 40, 10, 40, 16, 28, 16, 28, 30, 22, 30)},
		// A convex pentagon.
		{ID: "mina-201/3", Camp: "mina-201", Number: 3, Capacity: 20, Polygon: ring(45, 10, 55, 10, 57, 18, 50, 24, 43, 18)},
		// A hall longer than a grid cell's packed offsets reach.
		{ID: "mina-201/4", Camp: "mina-201", Number: 4, Capacity: 400, Polygon: ring(30, 35, 190, 35, 190, 45, 30, 45)},
		{ID: "mina-201/5", Camp: "mina-201", Number: 5, Capacity: 20, Polygon: ring(10, 100, 18, 100, 18, 108, 10, 108)},
		{ID: "mina-202/1", Camp: "mina-202", Number: 1, Capacity: 20, Polygon: ring(90, 90, 98, 90, 98, 98, 90, 98)},
	}
	l, err := NewLayout(append([]Area(nil), Default().Areas...), camps, tents)
	if err != nil {
		t.Fatalf("NewLayout: %v", err)
	}
	return l
}

// TestLocateShapes checks Locate on concave and non-rectangular camps and
// tents, and on a tent too long for the packed grid lists, against a scan
// of every polygon in degrees: the containing camp and tent, and the
// distance to the nearest edge.
func TestLocateShapes(t *testing.T) {
	l := shapesLayout(t)
	ix, err := NewIndex(l)
	if err != nil {
		t.Fatal(err)
	}
	if ix.campPlanes[0] != nil || ix.campPlanes[1] == nil {
		t.Fatalf("convexity: L-shaped camp planes %v, rectangular camp planes %v", ix.campPlanes[0], ix.campPlanes[1])
	}
	long := 0
	for _, r := range ix.tentRefs {
		if r.rad == radUnbounded {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no grid cell lists the hall beyond its packed offsets: the test misses that path")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[string]int{}
	for k := 0; k < 20000; k++ {
		x, y := -20+rng.Float64()*240, -20+rng.Float64()*200
		p := ix.f.point(vec{x, y}.add(ix.f.xy(Point{Lat: 21.4140, Lon: 39.8850})))
		loc := ix.Locate(p.Lat, p.Lon, 5)
		camp, tent := bruteForce(l, p)
		if loc.Camp != camp || loc.Tent != tent {
			t.Fatalf("(%.2f, %.2f) m: Locate camp %q tent %q; brute force camp %q tent %q", x, y, loc.Camp, loc.Tent, camp, tent)
		}
		seen[camp+"|"+tent]++
		// The nearest edge, measured on every ring: the camp's fence (or the
		// nearest fence from a street) and every tent within the scan.
		q := ix.f.xy(p)
		want := math.Inf(1)
		for i := range ix.camps {
			want = math.Min(want, ix.camps[i].ring.edgeDist(q))
		}
		for i := range ix.tents {
			want = math.Min(want, ix.tents[i].ring.edgeDist(q))
		}
		if want <= minScanM && math.Abs(loc.EdgeDistanceM-want) > 0.011 {
			t.Fatalf("(%.2f, %.2f) m: edge %.3f m, want %.3f m", x, y, loc.EdgeDistanceM, want)
		}
		sum := loc.StreetProbability
		for _, c := range loc.Candidates() {
			sum += c.Probability
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Fatalf("(%.2f, %.2f) m: probabilities sum to %.4f", x, y, sum)
		}
	}
	for _, want := range []string{"mina-201|mina-201/2", "mina-201|mina-201/3", "mina-201|mina-201/4", "mina-201|", "mina-202|mina-202/1", "|"} {
		if seen[want] == 0 {
			t.Errorf("no random point fell in %q: the test misses that path", want)
		}
	}
}
