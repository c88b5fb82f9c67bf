package send

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dalil"
)

// Config configures a Sender.
type Config struct {
	// Target is the server's base URL; it must be on loopback.
	Target string
	// Protocol is how devices talk to it (default Mixed).
	Protocol Protocol
	// AdminToken mints device tokens, which every device then sends
	// (native and OsmAnd as a bearer token, OwnTracks as its password).
	// Without it only OsmAnd and OwnTracks work, against a server running
	// with --open-ingest.
	AdminToken string
	// Workers is how many requests are in flight at once (default 16).
	Workers int
	// Client is the HTTP client (default: one with keep-alive to the target).
	Client *http.Client
	// Log receives rejected pings' reasons at debug level.
	Log *slog.Logger
}

// Stats counts what a Sender did.
type Stats struct {
	Requests int64            `json:"requests"`
	Accepted int64            `json:"accepted"` // pings the server acknowledged
	Rejected int64            `json:"rejected"` // pings the server refused (bad fix, filter)
	Failed   int64            `json:"failed"`   // pings whose request failed (network, 5xx)
	Reasons  map[string]int64 `json:"reasons,omitempty"`
}

// Sender posts pings to a server. Send is safe for one caller at a time.
type Sender struct {
	cfg    Config
	base   string
	client *http.Client
	tokens *Tokens

	requests, accepted, rejected, failed atomic.Int64
	mu                                   sync.Mutex
	reasons                              map[string]int64
}

// New checks the target and builds a Sender.
func New(cfg Config) (*Sender, error) {
	u, err := CheckTarget(cfg.Target)
	if err != nil {
		return nil, err
	}
	if cfg.Protocol == "" {
		cfg.Protocol = Mixed
	}
	if _, err := ParseProtocol(string(cfg.Protocol)); err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Workers, MaxConnsPerHost: cfg.Workers, Proxy: nil},
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base := u.String()
	return &Sender{cfg: cfg, base: base, client: cfg.Client, tokens: NewTokens(base, cfg.AdminToken, cfg.Client), reasons: map[string]int64{}}, nil
}

// Tokens is the sender's device token cache.
func (s *Sender) Tokens() *Tokens { return s.tokens }

// Stats returns the counters so far.
func (s *Sender) Stats() Stats {
	st := Stats{Requests: s.requests.Load(), Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Failed: s.failed.Load()}
	s.mu.Lock()
	if len(s.reasons) > 0 {
		st.Reasons = make(map[string]int64, len(s.reasons))
		for k, v := range s.reasons {
			st.Reasons[k] = v
		}
	}
	s.mu.Unlock()
	return st
}

// errFatal marks an answer that retrying cannot fix (a refused token).
var errFatal = errors.New("refused")

