package geo
import ("testing";"syscall";"time";"runtime")
func cpuNow() time.Duration { var ru syscall.Rusage; syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) }
func TestZZPerf(t *testing.T) {
	runtime.LockOSThread()
	ix := testIndex(t)
	ps := fixes(ix.Layout(), 4096)
	var sel, st []Point
	for i, p := range ps { if i%4 != 0 { sel = append(sel, p) } else { st = append(st, p) } }
	n := 300000
	t0 := cpuNow(); for i := 0; i < n; i++ { p := sel[i%len(sel)]; cellAt(p.Lat, p.Lon, 12) }; h := (cpuNow()-t0)/time.Duration(n)
	for _, acc := range []float64{3, 8, 13} {
		t0 := cpuNow(); for i := 0; i < n; i++ { p := sel[i%len(sel)]; ix.Locate(p.Lat, p.Lon, acc) }; l := (cpuNow()-t0)/time.Duration(n)
		t0 = cpuNow(); for i := 0; i < n; i++ { p := st[i%len(st)]; ix.Locate(p.Lat, p.Lon, acc) }; s := (cpuNow()-t0)/time.Duration(n)
		t.Logf("acc %v: h3 %v, locate tent %v street %v (cpu per op)", acc, h, l, s)
	}
}
