package geo

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// checkWalkable fails the test if any segment of the path passes through a
// tent (other than the one the walk starts in) or crosses a fence away from
// a gate. It works in a local metric frame and checks every tent and camp of
// the layout, independently of the routing code's own tests: exact edge
// crossings, plus points every 20 cm along each segment tested for
// containment.
func checkWalkable(t *testing.T, l *Layout, r Route) {
	t.Helper()
	f := newFrame(r.Path[0])
	xy := func(rg Ring) ringXY {
		out := make(ringXY, len(rg))
		for i, p := range rg {
			out[i] = f.xy(p)
		}
		return out
	}
	_, startTent := bruteForce(l, r.Path[0])
	bounds := tentBounds(l)
	for k := 0; k+1 < len(r.Path); k++ {
		a, b := f.xy(r.Path[k]), f.xy(r.Path[k+1])
		sb := boxXY{vec{math.Min(a.X, b.X), math.Min(a.Y, b.Y)}, vec{math.Max(a.X, b.X), math.Max(a.Y, b.Y)}}
		seg := Ring{r.Path[k], r.Path[k+1]}.bound()
		seg = bound{seg.minLat - 1e-5, seg.minLon - 1e-5, seg.maxLat + 1e-5, seg.maxLon + 1e-5}
		for i, tt := range l.Tents {
			if !campBounds(l)[tt.Camp].intersects(seg) {
				continue // tents lie inside their camp
			}
			if (k == 0 && tt.ID == startTent) || !bounds[i].intersects(seg) {
				continue
			}
			rg := xy(tt.Polygon)
			if !rg.box().intersects(sb) {
				continue
			}
			// The last segment ends on the destination tent's wall, at its door.
			atDoor := k == len(r.Path)-2 && tt.ID == r.Tent
			if !atDoor && rg.crossesSegment(a, b) {
				t.Fatalf("segment %d crosses tent %s", k, tt.ID)
			}
			n := int(a.dist(b)/0.2) + 1
			for s := 1; s < n; s++ {
				if p := a.lerp(b, float64(s)/float64(n)); rg.contains(p) {
					t.Fatalf("segment %d passes through tent %s", k, tt.ID)
				}
			}
		}
		for _, c := range l.Camps {
			rg := xy(c.Polygon)
			if !rg.box().intersects(sb) {
				continue
			}
			for e := 0; e+1 < len(rg); e++ {
				if !segmentsCross(a, b, rg[e], rg[e+1]) {
					continue
				}
				// Where does it cross? It must be at a gate.
				d1, d2 := orient(rg[e], rg[e+1], a), orient(rg[e], rg[e+1], b)
				x := a.lerp(b, d1/(d1-d2))
				atGate := false
				for _, g := range c.Gates {
					if x.dist(f.xy(g)) <= 3.5 {
						atGate = true
					}
				}
				if !atGate {
					t.Fatalf("segment %d crosses the fence of %s away from its gates", k, c.ID)
				}
			}
		}
	}
}

