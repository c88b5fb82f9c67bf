package api

import (
	"net/http"
	"net/http/pprof"
)

// registerPprof serves Go's profiler under /debug/pprof/ to admins only, so
// that an operator can profile a live server (CPU, heap, goroutines,
// mutex contention) without restarting it:
//
//	curl -H "Authorization: Bearer $ADMIN" -o cpu.pb.gz \
//	  'http://host:8080/debug/pprof/profile?seconds=30'
//	go tool pprof -top cpu.pb.gz
//
// A profile costs the server a few per cent of CPU while it runs and
// nothing otherwise. The handlers come from net/http/pprof, mounted on our
// mux rather than http.DefaultServeMux, behind the same token check as
// every other admin endpoint.
func (s *Server) registerPprof(mux *http.ServeMux) {
	admin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, ok := s.authorize(w, r, RoleAdmin); !ok {
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /debug/pprof/", admin(pprof.Index)) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("GET /debug/pprof/cmdline", admin(pprof.Cmdline))
	mux.HandleFunc("GET /debug/pprof/profile", admin(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", admin(pprof.Symbol))
	mux.HandleFunc("POST /debug/pprof/symbol", admin(pprof.Symbol))
	mux.HandleFunc("GET /debug/pprof/trace", admin(pprof.Trace))
}
