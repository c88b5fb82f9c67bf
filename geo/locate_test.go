package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	h3 "github.com/uber/h3-go/v4"
)

// bruteForce finds the camp and tent containing p by scanning every camp
// polygon and then every tent of that camp (tents lie inside their camp:
// the loaders guarantee it).
func bruteForce(l *Layout, p Point) (camp, tent string) {
	for _, c := range l.Camps {
		if c.Polygon.Contains(p) {
			camp = c.ID
		}
	}
	for _, t := range l.TentsOf(camp) {
		if t.Polygon.Contains(p) {
			tent = t.ID
		}
	}
	return camp, tent
}

func TestLocateKnownTents(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	for _, id := range []string{"mina-094/3", "mina-001/1", "mina-050/17", "arafat-010/4"} {
		tt, _ := l.Tent(id)
		c, _ := l.Camp(tt.Camp)
		loc := ix.Locate(tt.Polygon.Centroid().Lat, tt.Polygon.Centroid().Lon, 2)
		if loc.Tent != id || loc.Camp != c.ID || loc.CampNumber != c.Number || loc.Zone != c.Zone || loc.Site != c.Site {
			t.Errorf("%s: Locate = %+v", id, loc)
		}
		if cs := loc.Candidates(); len(cs) == 0 || cs[0].Tent != id || cs[0].Probability < 0.8 {
			t.Errorf("%s at ±2 m: candidates %v", id, cs)
		}
		if loc.NearCamps != [2]string{} {
			t.Errorf("%s: NearCamps %v inside a camp", id, loc.NearCamps)
		}
		if want := "In tent " + id; !strings.HasPrefix(loc.Describe(), want) {
			t.Errorf("Describe() = %q, want %q…", loc.Describe(), want)
		}
	}
}

// TestLocateMatchesBruteForce compares Locate with a scan over every polygon
// for random points across Mina and Arafat, many of them on tent edges.
func TestLocateMatchesBruteForce(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	rng := rand.New(rand.NewPCG(1, 2))
	n := 4000
	if testing.Short() {
		n = 500
	}
	for k := 0; k < n; k++ {
		var p Point
		switch k % 3 {
		case 0: // anywhere in the Mina valley
			p = Point{Lat: 21.398 + rng.Float64()*0.03, Lon: 39.872 + rng.Float64()*0.048}
		case 1: // on or near a tent's edge
			tt := &l.Tents[rng.IntN(len(l.Tents))]
			a, b := tt.Polygon[0], tt.Polygon[1]
			f := rng.Float64()
			e := 2e-6 * (rng.Float64() - 0.5) // ±10 cm
			p = Point{Lat: a.Lat + (b.Lat-a.Lat)*f + e, Lon: a.Lon + (b.Lon-a.Lon)*f - e}
		case 2: // near a fence
			c := &l.Camps[rng.IntN(len(l.Camps))]
			a, b := c.Polygon[1], c.Polygon[2]
			f := rng.Float64()
			e := 2e-5 * (rng.Float64() - 0.5) // ±1 m
			p = Point{Lat: a.Lat + (b.Lat-a.Lat)*f + e, Lon: a.Lon + (b.Lon-a.Lon)*f + e}
		}
		loc := ix.Locate(p.Lat, p.Lon, 8)
		camp, tent := bruteForce(l, p)
		if loc.Camp != camp || loc.Tent != tent {
			t.Fatalf("Locate(%v) = camp %q tent %q; brute force: camp %q tent %q", p, loc.Camp, loc.Tent, camp, tent)
		}
	}
}

