package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"dalil"
	"dalil/store/embedded"
)

// BenchmarkRestart measures what a restart reads to rebuild the live state:
// open the store and call Latest for every device. Devices report twice;
// "clean" is after Close, "crash" is a copy taken while the store was open
// (Checkpoint with the WAL flushed), as a kill -9 leaves it: Open replays
// the WAL. Set DALIL_BENCH_RESTART_DEVICES (default 200,000; the figures in
// docs/performance.md use 2,000,000). Run with -benchtime=1x.
func BenchmarkRestart(b *testing.B) {
	n := 200_000
	if v := os.Getenv("DALIL_BENCH_RESTART_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	base := b.TempDir()
	clean, crash := filepath.Join(base, "clean"), filepath.Join(base, "crash")
	st, err := embedded.Open(clean)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 6, 14, 4, 0, 0, 0, time.UTC)
	ps := make([]dalil.Position, 0, 4096)
	for round := range 2 {
		for i := 0; i < n; i++ {
			ps = append(ps, dalil.Position{Device: fmt.Sprintf("dev-%08d", i), Time: at.Add(time.Duration(round) * 10 * time.Second),
				Lat: 21.41 + float64(i%1000)*1e-5, Lon: 39.89, Accuracy: 8, Speed: dalil.Unknown, Heading: dalil.Unknown,
				Altitude: dalil.Unknown, Battery: 50})
			if len(ps) == cap(ps) || i == n-1 {
				if err := st.AppendPositions(ctx, ps); err != nil {
					b.Fatal(err)
				}
				ps = ps[:0]
			}
		}
	}
	if err := st.Checkpoint(crash); err != nil { // the journal, unfolded
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	for _, dir := range []string{clean, crash} {
		b.Run(filepath.Base(dir), func(b *testing.B) {
			for range b.N {
				start := time.Now()
				st, err := embedded.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				opened := time.Since(start)
				got := 0
				if err := st.Latest(ctx, func(dalil.Position) error { got++; return nil }); err != nil {
					b.Fatal(err)
				}
				took := time.Since(start)
				st.Close()
				if got != n {
					b.Fatalf("Latest named %d devices, want %d", got, n)
				}
				b.ReportMetric(took.Seconds(), "s/restart")
				b.ReportMetric(opened.Seconds(), "s/open")
				b.ReportMetric(float64(took.Nanoseconds())/float64(n), "ns/device")
			}
		})
	}
}
