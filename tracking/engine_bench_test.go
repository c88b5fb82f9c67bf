package tracking

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dalil/geo"
	"dalil/registry"
)

// nopStore is a durable store that costs nothing, to measure the engine alone.
type nopStore struct{ trkStore }

func (*nopStore) AppendPositions(context.Context, []Position) error { return nil }

type nopPublisher struct{ n atomic.Int64 }

func (p *nopPublisher) Publish(Update) { p.n.Add(1) }

// benchFleet is a registered population with one base fix per device at
// its tent.
type benchFleet struct {
	reg  *Registry
	ix   *geo.Index
	base []Position
}

func newBenchFleet(b *testing.B, pilgrims int) *benchFleet {
	b.Helper()
	ix := defaultIndex(b)
	ps, gs := registry.GenerateRegistry(ix.Layout(), pilgrims, 1)
	reg := registry.NewRegistry()
	if err := reg.Import(context.Background(), nil, ps, gs); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	f := &benchFleet{reg: reg, ix: ix}
	for i := range ps {
		c := geo.Point{Lat: 21.4133, Lon: 39.8933}
		if tent, ok := ix.Layout().Tent(ps[i].Tent); ok {
			c = tent.Polygon.Centroid()
		}
		for _, d := range ps[i].Devices {
			lat, lon := offset(c.Lat, c.Lon, rng.NormFloat64()*8, rng.NormFloat64()*8)
			f.base = append(f.base, Position{Device: d, Lat: lat, Lon: lon, Accuracy: float32(4 + rng.IntN(12)),
				Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: 70, Source: SourceOsmAnd})
		}
	}
	return f
}

const benchBatch = 100

// runAccept feeds pings from devices [lo, hi) of the fleet in batches of 100,
// each round of the fleet one second later than the last, until n pings.
func runAccept(e *Engine, base []Position, n int) error {
	batch := make([]Position, benchBatch)
	round, j := 0, 0
	ctx := context.Background()
	for done := 0; done < n; done += benchBatch {
		m := min(benchBatch, n-done)
		for i := 0; i < m; i++ {
			batch[i] = base[j]
			batch[i].Time = engT0.Add(time.Duration(round) * time.Second)
			batch[i].Lat += float64(round%7) * 2e-6 // a metre or so of walking
			if j++; j == len(base) {
				j, round = 0, round+1
			}
		}
		if err := e.Accept(ctx, batch[:m]); err != nil {
			return err
		}
	}
	return nil
}

func mustRunAccept(b *testing.B, e *Engine, base []Position, n int) {
	if err := runAccept(e, base, n); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user+system CPU time. On a machine shared with
// other work, CPU time per ping is a steadier figure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pings/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/ping")
}

// BenchmarkEngineAccept measures Accept in-process with a no-op durable
// store: registry lookup, Locate against the shipped layout, live update,
// trail, best-of-devices, spatial and camp index, hysteresis, publishing to
// a no-op publisher. One op is one ping.
func BenchmarkEngineAccept(b *testing.B) {
	f := newBenchFleet(b, 20_000)
	for _, bc := range []struct {
		name string
		loc  geo.Locator
		pub  Publisher
	}{
		{"locate+publish", f.ix, &nopPublisher{}},
		{"locate", f.ix, nil},
		{"engine-only", nil, nil},
	} {
		b.Run(bc.name+"/1-goroutine", func(b *testing.B) {
			e := NewEngine(DefaultEngineConfig(), &nopStore{}, f.reg, bc.loc, bc.pub, nil)
			mustRunAccept(b, e, f.base, len(f.base)) // warm: every device live
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			mustRunAccept(b, e, f.base, b.N)
			reportRates(b, cpu0)
		})
		b.Run(bc.name+"/2-goroutines", func(b *testing.B) {
			e := NewEngine(DefaultEngineConfig(), &nopStore{}, f.reg, bc.loc, bc.pub, nil)
			mustRunAccept(b, e, f.base, len(f.base))
			half := len(f.base) / 2
			parts := [][]Position{f.base[:half], f.base[half:]}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			done := make(chan struct{})
			for g := 0; g < 2; g++ {
				go func(part []Position) {
					defer func() { done <- struct{}{} }()
					if err := runAccept(e, part, b.N/2); err != nil {
						b.Error(err)
					}
				}(parts[g])
			}
			<-done
			<-done
			reportRates(b, cpu0)
		})
	}
}

// BenchmarkLiveMemory reports the heap per live device once every device's
// trail is full (TrailLen fixes), unregistered devices spread over Mina.
// The 1M case skips Locate to keep the run short: placing fixes in camps
// adds only the camp index's 8 bytes per subject. Run it with -benchtime=1x.
func BenchmarkLiveMemory(b *testing.B) {
	ix := defaultIndex(b)
	for _, c := range []struct {
		n   int
		loc geo.Locator
	}{{100_000, ix}, {1_000_000, nil}} {
		name := fmt.Sprintf("%dk-devices", c.n/1000)
		if c.loc == nil {
			name += "-no-locate"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				measureLiveMemory(b, c.loc, c.n)
			}
		})
	}
}

func measureLiveMemory(b *testing.B, loc geo.Locator, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := make([]geo.Point, n)
	for i := range pts {
		pts[i] = geo.Point{Lat: 21.405 + rng.Float64()*0.02, Lon: 39.875 + rng.Float64()*0.04}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	e := NewEngine(DefaultEngineConfig(), &nopStore{}, registry.NewRegistry(), loc, nil, nil)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("dev-%08d", i)
	}
	batch := make([]Position, 0, benchBatch)
	for r := 0; r < e.Config().TrailLen; r++ {
		for i := 0; i < n; i++ {
			batch = append(batch, Position{Device: ids[i], Time: engT0.Add(time.Duration(r) * 10 * time.Second),
				Lat: pts[i].Lat, Lon: pts[i].Lon, Accuracy: 8, Speed: Unknown, Heading: Unknown, Altitude: Unknown, Battery: 50})
			if len(batch) == benchBatch {
				if err := e.Accept(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	ids = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if e.Stats().Devices != n {
		b.Fatalf("%d live devices, want %d", e.Stats().Devices, n)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/device")
	runtime.KeepAlive(e)
	runtime.KeepAlive(pts)
}