func TestRouteToTent(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	tt, _ := l.Tent("mina-094/3")
	starts := map[string]Point{
		"jamarat":      jamaratBridge,
		"street":       {Lat: 21.41, Lon: 39.89},
		"other camp":   l.TentsOf("mina-010")[20].Polygon.Centroid(),
		"same camp":    l.TentsOf("mina-094")[40].Polygon.Centroid(),
		"from arafat":  masjidNamirah,
		"in the tent":  tt.Polygon.Centroid(),
		"camp gateway": l.Camps[0].Gates[0],
	}
	for name, from := range starts {
		t.Run(name, func(t *testing.T) {
			r, err := ix.Route(from, tt.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Path[0] != from {
				t.Errorf("path starts at %v, not %v", r.Path[0], from)
			}
			checkWalkable(t, l, r)
			last := r.Path[len(r.Path)-1]
			f := newFrame(last)
			wall := math.Inf(1)
			for i := 0; i+1 < len(tt.Polygon); i++ {
				wall = math.Min(wall, math.Sqrt(segDist2(vec{}, f.xy(tt.Polygon[i]), f.xy(tt.Polygon[i+1]))))
			}
			if wall > 0.05 {
				t.Errorf("route ends %.2f m from the tent's wall", wall)
			}
			sum := 0.0
			for i := 1; i < len(r.Path); i++ {
				sum += DistanceM(r.Path[i-1], r.Path[i])
			}
			if math.Abs(sum-r.LengthM) > 0.1 || math.Abs(r.WalkSeconds-r.LengthM/WalkPaceMps) > 1 {
				t.Errorf("LengthM %.1f, path %.1f, walk %.0f s", r.LengthM, sum, r.WalkSeconds)
			}
			if r.LengthM < r.StraightM-8 {
				t.Errorf("route %.0f m shorter than the straight line %.0f m", r.LengthM, r.StraightM)
			}
			if name != "in the tent" && name != "same camp" && r.LengthM > 1.6*r.StraightM+100 {
				t.Errorf("route %.0f m for %.0f m straight: a detour", r.LengthM, r.StraightM)
			}
			if r.Tent != tt.ID || r.Camp != "mina-094" {
				t.Errorf("Tent %q Camp %q", r.Tent, r.Camp)
			}
			if name != "same camp" && name != "in the tent" {
				c, _ := l.Camp("mina-094")
				found := false
				for _, g := range c.Gates {
					found = found || g == r.Gate
				}
				if !found {
					t.Errorf("Gate %v is not a gate of mina-094", r.Gate)
				}
			}
		})
	}
}

func TestRandomRoutesNeverCrossTents(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	rng := rand.New(rand.NewPCG(9, 9))
	n := 12
	if testing.Short() {
		n = 3
	}
	for k := 0; k < n; k++ {
		from := Point{Lat: 21.402 + rng.Float64()*0.02, Lon: 39.876 + rng.Float64()*0.04}
		tt := &l.Tents[rng.IntN(len(l.Tents))]
		if k%2 == 1 { // start in a tent of another camp
			from = l.Tents[rng.IntN(len(l.Tents))].Polygon.Centroid()
		}
		r, err := ix.Route(from, tt.ID)
		if err != nil {
			t.Fatalf("Route(%v, %s): %v", from, tt.ID, err)
		}
		checkWalkable(t, l, r)
	}
}

func TestRouteBetween(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	// Two points in the same open street see each other: a straight walk.
	a := Point{Lat: 21.41, Lon: 39.89}
	b := Point{Lat: 21.41 + 2e-5, Lon: 39.89 + 2e-5}
	r, err := ix.RouteBetween(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Path) != 2 || math.Abs(r.LengthM-r.StraightM) > 0.05 || r.Camp != "" {
		t.Errorf("open street: %d points, %.2f m vs %.2f m straight, camp %q", len(r.Path), r.LengthM, r.StraightM, r.Camp)
	}
	// Across Mina into a camp's lane, from the Jamarat.
	c, _ := l.Camp("mina-060")
	to := c.Gates[0]
	f := newFrame(to)
	cen := f.xy(c.Polygon.Centroid()).unit()
	to = f.point(cen.scale(2.5)) // 2.5 m inside the gate
	r, err = ix.RouteBetween(jamaratBridge, to)
	if err != nil {
		t.Fatal(err)
	}
	checkWalkable(t, l, r)
	if r.Path[len(r.Path)-1] != to || r.Camp != "mina-060" || r.Gate == (Point{}) {
		t.Errorf("ends at %v in camp %q by gate %v", r.Path[len(r.Path)-1], r.Camp, r.Gate)
	}
	if b := BearingDeg(jamaratBridge, to); math.Abs(r.BearingDeg-b) > 1e-9 {
		t.Errorf("bearing %.1f, want %.1f", r.BearingDeg, b)
	}
	// Mina to Arafat: the street graph spans both sites.
	if _, err := ix.RouteBetween(jamaratBridge, masjidNamirah); err != nil {
		t.Errorf("Jamarat to Namirah: %v", err)
	}
}

func TestRouteErrors(t *testing.T) {
	ix := testIndex(t)
	if _, err := ix.Route(jamaratBridge, "mina-999/1"); !errors.Is(err, ErrUnknownTent) {
		t.Errorf("unknown tent: %v", err)
	}
	if _, err := ix.Route(Point{Lat: math.NaN()}, "mina-094/3"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("NaN start: %v", err)
	}
}

func TestRouteGeoJSON(t *testing.T) {
	ix := testIndex(t)
	r, err := ix.Route(jamaratBridge, "mina-094/3")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.GeoJSON()
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Type     string
		Geometry struct {
			Type        string
			Coordinates [][2]float64
		}
		Properties map[string]any
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "Feature" || f.Geometry.Type != "LineString" || len(f.Geometry.Coordinates) != len(r.Path) {
		t.Fatalf("GeoJSON %s", b)
	}
	if c := f.Geometry.Coordinates[0]; c[0] != jamaratBridge.Lon || c[1] != jamaratBridge.Lat {
		t.Errorf("first position %v: want [lon, lat] of the start", c)
	}
	for _, k := range []string{"length_m", "walk_s", "straight_m", "bearing_deg", "tent", "camp", "gate", "pace_mps"} {
		if _, ok := f.Properties[k]; !ok {
			t.Errorf("property %q missing", k)
		}
	}
}

// BenchmarkRoute walks across Mina: from the Jamarat to a tent near the
// Muzdalifah end, ~4.5 km.
func BenchmarkRoute(b *testing.B) {
	ix := testIndex(b)
	far := ""
	best := 0.0
	for _, c := range ix.Layout().Camps {
		if d := DistanceM(jamaratBridge, c.Polygon.Centroid()); c.Site == SiteMina && d > best {
			best, far = d, c.ID
		}
	}
	tent := ix.Layout().TentsOf(far)[30].ID
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := ix.Route(jamaratBridge, tent); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkRouteCampToCamp starts inside one camp and ends inside another.
func BenchmarkRouteCampToCamp(b *testing.B) {
	ix := testIndex(b)
	l := ix.Layout()
	from := l.TentsOf("mina-005")[10].Polygon.Centroid()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := ix.Route(from, "mina-094/3"); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}
