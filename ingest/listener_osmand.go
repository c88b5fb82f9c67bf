package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// OsmAndListener serves the OsmAnd protocol on a port of its own (Traccar's
// 5055: the fix in the query or a form body at "/") with the least work per
// request. Phones send one fix per request, so what surrounds the fix is most
// of the cost: through net/http a one-fix request cost the server ~80–95 µs
// of CPU, of which the fix itself (decode, filter, engine, store) is ~15
// (docs/performance.md). This listener reads HTTP/1.1 requests of the one
// shape Traccar Client and OsmAnd send (GET or POST, Content-Length bodies,
// keep-alive) with one buffered reader per connection and writes each answer
// with one write, reusing its request, header map and buffers across the
// connection's requests; the requests themselves go to the same handler as
// /ingest/osmand, so answers, authentication and metrics are the same.
//
// It also serves the native protocol's POST /v1/pings (the same handler as
// on the API port, bodies up to Config.MaxBodyBytes), so that a native
// client pointed at this port gets the same saving.
//
// What it refuses, with a status and a reason: other paths (404), other
// methods (405), chunked bodies (411: send Content-Length), bodies over
// Config.MaxSingleBodyBytes (413; Config.MaxBodyBytes on /v1/pings), request lines or header lines longer than
// 4 KiB or more than 64 header lines (431), anything else malformed (400).
type OsmAndListener struct {
	h *Handler
	// IdleTimeout closes a keep-alive connection that sends nothing for
	// this long; HeadTimeout bounds reading one request (head and body).
	IdleTimeout, HeadTimeout time.Duration

	closing atomic.Bool
	mu      sync.Mutex
	ln      net.Listener
	conns   map[*osmConn]struct{}
	wg      sync.WaitGroup
}

// OsmAndListener returns a lean listener for the OsmAnd port; start it with
// Serve.
func (h *Handler) OsmAndListener() *OsmAndListener {
	return &OsmAndListener{h: h, IdleTimeout: 120 * time.Second, HeadTimeout: 10 * time.Second,
		conns: make(map[*osmConn]struct{})}
}

// Serve accepts connections on ln until Shutdown (then it returns nil) or an
// accept error. ctx is the base context of every request.
func (s *OsmAndListener) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	if s.closing.Load() {
		ln.Close()
		return nil
	}
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors or similar: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		oc := newOsmConn(s, c)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[oc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go oc.serve(ctx)
	}
}

// Shutdown stops accepting, lets requests in progress finish and closes
// idle connections; when ctx ends first it closes the rest and returns
// ctx's error.
func (s *OsmAndListener) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.c.SetReadDeadline(time.Now()) // wakes an idle reader; a busy one finishes its answer
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// osmConn is one client connection and everything its requests reuse.
type osmConn struct {
	s    *OsmAndListener
	c    net.Conn
	br   *bufio.Reader
	head osmHead
	req  *http.Request
	url  url.URL
	body bodyReader
	w    leanResponse
	out  []byte
}

const osmBufSize = 4096

// maxKeptBody is the largest body buffer a connection keeps between
// requests.
const maxKeptBody = 64 << 10

func newOsmConn(s *OsmAndListener, c net.Conn) *osmConn {
	return &osmConn{s: s, c: c, br: bufio.NewReaderSize(c, osmBufSize)}
}

