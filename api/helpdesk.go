package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dalil"
	"dalil/helpdesk"
	"dalil/notify"
	"dalil/tracking"
)

// helpdesk is the lost-and-found desk: search, cases, sightings, luggage and
// group alerts. Its parts live in package tracking; this wires them to the
// server and serves them over HTTP (api/helpdesk_*.go).
type desk struct {
	s         *Server
	search    *helpdesk.SearchIndex
	cases     *helpdesk.CaseBook
	locator   *helpdesk.CaseLocator
	luggage   *helpdesk.LuggageDesk
	sightings *helpdesk.Sightings
	alerts    *tracking.AlertMonitor
	// loadErr is why the case book or luggage desk could not be loaded at
	// start (the store was down): their endpoints answer 503 then.
	loadErr error

	searchMu      sync.Mutex // serialises rebuilds of the search index
	searchVersion uint64     // registry version the index reflects
}

// Helpdesk timing.
const (
	// searchRefreshEvery is how often the registry's version is checked;
	// a change (an import) rebuilds the search index in the background.
	searchRefreshEvery = 5 * time.Second
	maxHelpdeskBody    = 64 << 10
)

// registerHelpdesk adds the helpdesk routes (search, cases, luggage,
// sightings, alerts) and hangs the case locator and the alert monitor on the
// engine's update stream. Case and alert events go out through the server's
// fan-out: the websocket hub (case:<ID>, events, group:<GID>) and any
// Deps.Publishers, such as a tracking.WebhookNotifier.
func (s *Server) registerHelpdesk(ctx context.Context, mux *http.ServeMux) {
	h := &desk{s: s}
	h.searchVersion = s.registry.Version()
	h.search = helpdesk.NewSearchIndex(s.registry, s.engine)

	var err error
	h.cases, err = helpdesk.LoadCaseBook(ctx, helpdesk.CaseDeps{
		Store: s.store, Pilgrims: s.registry, Live: s.engine, Router: s.index, Publisher: s.fanout, Logger: s.log,
	})
	if err == nil {
		h.luggage, err = helpdesk.LoadLuggageDesk(ctx, helpdesk.LuggageDeps{
			Store: s.store, Pilgrims: s.registry, Devices: s.registry, Logger: s.log,
		})
	}
	if err != nil {
		s.log.Error("helpdesk: cannot load cases and luggage; their endpoints answer 503", "err", err)
		h.loadErr = err
	} else {
		h.locator = helpdesk.NewCaseLocator(h.cases)
		s.addPublisher(h.locator)
		s.OnRun(func(ctx context.Context) { _ = h.locator.Run(ctx) })
	}
	h.sightings = helpdesk.NewSightings(helpdesk.SightingDeps{
		Store: s.store, Pilgrims: s.registry, Devices: s.registry, Sink: s.engine, Luggage: h.luggage,
	})
	alertCfg := s.cfg.Alerts
	if alertCfg.RaiseDistanceM <= 0 { // a Config not made by DefaultConfig
		alertCfg = tracking.DefaultAlertConfig()
	}
	h.alerts = tracking.NewAlertMonitor(alertCfg, s.registry, s.fanout, s.log, nil)
	s.addPublisher(h.alerts)
	s.OnRun(func(ctx context.Context) { _ = h.alerts.Run(ctx) })
	s.OnRun(h.refreshSearch)
	if s.cfg.Webhook.URL != "" {
		h.startWebhook()
	}
	s.caseAccess = h.canSeeCase

	mux.HandleFunc("GET /v1/search", h.handleSearch)
	mux.HandleFunc("POST /v1/found-person", h.handleFoundPerson)
	mux.HandleFunc("POST /v1/sightings", h.handleSighting)
	mux.HandleFunc("GET /v1/alerts", h.handleAlerts)

	mux.HandleFunc("POST /v1/cases", h.handleCaseOpen)
	mux.HandleFunc("GET /v1/cases", h.handleCaseList)
	mux.HandleFunc("GET /v1/cases/handover", h.handleHandover)
	mux.HandleFunc("GET /v1/cases/{id}", h.handleCaseGet)
	mux.HandleFunc("POST /v1/cases/{id}/transition", h.handleCaseTransition)
	mux.HandleFunc("POST /v1/cases/{id}/assign", h.handleCaseAssign)
	mux.HandleFunc("POST /v1/cases/{id}/notes", h.handleCaseNote)

	mux.HandleFunc("POST /v1/enrolments", h.handleEnrol)
	mux.HandleFunc("POST /v1/trackers/import", h.handleTrackersImport)
	mux.HandleFunc("POST /v1/luggage", h.handleLuggageRegister)
	mux.HandleFunc("GET /v1/luggage", h.handleLuggageList)
	mux.HandleFunc("GET /v1/luggage/{tag}", h.handleLuggageGet)
	mux.HandleFunc("POST /v1/luggage/{tag}/lost", h.handleLuggageLost)
	mux.HandleFunc("POST /v1/luggage/{tag}/handover", h.handleLuggageHandover)
	mux.HandleFunc("POST /v1/found-items", h.handleFoundRecord)
	mux.HandleFunc("GET /v1/found-items", h.handleFoundList)
	mux.HandleFunc("GET /v1/found-items/{id}", h.handleFoundGet)
	mux.HandleFunc("POST /v1/found-items/{id}/match", h.handleFoundMatch)
}

