package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"dalil/ingest"
)

// Listen binds the API address (and the OsmAnd one when configured) so that
// the caller learns the real addresses before Serve; Run does both.
func (s *Server) Listen() (api, osmand net.Listener, err error) {
	api, err = net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.OsmAndAddr != "" {
		osmand, err = net.Listen("tcp", s.cfg.OsmAndAddr)
		if err != nil && s.cfg.OsmAndOptional {
			s.log.Warn("not serving the OsmAnd port: its default address is taken (set --osmand-addr to another address, or off)",
				"addr", s.cfg.OsmAndAddr, "err", err)
			return api, nil, nil
		}
		if err != nil {
			api.Close()
			return nil, nil, fmt.Errorf("listen osmand %s: %w", s.cfg.OsmAndAddr, err)
		}
	}
	return api, osmand, nil
}

// Run listens on Config.Addr (and OsmAndAddr) and serves until ctx ends; see
// Serve.
func (s *Server) Run(ctx context.Context) error {
	api, osmand, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, api, osmand)
}

// Serve runs the server until ctx ends. At start, in this order, it:
//  1. makes sure an admin token exists (a generated one is printed once to
//     Config.Stdout);
//  2. rebuilds the live state from the store (the listeners are bound but
//     not yet answering: connections wait in the kernel's backlog);
//  3. serves on the listeners (osmand may be nil);
//  4. starts the background tasks registered with OnRun;
//  5. calls the OnReady functions.
//
// When ctx ends it shuts down gracefully: it stops accepting, lets in-flight
// requests finish for up to Config.ShutdownTimeout (an acknowledged ping is
// already durable), closes every websocket with a "going away" close frame,
// cancels the background tasks' context and waits for every task to return.
// Only then does it return; the caller closes the store afterwards.
func (s *Server) Serve(ctx context.Context, api, osmand net.Listener) error {
	defer api.Close()
	if osmand != nil {
		defer osmand.Close()
	}
	generated, err := s.EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap admin token: %w", err)
	}
	if generated != "" {
		// Printed once, to the operator's terminal and not to the log (logs
		// are shipped and kept): only its hash is stored, and later starts
		// find it.
		out := s.cfg.Stdout
		if out == nil {
			out = os.Stdout
		}
		fmt.Fprintf(out, "Bootstrap admin token (store it now, it is not shown again; set DALIL_ADMIN_TOKEN to choose your own):\n  %s\n", generated)
		s.log.Warn("generated the bootstrap admin token and printed it on standard output; it is not shown again")
	}
	if err := s.engine.Rebuild(ctx); err != nil { // logs what it rebuilt
		return fmt.Errorf("rebuild live state: %w", err)
	}

	servers := []*http.Server{s.httpServer(s.handler)}
	errc := make(chan error, 2)
	s.log.Info("listening", "addr", api.Addr().String())
	go func() { errc <- servers[0].Serve(api) }()
	var lean *ingest.OsmAndListener
	if osmand != nil {
		// The OsmAnd port gets the lean listener: one-fix requests from
		// phones, where net/http's own cost is most of the request's.
		lean = s.ingest.OsmAndListener()
		s.log.Info("listening", "addr", osmand.Addr().String(), "osmand", true)
		go func() { errc <- lean.Serve(ctx, osmand) }()
	}

	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	var bg sync.WaitGroup
	s.mu.Lock()
	tasks := append([]func(context.Context){}, s.background...)
	s.mu.Unlock()
	for _, fn := range tasks {
		bg.Go(func() { fn(bgCtx) })
	}
	s.mu.Lock()
	ready := append([]func(){}, s.ready...)
	s.mu.Unlock()
	for _, fn := range ready {
		fn()
	}
	s.log.Info("ready", "addr", api.Addr().String(), "background_tasks", len(tasks))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		if errors.Is(serveErr, http.ErrServerClosed) {
			serveErr = nil
		}
	}
	s.log.Info("shutting down")
	sdCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	for _, hs := range servers {
		if err := hs.Shutdown(sdCtx); err != nil {
			s.log.Warn("in-flight requests cut at shutdown timeout", "err", err)
		}
	}
	if lean != nil {
		if err := lean.Shutdown(sdCtx); err != nil {
			s.log.Warn("in-flight OsmAnd requests cut at shutdown timeout", "err", err)
		}
	}
	if err := s.hub.Close(sdCtx); err != nil {
		s.log.Warn("websocket clients did not close in time", "err", err)
	}
	stopBG()
	bg.Wait()
	s.log.Info("stopped")
	return serveErr
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          nil,
		BaseContext:       nil,
	}
}
