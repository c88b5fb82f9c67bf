// Package api serves Dalil over HTTP: the REST API, the websocket live feed,
// bearer-token authentication with role scopes, the audit log, health and
// metrics endpoints, and it mounts ingest and the web console.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/ingest"
	"dalil/live"
	"dalil/notify"
	"dalil/registry"
	"dalil/tracking"
)

// Config is everything about the server that is not a dependency.
type Config struct {
	// Addr is the listen address of the API (default 127.0.0.1:8080).
	Addr string
	// OsmAndAddr, when set, also serves the OsmAnd protocol at "/" on its own
	// port (Traccar Client's default is 5055) with the lean listener.
	// OsmAndOptional makes a busy OsmAndAddr a warning instead of an error:
	// the default address, which the operator did not ask for by name.
	OsmAndAddr     string
	OsmAndOptional bool
	// AdminToken is the bootstrap admin token (DALIL_ADMIN_TOKEN). When empty
	// and no admin token is stored yet, Serve generates one and prints it
	// once to Stdout (never to the log: logs are shipped and kept).
	AdminToken string
	// Stdout receives what a person must read once at start: a generated
	// bootstrap admin token. Nil means os.Stdout.
	Stdout io.Writer
	// AllowedOrigins lists extra websocket Origins ("https://console.example")
	// besides the server's own host.
	AllowedOrigins []string
	// MetricsPublic serves /metrics without a token (for a scraper on a
	// private network). By default /metrics needs an admin or metrics token.
	MetricsPublic bool
	// StaleAfter is the age after which a live position is reported stale.
	StaleAfter time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take at shutdown.
	ShutdownTimeout time.Duration
	// Live configures the websocket hub.
	Live live.HubConfig
	// Ingest configures the device protocols.
	Ingest ingest.Config
	// Engine configures the tracking engine.
	Engine tracking.EngineConfig
	// Console serves the web console at "/" when not nil (web.Handler()).
	Console http.Handler
	// Alerts configures group separation and night-outside-camp alerts.
	Alerts tracking.AlertConfig
	// PublicURL is where devices reach this server (https://dalil.example),
	// used in enrolment links and QR codes; empty: the scheme and host of
	// the enrolling request.
	PublicURL string
	// Webhook, when its URL is set, posts signed case and alert events to an
	// outside service (an SMS gateway that tells the guide and the family).
	Webhook notify.WebhookConfig
}

// DefaultConfig returns the defaults documented in docs/operations.md.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		StaleAfter:      15 * time.Minute,
		ShutdownTimeout: 15 * time.Second,
		Live:            live.DefaultHubConfig(),
		Ingest:          ingest.DefaultConfig(),
		Engine:          tracking.DefaultEngineConfig(),
		Alerts:          tracking.DefaultAlertConfig(),
		Webhook:         notify.DefaultWebhookConfig(),
	}
}

// Deps are the parts the server is built from. Store, Index and Registry are
// required; New builds the tracking engine, the hub and the ingest handler.
type Deps struct {
	Store    dalil.Store
	Index    *geo.Index
	Registry *registry.Registry
	Logger   *slog.Logger
	// Publishers receive every tracking update after the websocket hub.
	Publishers []dalil.Publisher
}

// Server is the HTTP side of Dalil. Create it with New, serve it with Run (or
// mount Handler in a test server).
type Server struct {
	cfg      Config
	store    dalil.Store
	engine   *tracking.Engine
	registry *registry.Registry
	index    *geo.Index
	layout   *geo.Layout
	hub      *live.Hub
	fanout   *Fanout
	tokens   *tokenStore
	audits   *auditLog
	ingest   *ingest.Handler
	log      *slog.Logger
	metrics  *Metrics
	handler  http.Handler

	layoutCache layoutCache

	// caseAccess decides whether a non-operator principal may see a case
	// (websocket topic case:<ID>); the helpdesk sets it. Nil means operators
	// and admins only.
	caseAccess func(p Principal, caseID string) bool
	// webhook is the outbound notifier when Config.Webhook.URL is set.
	webhook *notify.WebhookNotifier

	mu         sync.Mutex
	background []func(ctx context.Context)
	ready      []func()
}