// TestLocateGridMatchesFullScan checks the grid's candidate lists against
// the exhaustive scan (every camp, every tent near the fix) for random fixes
// over Mina and Arafat at the accuracies the lists serve: same camp, tent,
// neighbours and probabilities. A list that missed a tent or a camp within
// reach would show here.
func TestLocateGridMatchesFullScan(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	rng := rand.New(rand.NewPCG(9, 10))
	n := 3000
	if testing.Short() {
		n = 400
	}
	for k := 0; k < n; k++ {
		var p Point
		switch k % 3 {
		case 0: // the Mina valley and around it
			p = Point{Lat: 21.395 + rng.Float64()*0.035, Lon: 39.868 + rng.Float64()*0.055}
		case 1: // Arafat and around it
			p = Point{Lat: 21.34 + rng.Float64()*0.03, Lon: 39.95 + rng.Float64()*0.04}
		case 2: // within a few metres of a tent
			c := l.Tents[rng.IntN(len(l.Tents))].Polygon.Centroid()
			p = Point{Lat: c.Lat + (rng.Float64()-0.5)*1e-4, Lon: c.Lon + (rng.Float64()-0.5)*1e-4}
		}
		acc := 1 + rng.Float64()*16.5 // 3σ within the lists' 35 m reach
		var got Location
		ix.place(&got, p.Lat, p.Lon, acc)
		want := ix.locateByScan(p, acc)
		if got.Camp != want.Camp || got.Tent != want.Tent || got.NearCamps != want.NearCamps ||
			got.Site != want.Site || got.Zone != want.Zone || got.Area != want.Area {
			t.Fatalf("%v ±%.1f m: grid %+v\nfull scan %+v", p, acc, got, want)
		}
		if math.Abs(got.StreetProbability-want.StreetProbability) > 2e-4 {
			t.Fatalf("%v ±%.1f m: street %.4f, full scan %.4f", p, acc, got.StreetProbability, want.StreetProbability)
		}
		wp := map[string]float64{}
		for _, c := range want.Candidates() {
			wp[c.Tent] = c.Probability
		}
		for _, c := range got.Candidates() {
			if w, ok := wp[c.Tent]; (ok || c.Probability > 0.005) && math.Abs(c.Probability-w) > 2e-4 {
				t.Fatalf("%v ±%.1f m: %s %.4f, full scan %.4f", p, acc, c.Tent, c.Probability, w)
			}
		}
		// Both measure every edge within the scan radius (max(3σ, 10 m)); the
		// grid may also see tents a little beyond it. Far from every camp
		// the edge is the nearest fence, found through the far grid.
		scan := math.Max(reachSigmas*acc/accuracyToSigma, minScanM)
		if want.EdgeDistanceM > campReachM && got.EdgeDistanceM != want.EdgeDistanceM {
			t.Fatalf("%v: %.2f m from the nearest camp, full scan %.2f m", p, got.EdgeDistanceM, want.EdgeDistanceM)
		}
		if (want.EdgeDistanceM <= scan && math.Abs(got.EdgeDistanceM-want.EdgeDistanceM) > 0.011) ||
			got.EdgeDistanceM > want.EdgeDistanceM+0.011 {
			t.Fatalf("%v ±%.1f m: edge %.2f m, full scan %.2f m", p, acc, got.EdgeDistanceM, want.EdgeDistanceM)
		}
	}
}

func TestLocateStreetBetweenCamps(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	// Two camps in the same column, one above the other: the street between
	// them runs along their facing fences.
	a, _ := l.Camp("mina-094")
	var b *Camp
	best := math.Inf(1)
	for i := range l.Camps {
		c := &l.Camps[i]
		if c.ID == a.ID || c.Site != SiteMina {
			continue
		}
		if d := DistanceM(a.Polygon.Centroid(), c.Polygon.Centroid()); d < best {
			best, b = d, c
		}
	}
	// Walk from a's centre to b's centre; the middle of the gap is in the street.
	var in []Point
	ca, cb := a.Polygon.Centroid(), b.Polygon.Centroid()
	for f := 0.0; f <= 1; f += 0.001 {
		p := Point{Lat: ca.Lat + (cb.Lat-ca.Lat)*f, Lon: ca.Lon + (cb.Lon-ca.Lon)*f}
		if c, _ := bruteForce(l, p); c == "" {
			in = append(in, p)
		}
	}
	if len(in) == 0 {
		t.Fatal("no street between the two nearest camps")
	}
	p := in[len(in)/2]
	loc := ix.Locate(p.Lat, p.Lon, 5)
	if loc.Camp != "" || loc.Tent != "" {
		t.Fatalf("street point placed in camp %q tent %q", loc.Camp, loc.Tent)
	}
	got := map[string]bool{loc.NearCamps[0]: true, loc.NearCamps[1]: true}
	if !got[a.ID] || !got[b.ID] {
		t.Errorf("NearCamps = %v, want %s and %s", loc.NearCamps, a.ID, b.ID)
	}
	if loc.Site != SiteMina || loc.Zone == 0 {
		t.Errorf("site %q zone %d in a Mina street", loc.Site, loc.Zone)
	}
	if loc.EdgeDistanceM <= 0 || loc.EdgeDistanceM > 20 {
		t.Errorf("EdgeDistanceM %.1f in a ~20 m street", loc.EdgeDistanceM)
	}
	if loc.StreetProbability < 0.99 {
		t.Errorf("StreetProbability %.3f in the street", loc.StreetProbability)
	}
	if d := loc.Describe(); !strings.Contains(d, "In the street between camps ") || !strings.Contains(d, " 94 ") && !strings.Contains(d, " 94)") && !strings.Contains(d, "camps 94") {
		t.Errorf("Describe() = %q", d)
	}
}

