package api

import (
	"encoding/json"
	"net/http"
)

// errorBody is every error answer: {"error":"…","field":"…"}.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON answers status with v encoded as JSON (as application/json
// unless the handler chose a type, e.g. application/geo+json).
func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// writeError answers status with {"error":msg,"field":field}; field names the
// offending parameter or body field, "" when none.
func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, errorBody{Error: msg, Field: field})
}
