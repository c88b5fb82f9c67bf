package embedded_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dalil"
	"dalil/store/embedded"
)

// BenchmarkOneFixAppend is phones posting one fix per request: 64 and 256
// concurrent callers, each append one fix of one of 30,000 devices. It
// reports the process CPU time per append (user + system, all goroutines:
// Pebble's WAL writer and fsyncs included), the figure that does not depend
// on how much of a shared machine the run got.
func BenchmarkOneFixAppend(b *testing.B) {
	const devices = 30_000
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("dev-%06d", i)
	}
	for _, c := range []struct {
		writers int
		window  time.Duration
	}{{64, -1}, {256, -1}, {64, 200 * time.Microsecond}, {256, 200 * time.Microsecond}, {64, time.Millisecond}} {
		writers := c.writers
		b.Run(fmt.Sprintf("writers=%d/window=%v", writers, c.window), func(b *testing.B) {
			st, err := embedded.OpenOptions(b.TempDir(), embedded.Options{CommitWindow: c.window})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			base := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu0 := processCPU()
			b.ResetTimer()
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ps := make([]dalil.Position, 1)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						ps[0] = dalil.Position{Device: ids[i%devices], Time: base.Add(time.Duration(i) * time.Millisecond),
							Lat: 21.41, Lon: 39.89, Accuracy: 8, Speed: dalil.Unknown, Heading: dalil.Unknown,
							Altitude: dalil.Unknown, Battery: 50}
						if err := st.AppendPositions(ctx, ps); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/append")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// processCPU is the process's user + system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
