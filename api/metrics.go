package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dalil/live"
	"dalil/tracking"
)

// Metrics is the server's Prometheus registry: its own series, ingest's
// (registered by ingest.NewMetrics on the same registry), the engine's and the
// hub's counters read at scrape time, and the Go runtime's.
type Metrics struct {
	reg     *prometheus.Registry
	httpDur *prometheus.HistogramVec
	handler http.Handler
}

func newMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		httpDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dalil_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and status class (websocket upgrades excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
	}
	reg.MustRegister(m.httpDur)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

// Registry is where other parts register their series.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// watchHub exports the hub's counters, read at scrape time so that Publish
// pays only atomic adds.
func (m *Metrics) watchHub(h *live.Hub) {
	gauge := func(name, help string, f func(live.HubStats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(h.Stats()) }))
	}
	counter := func(name, help string, f func(live.HubStats) float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(h.Stats()) }))
	}
	gauge("dalil_ws_clients", "Connected websocket clients.", func(s live.HubStats) float64 { return float64(s.Clients) })
	gauge("dalil_ws_subscriptions", "Live websocket subscriptions.", func(s live.HubStats) float64 { return float64(s.Subscriptions) })
	counter("dalil_ws_updates_published_total", "Tracking updates handed to the hub.", func(s live.HubStats) float64 { return float64(s.Published) })
	counter("dalil_ws_messages_queued_total", "Messages queued for websocket clients.", func(s live.HubStats) float64 { return float64(s.Enqueued) })
	counter("dalil_ws_messages_coalesced_total", "Positions replaced by a newer one for the same pilgrim before they were sent.", func(s live.HubStats) float64 { return float64(s.Coalesced) })
	counter("dalil_ws_messages_delivered_total", "Messages written to websocket clients.", func(s live.HubStats) float64 { return float64(s.Delivered) })
	counter("dalil_ws_clients_dropped_total", "Websocket clients disconnected for falling behind.", func(s live.HubStats) float64 { return float64(s.Dropped) })
}

// watchEngine exports the tracking engine's state.
func (m *Metrics) watchEngine(e *tracking.Engine) {
	m.reg.MustRegister(&engineCollector{e: e, d: newEngineDescs()})
}

// engineCollector reads Engine.Stats once per scrape.
type engineCollector struct {
	e *tracking.Engine
	d engineDescs
}

type engineDescs struct {
	devices, pilgrims, stale, accepted, outOfOrder, duplicates, invalid, events, storeErrors *prometheus.Desc
}

func newEngineDescs() engineDescs {
	return engineDescs{
		devices:     prometheus.NewDesc("dalil_live_devices", "Devices with a live position.", nil, nil),
		pilgrims:    prometheus.NewDesc("dalil_live_pilgrims", "Pilgrims with a live position.", nil, nil),
		stale:       prometheus.NewDesc("dalil_live_stale", "Pilgrims and lone devices whose newest fix is older than the stale age.", nil, nil),
		accepted:    prometheus.NewDesc("dalil_engine_pings_applied_total", "Pings stored and applied by the tracking engine.", nil, nil),
		outOfOrder:  prometheus.NewDesc("dalil_engine_pings_out_of_order_total", "Pings stored but older than the live position (offline backlogs).", nil, nil),
		duplicates:  prometheus.NewDesc("dalil_engine_pings_duplicate_total", "Pings stored with the same time as the live position.", nil, nil),
		invalid:     prometheus.NewDesc("dalil_engine_pings_invalid_total", "Pings stored but not applied (bad coordinates or no time).", nil, nil),
		events:      prometheus.NewDesc("dalil_engine_events_total", "Boundary events raised (camp, tent, site enter/exit).", nil, nil),
		storeErrors: prometheus.NewDesc("dalil_engine_store_errors_total", "Batches refused because the store failed.", nil, nil),
	}
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.d
	for _, x := range []*prometheus.Desc{d.devices, d.pilgrims, d.stale, d.accepted, d.outOfOrder, d.duplicates, d.invalid, d.events, d.storeErrors} {
		ch <- x
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.Stats()
	d := &c.d
	g := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
	n := func(desc *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v))
	}
	g(d.devices, float64(s.Devices))
	g(d.pilgrims, float64(s.Pilgrims))
	g(d.stale, float64(s.Stale))
	n(d.accepted, s.Accepted)
	n(d.outOfOrder, s.OutOfOrder)
	n(d.duplicates, s.Duplicates)
	n(d.invalid, s.Invalid)
	n(d.events, s.Events)
	n(d.storeErrors, s.StoreErrors)
}

// statusWriter records the status code for the latency histogram.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument times every request by its mux pattern (bounded label values).
// The websocket endpoint is passed straight through: it must hijack the
// connection and lives for hours.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/live" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		class := "2xx" // nothing written: the server answers 200
		if sw.code >= 100 && sw.code < 600 {
			class = strconv.Itoa(sw.code/100) + "xx"
		}
		m.httpDur.WithLabelValues(route, class).Observe(time.Since(start).Seconds())
	})
}

// GET /metrics: Prometheus text format. Needs an admin token unless
// Config.MetricsPublic: the series hold no personal data, but they reveal
// load and the deployment, and secure-by-default applies.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.MetricsPublic {
		if _, ok := s.authorize(w, r, RoleAdmin); !ok {
			return
		}
	}
	s.metrics.handler.ServeHTTP(w, r)
}
