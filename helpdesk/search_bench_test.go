package helpdesk

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"dalil/registry"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling OS thread. On a shared machine
// (2 cores, many busy processes) wall-clock latency mostly measures the
// scheduler; the thread's CPU time measures the search.
func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// latencies collects per-query wall and CPU times and reports percentiles.
type latencies struct{ wall, cpu []time.Duration }

func (l *latencies) measure(fn func()) {
	w0, c0 := time.Now(), threadCPU()
	fn()
	l.cpu = append(l.cpu, threadCPU()-c0)
	l.wall = append(l.wall, time.Since(w0))
}

func (l *latencies) report(b *testing.B) {
	if len(l.wall) == 0 {
		return
	}
	slices.Sort(l.wall)
	slices.Sort(l.cpu)
	p := func(xs []time.Duration, q float64) float64 {
		return float64(xs[int(float64(len(xs)-1)*q)].Microseconds())
	}
	b.ReportMetric(p(l.wall, 0.5), "p50-µs")
	b.ReportMetric(p(l.wall, 0.99), "p99-µs")
	b.ReportMetric(p(l.cpu, 0.5), "cpu-p50-µs")
	b.ReportMetric(p(l.cpu, 0.99), "cpu-p99-µs")
}

// benchSearch holds a 2,000,000-pilgrim index shared by the search
// benchmarks (building it takes seconds and about a gigabyte with the source).
var benchSearch struct {
	once      sync.Once
	ps        []registry.Pilgrim
	ix        *SearchIndex
	buildS    float64
	buildCPUS float64
	indexMB   float64
}

// processCPU is the CPU time of the whole process (user + system).
func processCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const benchSearchN = 2_000_000

func benchSearchIndex(b *testing.B) (*SearchIndex, []registry.Pilgrim) {
	benchSearch.once.Do(func() {
		ps := genSearchPilgrims(benchSearchN, 42)
		src := newMapSource(ps)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0, c0 := time.Now(), processCPU()
		ix := NewSearchIndex(src, nil)
		benchSearch.buildS = time.Since(t0).Seconds()
		benchSearch.buildCPUS = (processCPU() - c0).Seconds()
		runtime.GC()
		runtime.ReadMemStats(&after)
		benchSearch.indexMB = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		benchSearch.ps, benchSearch.ix = ps, ix
	})
	return benchSearch.ix, benchSearch.ps
}

// searchQueries is a realistic helpdesk mix: identifiers, phones typed in
// every format, full names, misspelt and transliterated names, Bangla.
func searchQueries(ps []registry.Pilgrim, n int) []string {
	r := rand.New(rand.NewPCG(9, 9))
	typo := func(s string) string { // swap two adjacent letters in the middle
		rs := []rune(s)
		if len(rs) > 4 {
			i := len(rs) / 2
			rs[i], rs[i+1] = rs[i+1], rs[i]
		}
		return string(rs)
	}
	qs := make([]string, n)
	for i := range qs {
		p := ps[r.IntN(len(ps))]
		switch i % 10 {
		case 0:
			qs[i] = p.PID
		case 1:
			qs[i] = p.Passport
		case 2:
			qs[i] = "0" + p.Phone[4:] // 01XXXXXXXXX
		case 3:
			qs[i] = p.Phone[:4] + " " + p.Phone[4:8] + "-" + p.Phone[8:]
		case 4, 5:
			qs[i] = p.NameEN
		case 6:
			qs[i] = typo(p.NameEN)
		case 7:
			qs[i] = p.NameBN
		case 8:
			rs := []rune(p.NameBN)
			qs[i] = string(rs[:min(len(rs), 4)])
		case 9:
			qs[i] = []string{"Muhammad Rahim", "mohamed karim uddin", "Fatima Begam", "Abdur Rahman", "Md Jalal", "nurjahan akhter"}[r.IntN(6)]
		}
	}
	return qs
}

// BenchmarkSearch2M measures query latency on 2,000,000 pilgrims and reports
// p50/p99 over the mix, the build time and the index's heap.
func BenchmarkSearch2M(b *testing.B) {
	ix, ps := benchSearchIndex(b)
	qs := searchQueries(ps, 4096)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var l latencies
	for i := 0; b.Loop(); i++ {
		l.measure(func() { ix.Search(qs[i%len(qs)], 20) })
	}
	l.report(b)
	b.ReportMetric(benchSearch.buildS, "build-s")
	b.ReportMetric(benchSearch.buildCPUS, "build-cpu-s")
	b.ReportMetric(benchSearch.indexMB, "index-MB")
}

// BenchmarkSearch2MByKind breaks latency down by query kind.
func BenchmarkSearch2MByKind(b *testing.B) {
	ix, ps := benchSearchIndex(b)
	qs := searchQueries(ps, 1000)
	kinds := []string{"pid", "passport", "phone-01", "phone-+880", "name", "name2", "name-typo", "bangla", "bangla-prefix", "common-name"}
	for k, kind := range kinds {
		b.Run(kind, func(b *testing.B) {
			var mine []string
			for i := k; i < len(qs); i += 10 {
				mine = append(mine, qs[i])
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var l latencies
			for i := 0; b.Loop(); i++ {
				l.measure(func() { ix.Search(mine[i%len(mine)], 20) })
			}
			l.report(b)
		})
	}
}

func ExampleSearchIndex_Search() {
	ix := NewSearchIndex(newMapSource([]registry.Pilgrim{
		{PID: "P1", NameEN: "Md. Abdur Rahman", Phone: "+8801712345678", Camp: "mina-094", Tent: "mina-094/3"},
	}), nil)
	for _, q := range []string{"Mohammad Abdul Rahman", "017-1234-5678"} {
		h := ix.Search(q, 5)[0]
		fmt.Println(h.PID, h.Match, h.Tent)
	}
	// Output:
	// P1 name mina-094/3
	// P1 phone mina-094/3
}
