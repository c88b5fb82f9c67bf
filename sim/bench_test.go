package sim

import (
	"context"
	"testing"
	"time"

	"dalil"
	"dalil/registry"
)

// BenchmarkDemoSecond measures one simulated second of the demo's 5,000
// pilgrims (the default of `dalil serve --demo`): the CPU the in-process
// simulator costs the server per second of real time.
func BenchmarkDemoSecond(b *testing.B) {
	ix := index(b)
	ps, gs := registry.GenerateRegistry(ix.Layout(), 5000, 1)
	cfg := testConfig(PhaseJamarat, 0)
	cfg.Step = time.Second
	s := New(cfg, ix, ps, gs)
	s.start = t0
	pings := 0
	b.ResetTimer()
	for i := range b.N {
		batch := s.step(time.Duration(i+1) * time.Second)
		pings += len(batch)
	}
	b.ReportMetric(float64(pings)/float64(b.N), "pings/op")
}

// BenchmarkRun85k runs ten simulated minutes of a Bangladesh-sized crowd
// (85,000 pilgrims) as fast as it goes and reports simulated seconds per
// wall second.
func BenchmarkRun85k(b *testing.B) {
	ix := index(b)
	ps, gs := registry.GenerateRegistry(ix.Layout(), 85_000, 1)
	b.ResetTimer()
	for range b.N {
		cfg := testConfig(PhaseJamarat, 10*time.Minute)
		cfg.Step = time.Second
		s := New(cfg, ix, ps, gs)
		start := time.Now()
		if err := s.Run(context.Background(), func(context.Context, []dalil.Position) error { return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(600/time.Since(start).Seconds(), "speedup")
	}
}
