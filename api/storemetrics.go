package api

import (
	"context"
	"time"

	"dalil"

	"github.com/prometheus/client_golang/prometheus"
)

// timedStore measures the store from the server's side: how many positions
// each AppendPositions call carries and how long it takes to be durable
// (including the store's group-commit wait). The stores themselves export no
// metrics.
type timedStore struct {
	dalil.Store
	batch   prometheus.Observer
	latency prometheus.Observer
	errors  prometheus.Counter
}

func newTimedStore(st dalil.Store, reg prometheus.Registerer) *timedStore {
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "dalil_store_append_batch_size",
		Help:    "Positions per AppendPositions call (one ingest request or simulator batch).",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000},
	})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "dalil_store_append_duration_seconds",
		Help:    "Time until an AppendPositions call is durable, group-commit wait included.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	errs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dalil_store_append_errors_total",
		Help: "AppendPositions calls that failed.",
	})
	reg.MustRegister(batch, latency, errs)
	return &timedStore{Store: st, batch: batch, latency: latency, errors: errs}
}

func (s *timedStore) AppendPositions(ctx context.Context, ps []dalil.Position) error {
	start := time.Now()
	err := s.Store.AppendPositions(ctx, ps)
	s.latency.Observe(time.Since(start).Seconds())
	s.batch.Observe(float64(len(ps)))
	if err != nil {
		s.errors.Inc()
	}
	return err
}