func TestLocateLaneInsideCamp(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	c, _ := l.Camp("mina-094")
	// 2.5 m inside the middle of the first fence edge: the perimeter lane.
	pl := newPlane(c.Polygon[0], BearingDeg(c.Polygon[0], c.Polygon[1]))
	length := DistanceM(c.Polygon[0], c.Polygon[1])
	p := pl.at(length/2, 2.5)
	loc := ix.Locate(p.Lat, p.Lon, 3)
	if loc.Camp != c.ID || loc.Tent != "" {
		t.Fatalf("lane point: camp %q tent %q", loc.Camp, loc.Tent)
	}
	f := newFrame(p)
	fence := math.Inf(1)
	for i := 0; i+1 < len(c.Polygon); i++ {
		fence = math.Min(fence, math.Sqrt(segDist2(vec{}, f.xy(c.Polygon[i]), f.xy(c.Polygon[i+1]))))
	}
	if fence < 2 || fence > 3 || math.Abs(loc.EdgeDistanceM-fence) > 0.05 {
		t.Errorf("EdgeDistanceM %.2f, want %.2f (to the fence)", loc.EdgeDistanceM, fence)
	}
	if !strings.Contains(loc.Describe(), "in a lane") {
		t.Errorf("Describe() = %q", loc.Describe())
	}
}

// TestLocateProbabilities checks the model against a Monte Carlo simulation
// of the same Gaussian error, counted with brute-force containment.
func TestLocateProbabilities(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	tt, _ := l.Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	rng := rand.New(rand.NewPCG(3, 4))
	f := newFrame(c)
	for _, acc := range []float64{3, 8, 13} {
		// Near a corner of the tent, so that several tents share the mass.
		p := Point{Lat: c.Lat + 3.5/f.ky, Lon: c.Lon + 3.5/f.kx}
		loc := ix.Locate(p.Lat, p.Lon, acc)
		sum := loc.StreetProbability
		for _, cd := range loc.Candidates() {
			sum += cd.Probability
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("acc %.0f: probabilities sum to %.4f", acc, sum)
		}
		σ := acc / accuracyToSigma
		counts := map[string]int{}
		const n = 20000
		local := newFrame(p)
		for k := 0; k < n; k++ {
			q := local.point(vec{rng.NormFloat64() * σ, rng.NormFloat64() * σ})
			camp := ""
			for _, cc := range []string{tt.Camp} {
				camp = cc
			}
			for _, t2 := range l.TentsOf(camp) {
				if t2.Polygon.Contains(q) {
					counts[t2.ID]++
					break
				}
			}
		}
		for _, cd := range loc.Candidates() {
			mc := float64(counts[cd.Tent]) / n
			if math.Abs(mc-cd.Probability) > 0.02 {
				t.Errorf("acc %.0f: %s model %.3f, Monte Carlo %.3f", acc, cd.Tent, cd.Probability, mc)
			}
		}
		if top := loc.Candidates()[0]; float64(counts[top.Tent])/n < 0.1 {
			t.Errorf("acc %.0f: top candidate %s rarely hit in simulation", acc, top.Tent)
		}
	}
}