// refreshSearch rebuilds the search index when the registry changed (an
// import, a device binding). Rebuilds happen off the request path; searches
// keep using the old index meanwhile. The pause after a rebuild grows with
// its cost, so a large registry is not rebuilt back to back.
func (h *desk) refreshSearch(ctx context.Context) {
	t := time.NewTicker(searchRefreshEvery)
	defer t.Stop()
	var pauseUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Before(pauseUntil) {
				continue
			}
			if took, rebuilt := h.syncSearch(); rebuilt {
				pauseUntil = time.Now().Add(10 * took)
			}
		}
	}
}

// syncSearch rebuilds the index if the registry moved on since the last build.
func (h *desk) syncSearch() (time.Duration, bool) {
	h.searchMu.Lock()
	defer h.searchMu.Unlock()
	v := h.s.registry.Version()
	if v == h.searchVersion {
		return 0, false
	}
	start := time.Now()
	h.search.Rebuild()
	h.searchVersion = v
	took := time.Since(start)
	h.s.log.Info("search index rebuilt", "pilgrims", h.search.Len(), "took", took.Round(time.Millisecond))
	return took, true
}

// ready answers 503 when the case book and luggage desk could not load.
func (h *desk) ready(w http.ResponseWriter) bool {
	if h.loadErr != nil {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "helpdesk data could not be loaded at start: "+h.loadErr.Error(), "")
		return false
	}
	return true
}

// decodeBody reads a JSON object into v: at most 64 KiB, no unknown fields.
// It answers 400 naming the offending field itself and returns false then.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxHelpdeskBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	field := ""
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		field = te.Field
		err = fmt.Errorf("%s must be %s, got %s", te.Field, te.Type, te.Value)
	case errors.As(err, &mbe):
		err = fmt.Errorf("body larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		err = errors.New("empty body; a JSON object is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		err = fmt.Errorf("unknown field %q", field)
	}
	writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error(), field)
	return false
}

// domainError answers an error from the helpdesk's domain: 404 for unknown
// things, 409 for a step the workflow refuses, 400 for invalid input, 503
// for a store that is down.
func (h *desk) domainError(w http.ResponseWriter, what string, err error) {
	field := ""
	var fe *helpdesk.FieldError
	if errors.As(err, &fe) {
		field = fe.Field
	}
	switch {
	case errors.Is(err, dalil.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), field)
	case errors.Is(err, helpdesk.ErrInvalidTransition):
		if field == "" {
			field = "to"
		}
		writeError(w, http.StatusConflict, err.Error(), field)
	case errors.Is(err, helpdesk.ErrLuggageConflict):
		writeError(w, http.StatusConflict, err.Error(), field)
	case errors.Is(err, helpdesk.ErrInvalidCase), errors.Is(err, helpdesk.ErrInvalidLuggage), errors.Is(err, helpdesk.ErrInvalidSighting):
		writeError(w, http.StatusBadRequest, err.Error(), field)
	default:
		h.s.storeError(w, what, err)
	}
}

// startWebhook sends case and alert events to the configured webhook. A bad
// webhook configuration is logged and leaves the rest of the server working.
// Events wait in the server's store until delivered or given up, so a
// restart resends what was pending; Run is a background task, so shutdown
// waits for it before the store is closed.
func (h *desk) startWebhook() {
	// A nil client makes the notifier build its own, which does not follow
	// redirects: a redirect must not carry signed pilgrim events elsewhere.
	n, err := notify.NewWebhookNotifier(h.s.cfg.Webhook, notify.WebhookDeps{Store: h.s.store, Logger: h.s.log})
	if err != nil {
		h.s.log.Error("helpdesk: webhook disabled", "err", err)
		return
	}
	h.s.webhook = n
	h.s.addPublisher(n)
	webhookMetrics(h.s.metrics.reg, n)
	h.s.OnRun(func(ctx context.Context) { _ = n.Run(ctx) })
}

// webhookMetrics exports the notifier's counters, read at scrape time, so
// that an operator sees events given up (and why) or lost.
func webhookMetrics(reg *prometheus.Registry, n *notify.WebhookNotifier) {
	counter := func(name, help string, labels prometheus.Labels, f func(notify.WebhookStats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(f(n.Stats())) }))
	}
	counter("dalil_webhook_delivered_total", "Webhook events the receiver accepted (2xx).", nil,
		func(s notify.WebhookStats) uint64 { return s.Delivered })
	givenUp := "Webhook events given up and removed from the store, by reason: refused (a 3xx or 4xx answer), " +
		"exhausted (out of attempts), unreadable (a stored event that does not decode)."
	counter("dalil_webhook_given_up_total", givenUp, prometheus.Labels{"reason": "refused"},
		func(s notify.WebhookStats) uint64 { return s.Refused })
	counter("dalil_webhook_given_up_total", givenUp, prometheus.Labels{"reason": "exhausted"},
		func(s notify.WebhookStats) uint64 { return s.Exhausted })
	counter("dalil_webhook_given_up_total", givenUp, prometheus.Labels{"reason": "unreadable"},
		func(s notify.WebhookStats) uint64 { return s.Unreadable })
	counter("dalil_webhook_dropped_total", "Webhook events lost unsent: not stored (store error) and the memory queue full, or in memory only at shutdown.", nil,
		func(s notify.WebhookStats) uint64 { return s.Dropped })
	counter("dalil_webhook_retries_total", "Webhook delivery attempts retried.", nil,
		func(s notify.WebhookStats) uint64 { return s.Retries })
	counter("dalil_webhook_store_errors_total", "Webhook store writes, deletes and loads that failed.", nil,
		func(s notify.WebhookStats) uint64 { return s.StoreErrors })
}
