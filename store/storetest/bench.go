package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dalil"
)

// DiskUser is implemented by stores that can say how many bytes they occupy
// on disk; the size benchmark needs it.
type DiskUser interface {
	DiskUsage(ctx context.Context) (int64, error)
}

// benchDevices is how many devices the append benchmarks spread pings over.
const benchDevices = 10_000

func benchDeviceNames() []string {
	names := make([]string, benchDevices)
	for i := range names {
		names[i] = fmt.Sprintf("BD-%06d-phone", i)
	}
	return names
}

// Bench runs the standard store benchmarks. open must return a fresh, empty
// store on every call (benchmark functions run several times); Bench closes
// it. Figures are positions/s (appends) and ns/op (Trail).
func Bench(b *testing.B, open func(b *testing.B) dalil.Store) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("Append/batch=%d", n), func(b *testing.B) { benchAppend(b, open, n) })
	}
	b.Run("Append/concurrent=64x10", func(b *testing.B) { benchAppendConcurrent(b, open, 64, 10) })
	b.Run("Trail/points=1000", func(b *testing.B) { benchTrail(b, open, 1000) })
}

func benchAppend(b *testing.B, open func(b *testing.B) dalil.Store, n int) {
	st := open(b)
	defer st.Close()
	names := benchDeviceNames()
	ctx := context.Background()
	batch := make([]dalil.Position, n)
	b.ReportAllocs()
	b.ResetTimer()
	g := 0
	for range b.N {
		for k := range batch {
			batch[k] = ping(names[g%benchDevices], base.Add(time.Duration(g)*time.Millisecond), g)
			g++
		}
		if err := st.AppendPositions(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "positions/s")
}

// benchAppendConcurrent has writers goroutines each appending batches of per
// positions, like ingest handlers serving many devices at once.
func benchAppendConcurrent(b *testing.B, open func(b *testing.B) dalil.Store, writers, per int) {
	st := open(b)
	defer st.Close()
	names := benchDeviceNames()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((writers + procs - 1) / procs)
	var seq atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]dalil.Position, per)
		for pb.Next() {
			g := int(seq.Add(int64(per))) - per
			dev := names[(g/per)%benchDevices] // one device per request, as a phone posts
			for k := range batch {
				batch[k] = ping(dev, base.Add(time.Duration(g+k)*time.Millisecond), g+k)
			}
			if err := st.AppendPositions(ctx, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "positions/s")
}

func benchTrail(b *testing.B, open func(b *testing.B) dalil.Store, points int) {
	st := open(b)
	defer st.Close()
	ctx := context.Background()
	// The device's points interleave with 20 neighbours', as in a real store.
	const neighbours = 20
	batch := make([]dalil.Position, 0, points*(neighbours+1))
	for i := range points {
		at := base.Add(time.Duration(i) * 30 * time.Second)
		batch = append(batch, ping("trail-me", at, i))
		for n := range neighbours {
			batch = append(batch, ping(fmt.Sprintf("trail-%02d", n), at, i))
		}
	}
	for len(batch) > 0 {
		k := min(len(batch), 5000)
		if err := st.AppendPositions(ctx, batch[:k]); err != nil {
			b.Fatal(err)
		}
		batch = batch[k:]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ps, err := st.Trail(ctx, "trail-me", base, far, 0)
		if err != nil {
			b.Fatal(err)
		}
		if len(ps) != points {
			b.Fatalf("Trail: %d points, want %d", len(ps), points)
		}
	}
	b.ReportMetric(float64(b.N*points)/b.Elapsed().Seconds(), "positions/s")
}

// BenchSize appends a million positions (10,000 devices, 100 pings each, in
// batches of 1,000) and reports the disk bytes per position, both in total
// and at the margin (growth over the second half million), the same for the
// tables alone where the store can tell them from fixed costs such as
// Pebble's recycled WAL files (a TableBytes method), and the process's
// resident memory growth. Stores with a Compact method are compacted before
// each measurement. It is slow (seconds to a minute), so it runs only when
// DALIL_BENCH_SIZE is set; run it with -benchtime=1x.
func BenchSize(b *testing.B, open func(b *testing.B) dalil.Store) {
	if os.Getenv("DALIL_BENCH_SIZE") == "" {
		b.Skip("set DALIL_BENCH_SIZE=1 to measure disk and memory per million positions (-benchtime=1x)")
	}
	const total, batchLen = 1_000_000, 1000
	for range b.N {
		st := open(b)
		du, ok := st.(DiskUser)
		if !ok {
			b.Fatalf("%T does not report disk usage", st)
		}
		ctx := context.Background()
		measure := func() int64 {
			if c, ok := st.(interface{ Compact(context.Context) error }); ok {
				if err := c.Compact(ctx); err != nil {
					b.Fatal(err)
				}
			}
			n, err := du.DiskUsage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
		// The data alone, where the store can tell it from fixed overhead.
		tables := func() int64 {
			if ts, ok := st.(interface {
				TableBytes(context.Context) (int64, error)
			}); ok {
				n, err := ts.TableBytes(ctx)
				if err != nil {
					b.Fatal(err)
				}
				return n
			}
			return 0
		}
		names := benchDeviceNames()
		rss0 := residentBytes()
		var took time.Duration
		var half, halfTables int64
		batch := make([]dalil.Position, batchLen)
		for g := 0; g < total; {
			for k := range batch {
				// Device-major within a batch: a minute apart per device.
				batch[k] = ping(names[g%benchDevices], base.Add(time.Duration(g/benchDevices)*time.Minute), g)
				g++
			}
			start := time.Now()
			if err := st.AppendPositions(ctx, batch); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
			if g == total/2 {
				half, halfTables = measure(), tables()
			}
		}
		disk := measure()
		runtime.GC()
		b.ReportMetric(float64(disk)/total, "disk-B/position")
		b.ReportMetric(float64(disk-half)/(total/2), "marginal-B/position")
		if t := tables(); t > 0 {
			b.ReportMetric(float64(t)/total, "tables-B/position")
			b.ReportMetric(float64(t-halfTables)/(total/2), "marginal-tables-B/position")
		}
		b.ReportMetric(float64(residentBytes()-rss0)/(1<<20), "rss-growth-MiB")
		b.ReportMetric(total/took.Seconds(), "positions/s")
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// residentBytes is this process's resident set (Linux), which unlike the Go
// heap includes Pebble's manually allocated memtables and block cache.
func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