func TestLocateOddInput(t *testing.T) {
	ix := testIndex(t)
	for _, p := range [][3]float64{{math.NaN(), 39.9, 5}, {21.4, math.Inf(1), 5}, {95, 0, 5}} {
		loc := ix.Locate(p[0], p[1], p[2])
		if loc.Camp != "" || loc.Cell != 0 || loc.StreetProbability != 1 {
			t.Errorf("Locate(%v) = %+v", p, loc)
		}
	}
	// Riyadh: far from every camp, still answered.
	loc := ix.Locate(24.7136, 46.6753, math.NaN())
	if loc.Site != "" || loc.Camp != "" || loc.EdgeDistanceM < 700_000 || loc.AccuracyM != defaultAccuracyM {
		t.Errorf("Riyadh: %+v", loc)
	}
	if !strings.HasPrefix(loc.Describe(), "Outside Mina, Arafat and Muzdalifah") {
		t.Errorf("Describe() = %q", loc.Describe())
	}
	// Muzdalifah and the Jamarat.
	if loc := ix.Locate(21.3925, 39.9378, 10); loc.Site != SiteMuzdalifah {
		t.Errorf("Muzdalifah: site %q", loc.Site)
	}
	if loc := ix.Locate(jamaratBridge.Lat, jamaratBridge.Lon, 10); loc.Site != SiteMina || loc.Area != "jamarat" ||
		!strings.Contains(loc.Describe(), "Jamarat bridge") {
		t.Errorf("Jamarat: %+v %q", loc, loc.Describe())
	}
	// A very coarse fix inside a camp still names the camp, and sums to 1.
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	loc = ix.Locate(c.Lat, c.Lon, 60)
	sum := loc.StreetProbability
	for _, cd := range loc.Candidates() {
		sum += cd.Probability
	}
	if loc.Camp != "mina-094" || loc.NumCandidates != MaxCandidates || math.Abs(sum-1) > 1e-3 {
		t.Errorf("±60 m: camp %q, %d candidates, sum %.4f", loc.Camp, loc.NumCandidates, sum)
	}
}

func TestLocateCellIsH3(t *testing.T) {
	ix := testIndex(t)
	for _, p := range []Point{jamaratBridge, {21.41, 39.89}, {21.35, 39.98}, {-33.9, 151.2}} {
		want, err := h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), IndexResolution)
		if err != nil {
			t.Fatal(err)
		}
		if got := ix.Locate(p.Lat, p.Lon, 5).Cell; got != uint64(want) {
			t.Errorf("%v: cell %x, h3-go %x", p, got, uint64(want))
		}
		if got := ix.Cell(p.Lat, p.Lon, 9); got != uint64(must(h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), 9))) {
			t.Errorf("%v: Cell(res 9) differs from h3-go", p)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLocateDoesNotAllocate(t *testing.T) {
	ix := testIndex(t)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	for _, tc := range []struct {
		name          string
		lat, lon, acc float64
	}{{"in a tent", c.Lat, c.Lon, 8}, {"coarse fix", c.Lat, c.Lon, 80}, {"far away", 24.7, 46.7, 10}, {"street", 21.41, 39.89, 8}} {
		if n := testing.AllocsPerRun(200, func() { ix.Locate(tc.lat, tc.lon, tc.acc) }); n != 0 {
			t.Errorf("%s: %.1f allocations per Locate", tc.name, n)
		}
	}
}

func TestLocationJSON(t *testing.T) {
	ix := testIndex(t)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	loc := ix.Locate(c.Lat, c.Lon, 8)
	b, err := json.Marshal(loc)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	cs, ok := raw["candidates"].([]any)
	if !ok || len(cs) != loc.NumCandidates || raw["tent"] != "mina-094/3" || raw["description"] == "" {
		t.Errorf("JSON %s", b)
	}
	if _, has := raw["near_camps"]; has {
		t.Errorf("near_camps present inside a camp: %s", b)
	}
	var back Location
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != loc {
		t.Errorf("JSON round trip: %+v != %+v", back, loc)
	}
}

func TestLocateConcurrently(t *testing.T) {
	ix := testIndex(t)
	l := ix.Layout()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := g; k < len(l.Tents); k += 97 {
				c := l.Tents[k].Polygon.Centroid()
				if loc := ix.Locate(c.Lat, c.Lon, 5); loc.Tent != l.Tents[k].ID {
					t.Errorf("tent %s located as %q", l.Tents[k].ID, loc.Tent)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// fixes returns n points in Mina's camps and streets.
func fixes(l *Layout, n int) []Point {
	rng := rand.New(rand.NewPCG(5, 6))
	ps := make([]Point, n)
	for i := range ps {
		if i%4 == 0 {
			ps[i] = Point{Lat: 21.40 + rng.Float64()*0.025, Lon: 39.875 + rng.Float64()*0.04}
			continue
		}
		t := &l.Tents[rng.IntN(len(l.Tents))]
		c := t.Polygon.Centroid()
		ps[i] = Point{Lat: c.Lat + (rng.Float64()-0.5)*1e-4, Lon: c.Lon + (rng.Float64()-0.5)*1e-4}
	}
	return ps
}

func BenchmarkLocate(b *testing.B) {
	ix := testIndex(b)
	ps := fixes(ix.Layout(), 4096)
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		p := ps[i&4095]
		ix.Locate(p.Lat, p.Lon, 8)
		i++
	}
	cpu.report(b)
}

// BenchmarkLocateNoH3 is BenchmarkLocate without the H3 call: the index's
// own work per fix.
func BenchmarkLocateNoH3(b *testing.B) {
	ix := testIndex(b)
	benchPlace(b, ix, fixes(ix.Layout(), 4096))
}

// BenchmarkLocateNeighbourhoodNoH3 is BenchmarkLocateNoH3 for fixes
// scattered within ~20 m of one tent: the same work and the same
// unpredictable branches, but the neighbourhood's lists stay in cache. Its
// distance from BenchmarkLocateNoH3 is the cost of memory; from
// BenchmarkLocateWarmNoH3, of mispredicted branches.
func BenchmarkLocateNeighbourhoodNoH3(b *testing.B) {
	ix := testIndex(b)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	rng := rand.New(rand.NewPCG(7, 8))
	ps := make([]Point, 4096)
	for i := range ps {
		ps[i] = Point{Lat: c.Lat + (rng.Float64()-0.5)*4e-4, Lon: c.Lon + (rng.Float64()-0.5)*4e-4}
	}
	benchPlace(b, ix, ps)
}

// benchPlace times place (Locate without the H3 call) over 4,096 fixes at
// ±8 m, in turn.
func benchPlace(b *testing.B, ix *Index, ps []Point) {
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		p := ps[i&4095]
		var loc Location
		ix.place(&loc, p.Lat, p.Lon, 8)
		i++
	}
	cpu.report(b)
}

// cpuClock reports thread CPU time per op as "cpu-ns/op".
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock {
	runtime.LockOSThread()
	return cpuClock{threadCPU()}
}

func (c cpuClock) report(b *testing.B) {
	if d := threadCPU() - c.start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	runtime.UnlockOSThread()
}

// BenchmarkLocateWarm repeats one fix (in a tent, ±8 m): the cost of the
// work itself with warm caches. BenchmarkLocate's scattered fixes add cache
// misses, which dominate on a busy machine.
func BenchmarkLocateWarm(b *testing.B) {
	ix := testIndex(b)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		ix.Locate(c.Lat+2e-5, c.Lon+2e-5, 8)
	}
	cpu.report(b)
}

// BenchmarkLocateWarmNoH3 is BenchmarkLocateWarm without the H3 call.
func BenchmarkLocateWarmNoH3(b *testing.B) {
	ix := testIndex(b)
	tt, _ := ix.Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		var loc Location
		ix.place(&loc, c.Lat+2e-5, c.Lon+2e-5, 8)
	}
	cpu.report(b)
}

