package api

import "dalil/ingest"

// Ingest is the ingest handler: the MQTT consumer and the TCP tracker
// servers feed it through ingest.Batch so that every protocol passes the same
// filters into the same engine.
func (s *Server) Ingest() *ingest.Handler { return s.ingest }
