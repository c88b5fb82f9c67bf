package tracker

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the tracker servers' Prometheus series (the fixes themselves
// are counted by ingest under protocol gt06, h02, teltonika):
//
//	dalil_tracker_connections{protocol}                 open connections
//	dalil_tracker_connections_closed_total{protocol,reason}  closes, by reason
//	dalil_tracker_frames_throttled_total{protocol}      frames delayed by the rate limit
//	dalil_tracker_records_without_fix_total{protocol}   records with no valid GPS fix (skipped)
type Metrics struct {
	open      *prometheus.GaugeVec
	closed    *prometheus.CounterVec
	throttled *prometheus.CounterVec
	noFix     *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Registering twice with one registry reuses the series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		open: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dalil_tracker_connections", Help: "Open tracker connections, by protocol.",
		}, []string{"protocol"})),
		closed: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dalil_tracker_connections_closed_total", Help: "Tracker connections closed, by protocol and reason.",
		}, []string{"protocol", "reason"})),
		throttled: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dalil_tracker_frames_throttled_total", Help: "Tracker frames delayed by the per-connection rate limit.",
		}, []string{"protocol"})),
		noFix: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dalil_tracker_records_without_fix_total", Help: "Tracker records without a valid GPS fix, skipped.",
		}, []string{"protocol"})),
	}
}

// protoMetrics are one protocol's series, resolved once.
type protoMetrics struct {
	open      prometheus.Gauge
	throttled prometheus.Counter
	noFix     prometheus.Counter
	byReason  map[string]prometheus.Counter
}

func (m *Metrics) of(proto string) *protoMetrics {
	pm := &protoMetrics{
		open:      m.open.WithLabelValues(proto),
		throttled: m.throttled.WithLabelValues(proto),
		noFix:     m.noFix.WithLabelValues(proto),
		byReason:  map[string]prometheus.Counter{},
	}
	for _, r := range allReasons {
		pm.byReason[r] = m.closed.WithLabelValues(proto, r)
	}
	return pm
}

func (pm *protoMetrics) closed(reason string) prometheus.Counter { return pm.byReason[reason] }

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
