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
	ring := func(xy ...float64) Ring {
		var r Ring
		for i := 0; i+1 < len(xy); i += 2 {
			r = append(r, shapesPoint(xy[i], xy[i+1]))
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
		// A door recess, 0.3 m wide and 1 m deep: close to a rectangle by
		// area, far from it for a fix in the recess.
		{ID: "mina-201/6", Camp: "mina-201", Number: 6, Capacity: 20,
			Polygon: ring(100, 10, 112.35, 10, 112.35, 11, 112.65, 11, 112.65, 10, 125, 10, 125, 20, 100, 20)},
		// Two tents sharing a wall.
		{ID: "mina-201/7", Camp: "mina-201", Number: 7, Capacity: 20, Polygon: ring(140, 10, 148, 10, 148, 18, 140, 18)},
		{ID: "mina-201/8", Camp: "mina-201", Number: 8, Capacity: 20, Polygon: ring(148, 10, 156, 10, 156, 18, 148, 18)},
		{ID: "mina-202/1", Camp: "mina-202", Number: 1, Capacity: 20, Polygon: ring(90, 90, 98, 90, 98, 98, 90, 98)},
	}
	l, err := NewLayout(append([]Area(nil), Default().Areas...), camps, tents)
	if err != nil {
		t.Fatalf("NewLayout: %v", err)
	}
	return l
}

// shapesPoint is the point x metres east and y north of shapesLayout's origin.
func shapesPoint(x, y float64) Point {
	origin := Point{Lat: 21.4140, Lon: 39.8850}
	return Point{
		Lat: origin.Lat + y/111_000,
		Lon: origin.Lon + x/(111_000*math.Cos(origin.Lat*math.Pi/180)),
	}
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
		p := shapesPoint(x, y)
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

// TestLocateWallsAndRecesses: a point exactly on the wall two tents share
// falls in one of them, the same one at every accuracy (the grid's path and
// the wide scan's alike) and as the polygon scan says; a fix in a door
// recess measures the recess's walls, not the rectangle around it.
func TestLocateWallsAndRecesses(t *testing.T) {
	l := shapesLayout(t)
	ix, err := NewIndex(l)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := l.Tent("mina-201/7")
	wall := mid(a.Polygon[1], a.Polygon[2]) // the east wall of 7, the west wall of 8
	_, want := bruteForce(l, wall)
	if want == "" {
		t.Fatal("the polygon scan puts the shared wall in no tent")
	}
	for _, acc := range []float64{1, 5, 12, 30, 200} {
		if got := ix.Locate(wall.Lat, wall.Lon, acc).Tent; got != want {
			t.Errorf("on the shared wall at ±%g m: tent %q, want %q", acc, got, want)
		}
	}

	recess := shapesPoint(112.5, 10.9)
	loc := ix.Locate(recess.Lat, recess.Lon, 3)
	if loc.Tent != "" || loc.Camp != "mina-201" {
		t.Fatalf("in the door recess: camp %q tent %q, want camp mina-201 and no tent", loc.Camp, loc.Tent)
	}
	if math.Abs(loc.EdgeDistanceM-0.1) > 0.011 {
		t.Errorf("in the door recess: edge %.3f m, want 0.10 m (the recess's end wall)", loc.EdgeDistanceM)
	}
}