// BenchmarkH3CellWarm is the H3 call alone for that fix.
func BenchmarkH3CellWarm(b *testing.B) {
	tt, _ := testIndex(b).Layout().Tent("mina-094/3")
	c := tt.Polygon.Centroid()
	cpu := startCPU()
	for b.Loop() {
		cellAt(c.Lat+2e-5, c.Lon+2e-5, IndexResolution)
	}
	cpu.report(b)
}

// BenchmarkH3Cell is the H3 call alone, to subtract from BenchmarkLocate.
func BenchmarkH3Cell(b *testing.B) {
	ix := testIndex(b)
	ps := fixes(ix.Layout(), 4096)
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		p := ps[i&4095]
		cellAt(p.Lat, p.Lon, IndexResolution)
		i++
	}
	cpu.report(b)
}

// BenchmarkLocateGrid measures the index at neighbouring grid cell sizes;
// it is how gridCellM was chosen.
func BenchmarkLocateGrid(b *testing.B) {
	l := Default()
	ps := fixes(l, 4096)
	for _, cellM := range []float64{8, 12, 16, 24, 32} {
		ix, err := newIndex(l, cellM)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cell%gm", cellM), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			cpu := startCPU()
			for b.Loop() {
				p := ps[i&4095]
				ix.Locate(p.Lat, p.Lon, 8)
				i++
			}
			cpu.report(b)
			b.ReportMetric(float64(len(ix.grid.spans)), "cells")
			b.ReportMetric(float64(len(ix.tentRefs)*int(unsafe.Sizeof(tentRef{}))+len(ix.campRefs)*int(unsafe.Sizeof(ref{})))/1e6, "refMB")
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	l := Default()
	for b.Loop() {
		if _, err := NewIndex(l); err != nil {
			b.Fatal(err)
		}
	}
}