func (oc *osmConn) serve(ctx context.Context) {
	defer func() {
		// As net/http does: a panic in one request ends its connection, not
		// the server.
		if v := recover(); v != nil {
			oc.s.h.log.Error("panic serving an OsmAnd request; connection closed", "remote", oc.c.RemoteAddr().String(), "panic", v)
		}
		oc.c.Close()
		oc.s.mu.Lock()
		delete(oc.s.conns, oc)
		oc.s.mu.Unlock()
		oc.s.wg.Done()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	oc.req = (&http.Request{
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header), URL: &oc.url, Body: &oc.body, RemoteAddr: oc.c.RemoteAddr().String(),
	}).WithContext(ctx)
	oc.w.hdr = make(http.Header)
	h := oc.s.h
	for {
		oc.c.SetReadDeadline(time.Now().Add(oc.s.IdleTimeout))
		if oc.s.closing.Load() {
			return
		}
		if _, err := oc.br.Peek(1); err != nil {
			return // closed, idle timeout or shutdown
		}
		oc.c.SetReadDeadline(time.Now().Add(oc.s.HeadTimeout))
		status, msg := readOsmHead(oc.br, &oc.head)
		limit := h.cfg.MaxSingleBodyBytes
		if oc.head.native {
			limit = h.cfg.MaxBodyBytes
		}
		if status == 0 && oc.head.chunked {
			status, msg = http.StatusLengthRequired, "chunked bodies are not supported: send Content-Length"
		}
		if status == 0 && oc.head.contentLength > limit {
			status, msg = http.StatusRequestEntityTooLarge, "too_large: body exceeds "+strconv.FormatInt(limit, 10)+" bytes"
		}
		if status != 0 {
			oc.fail(status, msg)
			return // the rest of the stream cannot be trusted
		}
		if oc.head.expectContinue && oc.head.contentLength > 0 {
			if _, err := oc.c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
				return
			}
		}
		n := int(oc.head.contentLength)
		if cap(oc.body.buf) < n {
			oc.body.buf = make([]byte, n)
		} else if cap(oc.body.buf) > maxKeptBody && n <= maxKeptBody {
			oc.body.buf = make([]byte, n, maxKeptBody) // a large batch does not pin its buffer to the connection
		}
		oc.body.buf = oc.body.buf[:n]
		if _, err := io.ReadFull(oc.br, oc.body.buf); err != nil {
			return
		}
		oc.body.off = 0
		keep := oc.head.keepAlive && !oc.s.closing.Load()
		oc.handle()
		if err := oc.respond(keep); err != nil || !keep {
			return
		}
	}
}