// New builds a server and its engine. It reads the tokens, the cases and the
// luggage from the store under ctx (a start-up deadline bounds a store that
// hangs). Call Engine().Rebuild before serving when the store holds history
// (Serve does it).
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	if deps.Store == nil || deps.Index == nil || deps.Registry == nil {
		return nil, errors.New("api: Deps.Store, Deps.Index and Deps.Registry are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StaleAfter > 0 {
		cfg.Engine.StaleAfter = cfg.StaleAfter
	} else {
		cfg.StaleAfter = tracking.DefaultEngineConfig().StaleAfter
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	m := newMetrics()
	s := &Server{
		cfg:      cfg,
		store:    newTimedStore(deps.Store, m.reg),
		registry: deps.Registry,
		index:    deps.Index,
		layout:   deps.Index.Layout(),
		log:      deps.Logger,
		metrics:  m,
		fanout:   &Fanout{},
	}
	cfg.Live.AllowedOrigins = slices.Concat(cfg.Live.AllowedOrigins, cfg.AllowedOrigins)
	s.cfg.Live = cfg.Live
	hcfg := cfg.Live
	hcfg.GroupOf = func(pid string) string {
		pg, _ := deps.Registry.Pilgrim(pid)
		return pg.Group
	}
	s.hub = live.NewHub(hcfg, deps.Logger)
	s.fanout.Add(s.hub)
	for _, p := range deps.Publishers {
		s.fanout.Add(p)
	}
	s.engine = tracking.NewEngine(cfg.Engine, s.store, deps.Registry, deps.Index, s.fanout, deps.Logger)
	s.metrics.watchEngine(s.engine)
	s.metrics.watchHub(s.hub)
	s.tokens = newTokenStore(s.store, deps.Registry)
	s.audits = newAuditLog(s.store)
	s.ingest = ingest.NewHandler(cfg.Ingest, s.engine, deps.Registry, s.tokens, ingest.NewMetrics(s.metrics.reg), deps.Logger)
	if err := s.tokens.load(ctx); err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	s.handler = s.routes(ctx)
	return s, nil
}

// Handler is the whole HTTP API (REST, live feed, ingest, console), with
// request metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine is the tracking engine the server feeds; the in-process simulator
// sends to Engine().Accept.
func (s *Server) Engine() *tracking.Engine { return s.engine }

// Hub is the websocket hub (a tracking.Publisher).
func (s *Server) Hub() *live.Hub { return s.hub }

// OsmAndHandler serves the OsmAnd protocol at "/" for the --osmand-addr port.
func (s *Server) OsmAndHandler() http.Handler { return s.ingest.OsmAndRoot() }

// addPublisher adds a receiver of every tracking update (the helpdesk's alert
// monitor and case locator). Safe at any time; usually called from
// registerHelpdesk.
func (s *Server) addPublisher(p dalil.Publisher) { s.fanout.Add(p) }

// OnRun registers a background task (the helpdesk's notifier, retention,
// the demo simulation, …). Serve starts every task once the live state is
// rebuilt and the listeners accept, passes a context that ends when shutdown
// begins, and returns only after every task has returned, so a task may use
// the store until it returns. Register before Serve; a task registered later
// is not started.
func (s *Server) OnRun(fn func(ctx context.Context)) {
	s.mu.Lock()
	s.background = append(s.background, fn)
	s.mu.Unlock()
}

// OnReady registers fn to be called once when the server is ready: the live
// state is rebuilt, the listeners serve and the background tasks have been
// started. Serve calls the functions in order, on its own goroutine; they
// should return quickly (print a banner, signal a test). Register before
// Serve.
func (s *Server) OnReady(fn func()) {
	s.mu.Lock()
	s.ready = append(s.ready, fn)
	s.mu.Unlock()
}

// routes builds the mux. Go 1.22 patterns: method and wildcards.
func (s *Server) routes(ctx context.Context) http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)

	mux.HandleFunc("GET /v1/me", s.handleMe)
	mux.HandleFunc("POST /v1/tokens", s.handleTokenCreate)
	mux.HandleFunc("GET /v1/tokens", s.handleTokenList)
	mux.HandleFunc("DELETE /v1/tokens/{id}", s.handleTokenRevoke)
	mux.HandleFunc("GET /v1/audit", s.handleAudit)

	mux.HandleFunc("GET /v1/layout", s.handleLayout)
	mux.HandleFunc("GET /v1/camps/{id}", s.handleCamp)
	mux.HandleFunc("GET /v1/camps/{id}/pilgrims", s.handleCampPilgrims)
	mux.HandleFunc("GET /v1/tents/{id...}", s.handleTent) // tent IDs hold a slash: mina-094/3
	mux.HandleFunc("GET /v1/locate", s.handleLocate)

	mux.HandleFunc("GET /v1/pilgrims/{pid}", s.handlePilgrim)
	mux.HandleFunc("GET /v1/pilgrims/{pid}/trail", s.handleTrail)
	mux.HandleFunc("GET /v1/pilgrims/{pid}/route", s.handleRoute)
	mux.HandleFunc("GET /v1/nearby", s.handleNearby)
	mux.HandleFunc("GET /v1/groups/{id}", s.handleGroup)

	mux.HandleFunc("GET /v1/live", s.handleLive)
	s.registerPprof(mux)

	s.ingest.Register(mux)
	s.registerHelpdesk(ctx, mux)

	// Unknown API paths answer in JSON, not with the console's 404 page.
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	})
	if s.cfg.Console != nil {
		mux.Handle("/", s.cfg.Console)
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
		})
	}
	return s.metrics.instrument(mux)
}
