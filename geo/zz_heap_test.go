package geo

import (
	"runtime"
	"testing"
	"time"
)

func TestZZHeap(t *testing.T) {
	l := Default()
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	t0 := time.Now()
	ix, err := NewIndex(l)
	d := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&b)
	t.Logf("NewIndex retained heap %.1f MB, build %v", float64(b.HeapAlloc-a.HeapAlloc)/1e6, d)
	runtime.KeepAlive(ix)
}
