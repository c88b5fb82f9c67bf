package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"dalil/ingest"
)

// Ingest is the ingest handler: the MQTT consumer and the TCP tracker
// servers feed it through ingest.Batch so that every protocol passes the same
// filters into the same engine.
func (s *Server) Ingest() *ingest.Handler { return s.ingest }

// MetricsRegistry is the registry /metrics serves; the stream protocols
// register their own series in it.
func (s *Server) MetricsRegistry() prometheus.Registerer { return s.metrics.reg }
