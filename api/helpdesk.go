package api

import "net/http"

// registerHelpdesk adds the helpdesk routes (search, cases, luggage,
// sightings, alerts). The helpdesk helper owns this file.
func (s *Server) registerHelpdesk(mux *http.ServeMux) {}
