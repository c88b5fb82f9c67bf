package geo
import ("testing";"time")
func TestZZCount(t *testing.T) {
	ix := testIndex(t)
	ps := fixes(ix.Layout(), 4096)
	var sel []Point
	for i, p := range ps { if i%4 != 0 { sel = append(sel, p) } }
	for _, acc := range []float64{3, 8, 13} {
		tot, inreach := 0, 0
		for _, p := range sel {
			cell := cellAt(p.Lat, p.Lon, 12)
			e := ix.cells[cell]
			pp := ix.f.xy(p)
			scan := max(3.5*acc/1.5096, 10)
			for _, r := range ix.tentRefs[e.tentLo:e.tentHi] {
				if float64(r.d)-ix.cellR > scan { break }
				tot++
				if ringDist(ix.tents[r.i].ring, pp) < 3.5*acc/1.5096 { inreach++ }
			}
		}
		n := 200000
		t0 := time.Now()
		for i := 0; i < n; i++ { p := sel[i%len(sel)]; ix.Locate(p.Lat, p.Lon, acc) }
		el := time.Since(t0)
		t0 = time.Now()
		for i := 0; i < n; i++ { p := sel[i%len(sel)]; cellAt(p.Lat, p.Lon, 12) }
		h := time.Since(t0)
		t.Logf("acc %v: %.1f tents scanned, %.1f in reach; locate %v h3 %v per op", acc, float64(tot)/float64(len(sel)), float64(inreach)/float64(len(sel)), el/time.Duration(n), h/time.Duration(n))
	}
}