// Send delivers ps, each device over its protocol, Workers requests at a
// time, and returns when every request is answered. A 503 or 429 (or a
// connection the server refused) returns an error wrapping
// tracking.ErrUnavailable, so the simulator sends the batch again later; a
// 401 or 403 returns a plain error; a refused ping (4xx) is counted, not
// returned.
func (s *Sender) Send(ctx context.Context, ps []dalil.Position) error {
	reqs := s.requestsFor(ps)
	jobs := make(chan request)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for range min(s.cfg.Workers, len(reqs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				if err := s.do(ctx, r); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	for _, r := range reqs {
		if first.Load() != nil || ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return ctx.Err()
}

// request is one HTTP request carrying n pings.
type request struct {
	proto   Protocol
	device  string
	method  string
	path    string
	ctype   string
	body    []byte
	headers [][2]string
	n       int
}

// requestsFor turns pings into requests: one per ping for OsmAnd and
// OwnTracks, one per device for native batches (a phone flushing its backlog
// sends it in one request). OsmAnd devices use one of Traccar Client's three
// request styles, fixed by their id.
func (s *Sender) requestsFor(ps []dalil.Position) []request {
	var out []request
	native := map[string]int{} // device -> index in out
	for i := range ps {
		p := &ps[i]
		switch proto := s.cfg.Protocol.For(p.Device); proto {
		case OsmAnd:
			out = append(out, osmandRequest(*p))
		case OwnTracks:
			out = append(out, ownTracksRequest(*p))
		default:
			if k, ok := native[p.Device]; ok {
				out[k].body = AppendNative(out[k].body, *p)
				out[k].n++
				continue
			}
			native[p.Device] = len(out)
			out = append(out, request{proto: Native, device: p.Device, method: http.MethodPost, path: "/v1/pings",
				ctype: "application/x-ndjson", body: AppendNative(nil, *p), n: 1})
		}
	}
	return out
}

// osmandRequest builds the request Traccar Client sends for p, in one of its
// three styles fixed by the device id: GET with a query string, POST with a
// form body (Traccar Client 10) or POST with JSON (Traccar Client 9).
func osmandRequest(p dalil.Position) request {
	r := request{proto: OsmAnd, device: p.Device, n: 1}
	switch hash(p.Device+"/osmand") % 3 {
	case 0:
		r.method, r.path = http.MethodGet, "/ingest/osmand?"+OsmAndQuery(p)
	case 1:
		r.method, r.path, r.ctype, r.body = http.MethodPost, "/ingest/osmand", "application/x-www-form-urlencoded", []byte(OsmAndQuery(p))
	default:
		r.method, r.path, r.ctype, r.body = http.MethodPost, "/ingest/osmand", "application/json", OsmAndJSON(p)
	}
	return r
}

// ownTracksRequest builds the request OwnTracks sends for p.
func ownTracksRequest(p dalil.Position) request {
	u, d := OwnTracksUser(p.Device)
	return request{proto: OwnTracks, device: p.Device, method: http.MethodPost, path: "/ingest/owntracks",
		ctype: "application/json", body: OwnTracksJSON(p), n: 1,
		headers: [][2]string{{"X-Limit-U", u}, {"X-Limit-D", d}}}
}

func (s *Sender) do(ctx context.Context, r request) error {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, s.base+r.path, body)
	if err != nil {
		return err
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	for _, h := range r.headers {
		req.Header.Set(h[0], h[1])
	}
	// Devices prove themselves with their token (the server refuses
	// OsmAnd and OwnTracks fixes named by id alone unless it runs with
	// --open-ingest); without the admin token nothing can be minted, and
	// OsmAnd and OwnTracks go out bare.
	if r.proto == Native || s.cfg.AdminToken != "" {
		tok, err := s.tokens.Device(ctx, r.device)
		if err != nil {
			return fmt.Errorf("device %s: %w", r.device, err)
		}
		if r.proto == OwnTracks {
			u, _ := OwnTracksUser(r.device)
			req.SetBasicAuth(u, tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	s.requests.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		s.failed.Add(int64(r.n))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s %s: %v", dalil.ErrUnavailable, r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		acc, rej := r.n, 0
		if r.proto == Native {
			acc, rej = s.nativeAnswer(data, r.n)
		}
		s.accepted.Add(int64(acc))
		s.rejected.Add(int64(rej))
		return nil
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		s.failed.Add(int64(r.n))
		return fmt.Errorf("%w: %s: %s", dalil.ErrUnavailable, resp.Status, bytes.TrimSpace(data))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		s.failed.Add(int64(r.n))
		return fmt.Errorf("%w: %s %s for device %s: %s", errFatal, r.method, pathOnly(r.path), r.device, bytes.TrimSpace(data))
	case resp.StatusCode/100 == 4:
		s.rejected.Add(int64(r.n))
		s.reason(string(r.proto) + ": " + errorText(data, resp.Status))
		return nil
	default:
		s.failed.Add(int64(r.n))
		return fmt.Errorf("%s %s: %s: %s", r.method, pathOnly(r.path), resp.Status, bytes.TrimSpace(data))
	}
}

// nativeAnswer reads {"accepted":n,"rejected":[{"index":i,"reason":…}]}.
func (s *Sender) nativeAnswer(data []byte, n int) (acc, rej int) {
	var a struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return n, 0
	}
	for _, r := range a.Rejected {
		s.reason("native: " + r.Reason)
	}
	return a.Accepted, len(a.Rejected)
}

func (s *Sender) reason(r string) {
	s.mu.Lock()
	s.reasons[r]++
	s.mu.Unlock()
	s.cfg.Log.Debug("ping rejected", "reason", r)
}

// errorText pulls "error" out of a JSON error body, or returns the status.
func errorText(data []byte, status string) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	if t := strings.TrimSpace(string(data)); t != "" && len(t) < 200 {
		return t
	}
	return status
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}
