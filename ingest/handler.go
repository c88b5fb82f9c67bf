package ingest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"dalil"
)

// Handler serves the ingest endpoints. It is safe for concurrent use.
type Handler struct {
	cfg        Config
	sink       Sink
	devices    Devices
	auth       TokenAuth
	limiter    *authLimiter // nil: failed authentications are not limited
	m          *Metrics
	log        *slog.Logger
	filter     *filter
	pool       sync.Pool
	retryAfter string
	// lastSinkLog and quietSinkErrs rate-limit the sink-failure log: when
	// the store is down every request fails, and one line per request
	// would bury everything else.
	lastSinkLog   atomic.Int64
	quietSinkErrs atomic.Int64
}

// NewHandler returns a handler that filters pings and hands them to sink.
// devices resolves OsmAnd and OwnTracks ids (and device kinds); auth resolves
// native and OwnTracks tokens: without it /v1/pings answers 401 to everyone.
// m may be nil (metrics are then kept but not registered), log may be nil.
func NewHandler(cfg Config, sink Sink, devices Devices, auth TokenAuth, m *Metrics, log *slog.Logger) *Handler {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Limits that cannot sensibly be "off" fall back to their defaults
	// when left zero, so that a partly filled Config is still safe.
	def := DefaultConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.MaxSingleBodyBytes <= 0 {
		cfg.MaxSingleBodyBytes = def.MaxSingleBodyBytes
	}
	if cfg.FilterDevices <= 0 {
		cfg.FilterDevices = def.FilterDevices
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = def.RetryAfter
	}
	if cfg.AuthFailureRate == 0 {
		cfg.AuthFailureRate = def.AuthFailureRate
	}
	if cfg.AuthFailureBurst <= 0 {
		cfg.AuthFailureBurst = def.AuthFailureBurst
	}
	h := &Handler{
		cfg:        cfg,
		sink:       sink,
		devices:    devices,
		auth:       auth,
		m:          m,
		log:        log,
		retryAfter: strconv.Itoa(max(1, int((cfg.RetryAfter+time.Second-1)/time.Second))),
	}
	h.limiter = newAuthLimiter(cfg.AuthFailureRate, cfg.AuthFailureBurst, cfg.Now)
	h.filter = newFilter(&h.cfg)
	h.pool.New = func() any { return new(reqState) }
	return h
}

// Register adds the ingest routes to mux: POST /v1/pings, GET|POST
// /ingest/osmand, POST /ingest/owntracks and POST /pub (OwnTracks' default path).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/pings", h.serveNative)
	mux.HandleFunc("GET /ingest/osmand", h.serveOsmAnd)
	mux.HandleFunc("POST /ingest/osmand", h.serveOsmAnd)
	mux.HandleFunc("POST /ingest/owntracks", h.serveOwnTracks)
	mux.HandleFunc("POST /pub", h.serveOwnTracks)
}

// OsmAndRoot serves the OsmAnd protocol at any path, for a listener of its
// own (Traccar's port 5055), so that a Traccar Client pointed at
// http://host:5055 works unchanged.
func (h *Handler) OsmAndRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.serveOsmAnd(w, r)
	})
}

func (h *Handler) getState() *reqState { return h.pool.Get().(*reqState) }

func (h *Handler) putState(rs *reqState) {
	rs.clear()
	h.pool.Put(rs)
}

func (h *Handler) observe(p protocol, start time.Time) {
	h.m.latency[p].Observe(time.Since(start).Seconds())
}

// readBody reads the request body into rs.body, answering 413 or 400 itself
// when it cannot.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, rs *reqState, limit int64) bool {
	var err error
	rs.body, err = readBody(r.Body, r.ContentLength, rs.body, limit)
	switch {
	case err == nil:
		return true
	case errors.Is(err, errTooLarge):
		h.m.rejected[reasonTooLarge].Inc()
		rs.out = append(rs.out[:0], "too_large: body exceeds "...)
		rs.out = strconv.AppendInt(rs.out, limit, 10)
		rs.out = append(rs.out, " bytes"...)
		h.text(w, rs, http.StatusRequestEntityTooLarge)
	default:
		h.m.rejected[reasonMalformed].Inc()
		rs.out = append(rs.out[:0], "malformed: could not read the request body"...)
		h.text(w, rs, http.StatusBadRequest)
	}
	return false
}

// resolve decides whether a device is known and picks its speed bound.
func (h *Handler) resolve(s *session, vouched bool) {
	if s.resolved {
		return
	}
	s.resolved, s.known = true, vouched
	if h.devices != nil && s.dev != "" {
		if d, ok := h.devices.Device(s.dev); ok {
			s.known = true
			s.maxSpeed = h.cfg.maxSpeedFor(d.Kind)
		}
	}
}