// handle runs one request through the OsmAnd handler into oc.w.
func (oc *osmConn) handle() {
	hd := &oc.head
	oc.w.reset()
	if hd.native {
		oc.handleNative()
		return
	}
	switch {
	case !hd.rootPath:
		oc.w.text(http.StatusNotFound, "not found: the OsmAnd protocol is served at /")
		return
	case hd.method != http.MethodGet && hd.method != http.MethodPost && hd.method != http.MethodHead:
		oc.w.hdr.Set("Allow", "GET, POST")
		oc.w.text(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r := oc.req
	r.Method = hd.method
	r.ProtoMinor = hd.minor
	r.RequestURI = ""
	oc.url = url.URL{Path: "/", RawQuery: hd.query}
	clear(r.Header)
	if hd.auth != "" {
		r.Header["Authorization"] = append(r.Header["Authorization"][:0], hd.auth)
	}
	if hd.ctype != "" {
		r.Header["Content-Type"] = append(r.Header["Content-Type"][:0], hd.ctype)
	}
	r.ContentLength = hd.contentLength
	oc.s.h.serveOsmAnd(&oc.w, r)
}

// handleNative runs POST /v1/pings through the native handler into oc.w.
func (oc *osmConn) handleNative() {
	hd := &oc.head
	if hd.method != http.MethodPost {
		oc.w.hdr.Set("Allow", "POST")
		oc.w.text(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r := oc.req
	r.Method = hd.method
	r.ProtoMinor = hd.minor
	r.RequestURI = ""
	oc.url = url.URL{Path: nativePath, RawQuery: hd.query}
	clear(r.Header)
	if hd.auth != "" {
		r.Header["Authorization"] = append(r.Header["Authorization"][:0], hd.auth)
	}
	if hd.ctype != "" {
		r.Header["Content-Type"] = append(r.Header["Content-Type"][:0], hd.ctype)
	}
	r.ContentLength = hd.contentLength
	oc.s.h.serveNative(&oc.w, r)
}

const nativePath = "/v1/pings"

// respond writes oc.w's answer with one write.
func (oc *osmConn) respond(keep bool) error {
	w := &oc.w
	if w.status == 0 {
		w.status = http.StatusOK
	}
	b := append(oc.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for k, vs := range w.hdr {
		if k == "Content-Length" || k == "Connection" {
			continue // ours, below
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendHeaderValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(w.body)), 10)
	if !keep {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	if oc.head.method != http.MethodHead {
		b = append(b, w.body...)
	}
	oc.out = b
	_, err := oc.c.Write(b)
	return err
}

// fail answers a request that could not be read and closes the connection.
func (oc *osmConn) fail(status int, msg string) {
	oc.w.reset()
	oc.w.text(status, msg)
	oc.head.method = ""
	_ = oc.respond(false)
}

// appendHeaderValue appends v without CR or LF, so that no value can split
// the answer.
func appendHeaderValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return b
}

// leanResponse is the http.ResponseWriter the handler writes into; the
// connection sends it once the handler returns.
type leanResponse struct {
	hdr    http.Header
	status int
	body   []byte
}

func (w *leanResponse) reset() {
	clear(w.hdr)
	w.status = 0
	w.body = w.body[:0]
}

func (w *leanResponse) Header() http.Header { return w.hdr }

func (w *leanResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *leanResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

func (w *leanResponse) text(status int, msg string) {
	w.hdr.Set("Content-Type", "text/plain; charset=utf-8")
	w.hdr.Set("X-Content-Type-Options", "nosniff")
	w.status = status
	w.body = append(append(w.body[:0], msg...), '\n')
}

// bodyReader is the request body: the bytes already read off the connection.
type bodyReader struct {
	buf []byte
	off int
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.off >= len(b.buf) {
		return 0, io.EOF
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	return n, nil
}

func (b *bodyReader) Close() error { return nil }

// osmHead is what the listener keeps of a request's head.
type osmHead struct {
	method         string
	minor          int
	rootPath       bool
	native         bool // the path is /v1/pings
	query          string
	auth, ctype    string
	contentLength  int64
	chunked        bool
	keepAlive      bool
	expectContinue bool
}

const osmMaxHeaders = 64

// readOsmHead reads a request line and headers from br into hd. It returns
// status 0, or the status and reason to refuse the request with.
func readOsmHead(br *bufio.Reader, hd *osmHead) (int, string) {
	*hd = osmHead{contentLength: 0}
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return http.StatusRequestURITooLong, "request line longer than 4096 bytes"
	}
	if err != nil {
		return http.StatusBadRequest, "malformed: incomplete request line"
	}
	line = trimCRLF(line)
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return http.StatusBadRequest, "malformed: request line"
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return http.StatusBadRequest, "malformed: request line"
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return http.StatusBadRequest, "malformed: control character in the request target"
		}
	}
	switch string(proto) {
	case "HTTP/1.1":
		hd.minor, hd.keepAlive = 1, true
	case "HTTP/1.0":
		hd.minor = 0
	default:
		return http.StatusHTTPVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served here"
	}
	switch m := line[:sp1]; string(m) {
	case http.MethodGet:
		hd.method = http.MethodGet
	case http.MethodPost:
		hd.method = http.MethodPost
	case http.MethodHead:
		hd.method = http.MethodHead
	default:
		hd.method = string(m)
	}
	path, query, _ := bytes.Cut(target, []byte{'?'})
	hd.rootPath = len(path) == 1 && path[0] == '/'
	hd.native = string(path) == nativePath
	if hd.rootPath && len(query) > 0 {
		hd.query = string(query)
	}
	sawLength := false
	for n := 0; ; n++ {
		if n > osmMaxHeaders {
			return http.StatusRequestHeaderFieldsTooLarge, "more than 64 header lines"
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return http.StatusRequestHeaderFieldsTooLarge, "header line longer than 4096 bytes"
		}
		if err != nil {
			return http.StatusBadRequest, "malformed: incomplete header"
		}
		line = trimCRLF(line)
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return http.StatusBadRequest, "malformed: folded header line"
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
			return http.StatusBadRequest, "malformed: header line without a name"
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case asciiEqualFold(name, "Content-Length"):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || v < 0 || (sawLength && v != hd.contentLength) {
				return http.StatusBadRequest, "malformed: Content-Length"
			}
			hd.contentLength, sawLength = v, true
		case asciiEqualFold(name, "Transfer-Encoding"):
			hd.chunked = true // any transfer coding: we only read Content-Length bodies
		case asciiEqualFold(name, "Connection"):
			switch {
			case containsTokenFold(value, "close"):
				hd.keepAlive = false
			case containsTokenFold(value, "keep-alive"):
				hd.keepAlive = true
			}
		case asciiEqualFold(name, "Authorization"):
			hd.auth = string(value)
		case asciiEqualFold(name, "Content-Type"):
			hd.ctype = string(value)
		case asciiEqualFold(name, "Expect"):
			if !asciiEqualFold(value, "100-continue") {
				return http.StatusExpectationFailed, "unsupported Expect"
			}
			hd.expectContinue = true
		}
	}
	return 0, ""
}

func trimCRLF(b []byte) []byte {
	b = b[:len(b)-1] // the '\n'
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}

// containsTokenFold reports whether the comma-separated list v holds tok.
func containsTokenFold(v []byte, tok string) bool {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		if asciiEqualFold(bytes.Trim(item, " \t"), tok) {
			return true
		}
	}
	return false
}
