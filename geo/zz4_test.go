package geo
import ("testing";"time";"runtime";"math")
func TestZZSplit(t *testing.T) {
	runtime.LockOSThread()
	ix := testIndex(t)
	ps := fixes(ix.Layout(), 4096)
	var sel []Point
	for i, p := range ps { if i%4 != 0 { sel = append(sel, p) } }
	n := 300000
	var sink float64
	t0 := cpuNow(); for i := 0; i < n; i++ { p := sel[i%len(sel)]; e := ix.cells[uint64(i)]; sink += float64(e.campLo)+p.Lat }; base := (cpuNow()-t0)/time.Duration(n)
	cells := make([]uint64, len(sel)); for i, p := range sel { cells[i] = cellAt(p.Lat, p.Lon, 12) }
	t0 = cpuNow(); for i := 0; i < n; i++ { e := ix.cells[cells[i%len(sel)]]; sink += float64(e.campLo) }; mp := (cpuNow()-t0)/time.Duration(n)
	t0 = cpuNow(); for i := 0; i < n; i++ { x := float64(i%1000)/300; sink += math.Erf(x)+math.Erf(x+1)+math.Erf(x+2)+math.Erf(x+3) }; er := (cpuNow()-t0)/time.Duration(n)
	t0 = cpuNow(); for i := 0; i < n; i++ { x := float64(i%1000)/300; sink += ix.erf.at(x)+ix.erf.at(x+1)+ix.erf.at(x+2)+ix.erf.at(x+3) }; et := (cpuNow()-t0)/time.Duration(n)
	// scan only
	t0 = cpuNow()
	for i := 0; i < n; i++ {
		p := sel[i%len(sel)]; e := ix.cells[cells[i%len(sel)]]
		s := locState{p: ix.f.xy(p), camp: -1, tent: -1, near: [2]int32{-1, -1}}
		s.nearD = [2]float64{math.Inf(1), math.Inf(1)}; s.campEdge, s.tentEdge = math.Inf(1), math.Inf(1)
		s.σ = 8 / accuracyToSigma; s.s2 = s.σ * math.Sqrt2; s.reach = reachSigmas * s.σ; s.scan = math.Max(s.reach, minScanM)
		ix.scanCell(&s, e)
		sink += s.mass
	}
	sc := (cpuNow()-t0)/time.Duration(n)
	t0 = cpuNow()
	for i := 0; i < n; i++ {
		p := sel[7]; e := ix.cells[cells[7]]
		s := locState{p: ix.f.xy(p), camp: -1, tent: -1, near: [2]int32{-1, -1}}
		s.nearD = [2]float64{math.Inf(1), math.Inf(1)}; s.campEdge, s.tentEdge = math.Inf(1), math.Inf(1)
		s.σ = 8 / accuracyToSigma; s.s2 = s.σ * math.Sqrt2; s.reach = reachSigmas * s.σ; s.scan = math.Max(s.reach, minScanM)
		ix.scanCell(&s, e)
		sink += s.mass
	}
	hot := (cpuNow()-t0)/time.Duration(n)
	t.Log("hot", hot)
	t.Logf("loop %v map %v 4erf %v 4erftab %v scanCell(acc8) %v %v", base, mp, er, et, sc, sink > 0)
}