// run filters the decoded items, stores the survivors in one Sink call and
// then commits the filter state and counts the outcome. vouched says the
// devices were authenticated by token (native), so the registry need not
// know them. It returns false after answering 503 or 500 itself; nothing is
// committed or counted then, because the client will send it all again.
func (h *Handler) run(ctx context.Context, w http.ResponseWriter, rs *reqState, proto protocol, now time.Time, vouched bool) bool {
	for i := range rs.items {
		it := &rs.items[i]
		if it.fault.reason != reasonNone {
			continue
		}
		s := rs.session(h.filter, it.p.Device, h.cfg.MaxSpeed)
		h.resolve(s, vouched)
		if !s.known {
			it.fault = fault{reason: reasonUnknownDevice}
			continue
		}
		v := h.filter.check(&s.st, &it.p, now, s.maxSpeed)
		s.used = true
		if v.reason != reasonNone {
			it.fault = fault{reason: v.reason}
			it.resent = v.resent
			continue
		}
		rs.ok = append(rs.ok, it.p)
	}
	if len(rs.ok) > 0 {
		if err := h.sink.Accept(ctx, rs.ok); err != nil {
			h.sinkFailed(w, rs, proto, err)
			return false
		}
	}
	for i := range rs.sessions {
		if s := &rs.sessions[i]; s.used {
			h.filter.store(s.dev, &s.st)
		}
	}
	h.m.accepted[proto].Add(float64(len(rs.ok)))
	debug := h.log.Enabled(ctx, slog.LevelDebug)
	for i := range rs.items {
		it := &rs.items[i]
		if it.fault.reason == reasonNone {
			continue
		}
		r := it.fault.reason
		if it.resent && h.cfg.AckResentRejects && proto != protoNative {
			r = reasonResent
		}
		h.m.rejected[r].Inc()
		if debug {
			h.log.LogAttrs(ctx, slog.LevelDebug, "ping rejected",
				slog.String("protocol", protocolNames[proto]), slog.String("device", it.p.Device),
				slog.String("reason", reasonNames[r]), slog.String("field", it.fault.field),
				slog.String("detail", it.fault.detail()), slog.Int("index", i))
		}
	}
	return true
}

// sinkFailed answers a sink error: 503 with Retry-After when the store is
// unavailable, else 500.
func (h *Handler) sinkFailed(w http.ResponseWriter, rs *reqState, proto protocol, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, dalil.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		h.m.unavailable.Inc()
		w.Header().Set("Retry-After", h.retryAfter)
		rs.out = append(rs.out[:0], "unavailable: storage is unavailable, retry later"...)
	} else {
		h.m.failed.Inc()
		rs.out = append(rs.out[:0], "internal: the pings could not be stored"...)
	}
	h.logSinkError(proto, len(rs.ok), err)
	h.text(w, rs, status)
}

// logSinkError logs at most one sink failure per second, with the number of
// failures not logged since the previous line.
func (h *Handler) logSinkError(proto protocol, pings int, err error) {
	now := time.Now().UnixNano()
	last := h.lastSinkLog.Load()
	if now-last < int64(time.Second) || !h.lastSinkLog.CompareAndSwap(last, now) {
		h.quietSinkErrs.Add(1)
		return
	}
	h.log.Warn("ingest: sink failed", "protocol", protocolNames[proto], "pings", pings, "err", err,
		"unlogged_failures", h.quietSinkErrs.Swap(0))
}

// singleOutcome answers a request that carried one ping, the way
// single-ping clients understand: 2xx means "delete it from your queue".
// Exact duplicates answer 200 too: the first copy is stored, and a 400 would
// make the client resend the same fix forever. So does a resend of a ping
// refused before, when AckResentRejects is on (see Config).
func (h *Handler) singleOutcome(it *item, proto protocol) (ok bool) {
	switch {
	case it.fault.reason == reasonNone, it.fault.reason == reasonDuplicate:
		return true
	case it.resent && h.cfg.AckResentRejects && proto != protoNative:
		return true
	}
	return false
}

// text writes rs.out as a text/plain answer.
func (h *Handler) text(w http.ResponseWriter, rs *reqState, status int) {
	rs.out = append(rs.out, '\n')
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(rs.out)))
	w.WriteHeader(status)
	w.Write(rs.out)
}

// json writes rs.out as an application/json answer.
func (h *Handler) json(w http.ResponseWriter, rs *reqState, status int) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(rs.out)))
	w.WriteHeader(status)
	w.Write(rs.out)
}

// faultText answers 400 with an item's fault.
func (h *Handler) faultText(w http.ResponseWriter, rs *reqState, f fault) {
	rs.out = f.appendText(rs.out[:0])
	h.text(w, rs, http.StatusBadRequest)
}

// syntaxError answers 400 for a body that is not valid JSON, naming the
// byte offset, and counts it as one malformed request.
func (h *Handler) syntaxError(w http.ResponseWriter, rs *reqState, what string) {
	h.m.rejected[reasonMalformed].Inc()
	rs.out = append(rs.out[:0], "malformed: "...)
	rs.out = append(rs.out, what...)
	rs.out = append(rs.out, ": "...)
	rs.out = append(rs.out, rs.r.err...)
	rs.out = append(rs.out, " at byte "...)
	rs.out = strconv.AppendInt(rs.out, int64(rs.r.errAt), 10)
	h.text(w, rs, http.StatusBadRequest)
}

// appendBatchResult appends {"accepted":N,"rejected":[{"index","reason","field","detail"}]}.
func appendBatchResult(b []byte, rs *reqState) []byte {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(len(rs.ok)), 10)
	b = append(b, `,"rejected":[`...)
	first := true
	for i := range rs.items {
		f := rs.items[i].fault
		if f.reason == reasonNone {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"reason":"`...)
		b = append(b, reasonNames[f.reason]...)
		b = append(b, '"')
		if f.field != "" {
			b = append(b, `,"field":`...)
			b = appendJSONString(b, f.field)
		}
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, f.detail())
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
