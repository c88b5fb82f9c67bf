package ingest

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// protocol names the wire protocol a request used; it is the "protocol"
// label of the ingest metrics.
type protocol uint8

const (
	protoNative protocol = iota
	protoOsmAnd
	protoOwnTracks
	// Protocols that do not come over HTTP (ingest/mqtt, ingest/tracker);
	// they enter through Batch (stream.go).
	protoMQTT
	protoGT06
	protoH02
	protoTeltonika
	numProtocols
)

var protocolNames = [numProtocols]string{"native", "osmand", "owntracks", "owntracks_mqtt", "gt06", "h02", "teltonika"}

// Metrics are ingest's Prometheus series. Every label value is resolved once
// here so that counting on the hot path is a single atomic add.
//
//	dalil_pings_accepted_total{protocol}        pings handed to the sink and made durable
//	dalil_pings_rejected_total{reason}          pings (or whole requests) refused, by reason
//	dalil_ingest_request_duration_seconds{protocol}  request latency, body read to answer
//	dalil_ingest_sink_errors_total{kind}        sink failures: "unavailable" (503) or "failed" (500)
type Metrics struct {
	accepted    [numProtocols]prometheus.Counter
	rejected    [numReasons]prometheus.Counter
	latency     [numProtocols]prometheus.Observer
	unavailable prometheus.Counter
	failed      prometheus.Counter
}

// NewMetrics creates the ingest metrics and registers them with reg (nil:
// not registered). Registering twice with one registry reuses the series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	accepted := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dalil_pings_accepted_total",
		Help: "Pings accepted and made durable, by protocol.",
	}, []string{"protocol"}))
	rejected := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dalil_pings_rejected_total",
		Help: "Pings or requests refused by ingest, by reason.",
	}, []string{"reason"}))
	latency := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dalil_ingest_request_duration_seconds",
		Help:    "Ingest request latency, from handler entry to answer, by protocol.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"protocol"}))
	sinkErrs := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dalil_ingest_sink_errors_total",
		Help: "Requests whose pings the sink could not store: unavailable (503) or failed (500).",
	}, []string{"kind"}))

	m := &Metrics{
		unavailable: sinkErrs.WithLabelValues("unavailable"),
		failed:      sinkErrs.WithLabelValues("failed"),
	}
	for p := range numProtocols {
		m.accepted[p] = accepted.WithLabelValues(protocolNames[p])
		m.latency[p] = latency.WithLabelValues(protocolNames[p])
	}
	for r := reason(1); r < numReasons; r++ {
		m.rejected[r] = rejected.WithLabelValues(reasonNames[r])
	}
	m.rejected[reasonNone] = m.rejected[reasonMalformed] // never used; keeps the array total
	return m
}

// register registers c, or returns the collector already registered under
// the same description.
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
		panic(err) // a name clash with a different metric is a programming error
	}
	return c
}
