package ingest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil"
)

// startOsmAnd runs the lean listener of rg's handler on a loopback port.
func startOsmAnd(t *testing.T, rg *rig) (addr string, l *OsmAndListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = rg.h.OsmAndListener()
	done := make(chan error, 1)
	go func() { done <- l.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), l
}

// exchange writes raw requests on one connection and reads len(want)
// answers, checking each status line.
func exchange(t *testing.T, addr, raw string, want ...int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for i, code := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if resp.StatusCode != code {
			t.Fatalf("answer %d: %d %q, want %d", i, resp.StatusCode, body, code)
		}
		out = append(out, resp)
	}
	return out
}

// Traccar Client's requests, several on one keep-alive connection: the fix
// in the query (GET and POST) and in a form body, all stored.
func TestOsmAndListenerKeepAlive(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	addr, _ := startOsmAnd(t, rg)
	ts := itoa(rg.now.Unix() - 5)
	form := "id=dev1&timestamp=" + itoa(rg.now.Unix()-3) + "&lat=21.41332&lon=39.8933"
	raw := "POST /?id=dev1&timestamp=" + ts + "&lat=21.4133&lon=39.8933&speed=0.0&accuracy=10.0 HTTP/1.1\r\nHost: x:5055\r\nContent-Length: 0\r\n\r\n" +
		"GET /?id=dev1&timestamp=" + itoa(rg.now.Unix()-4) + "&lat=21.41331&lon=39.8933 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\ncontent-length: " + itoa(int64(len(form))) + "\r\n\r\n" + form
	exchange(t, addr, raw, 200, 200, 200)
	got := rg.sink.all()
	if len(got) != 3 {
		t.Fatalf("stored %d fixes, want 3", len(got))
	}
	if got[2].Lat != 21.41332 || got[2].Device != "dev1" {
		t.Fatalf("form fix stored as %+v", got[2])
	}
}

// Bad input gets the same clear 4xx as on /ingest/osmand, naming the field,
// and the connection stays usable.
func TestOsmAndListenerBadFix(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	addr, _ := startOsmAnd(t, rg)
	raw := "GET /?id=dev1&timestamp=" + itoa(rg.now.Unix()) + "&lat=91.5&lon=39.8933 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /?id=dev1&timestamp=" + itoa(rg.now.Unix()) + "&lat=21.4&lon=39.8933 HTTP/1.1\r\nHost: x\r\n\r\n"
	rs := exchange(t, addr, raw, 400, 200)
	body, _ := io.ReadAll(rs[0].Body)
	if !strings.Contains(string(body), "lat") {
		t.Fatalf("400 answer %q does not name the field", body)
	}
	if n := len(rg.sink.all()); n != 1 {
		t.Fatalf("stored %d fixes, want 1", n)
	}
}

// What the listener refuses, with a status that says why; requests it
// cannot frame close the connection.
func TestOsmAndListenerRefuses(t *testing.T) {
	rg := newRig(t, func(c *Config) { c.MaxSingleBodyBytes = 64 })
	addr, _ := startOsmAnd(t, rg)
	cases := []struct {
		name, raw string
		want      int
	}{
		{"other path", "GET /ingest/osmand?id=dev1 HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"other method", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411},
		{"too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n", 413},
		{"bad length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
		{"two lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"folded header", "GET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n", 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"long line", "GET /?" + strings.Repeat("a", 5000) + " HTTP/1.1\r\n\r\n", 414},
		{"many headers", "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 70) + "\r\n", 431},
		{"no id", "GET /?lat=21.4&lon=39.9 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { exchange(t, addr, tc.raw, tc.want) })
	}
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("stored %d fixes from refused requests", n)
	}
}

// A client asking to close gets "Connection: close" and the connection ends.
func TestOsmAndListenerConnectionClose(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	addr, _ := startOsmAnd(t, rg)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /?id=dev1&timestamp="+itoa(rg.now.Unix())+"&lat=21.4&lon=39.9 HTTP/1.1\r\nConnection: close\r\n\r\n")
	all, err := io.ReadAll(c) // returns at EOF: the server closed
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(all, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(all, []byte("Connection: close\r\n")) {
		t.Fatalf("answer %q", all)
	}
}

// Shutdown closes idle keep-alive connections and returns.
func TestOsmAndListenerShutdownIdle(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := rg.h.OsmAndListener()
	done := make(chan error, 1)
	go func() { done <- l.Serve(context.Background(), ln) }()
	exchangeOpen := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /?id=dev1&timestamp="+itoa(rg.now.Unix())+"&lat=21.4&lon=39.9 HTTP/1.1\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := exchangeOpen()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an idle connection: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// The head reader never panics and never accepts a head it cannot frame.
func FuzzOsmAndHead(f *testing.F) {
	f.Add([]byte("GET /?id=1&lat=1&lon=2 HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var hd osmHead
		status, msg := readOsmHead(bufio.NewReaderSize(bytes.NewReader(data), osmBufSize), &hd)
		if status != 0 {
			if msg == "" {
				t.Fatalf("status %d without a reason", status)
			}
			return
		}
		if hd.contentLength < 0 || hd.method == "" {
			t.Fatalf("accepted head %+v", hd)
		}
		if hd.rootPath && strings.ContainsAny(hd.query, "\r\n ") {
			t.Fatalf("query %q holds a separator", hd.query)
		}
	})
}

// panicSink fails the way a bug would.
type panicSink struct{}

func (panicSink) Accept(context.Context, []dalil.Position) error { panic("bug") }

// A panic while serving one request closes that connection; the listener
// goes on serving others.
func TestOsmAndListenerPanicClosesConnection(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	h := NewHandler(rg.h.cfg, panicSink{}, rg.h.devices, rg.h.auth, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := h.OsmAndListener()
	go l.Serve(context.Background(), ln)
	defer l.Shutdown(context.Background())
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /?id=dev1&timestamp="+itoa(rg.now.Unix())+"&lat=21.4&lon=39.9 HTTP/1.1\r\n\r\n")
		if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
			t.Fatalf("after a panic: %q, %v; want the connection closed without an answer", b, err)
		}
		c.Close()
	}
}

// The lean port also serves the native POST /v1/pings with the same
// handler: a device token's fixes are stored, a request without one gets
// 401, other methods 405, and a bad line the same per-item "malformed".
func TestOsmAndListenerNative(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	addr, _ := startOsmAnd(t, rg)
	one := nativePing("", rg.now.Add(-3*time.Second), 21.4133) + "\n"
	two := nativePing("", rg.now.Add(-2*time.Second), 21.4134) + "\n" + nativePing("", rg.now.Add(-1*time.Second), 21.4135) + "\n"
	post := func(auth, body string) string {
		r := "POST /v1/pings HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
		if auth != "" {
			r += "Authorization: Bearer " + auth + "\r\n"
		}
		return r + "Content-Length: " + itoa(int64(len(body))) + "\r\n\r\n" + body
	}
	rs := exchange(t, addr, post("tok1", one)+post("tok1", two)+post("", one)+
		"GET /v1/pings HTTP/1.1\r\nHost: x\r\n\r\n"+post("tok2", "{\"ts\":")+post("tok2", one), 200, 200, 401, 405, 200, 200)
	body, _ := io.ReadAll(rs[1].Body)
	if !strings.Contains(string(body), `"accepted":2`) || rs[1].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("batch answer %q (%s)", body, rs[1].Header.Get("Content-Type"))
	}
	if rs[3].Header.Get("Allow") != "POST" {
		t.Fatalf("405 without Allow: POST: %v", rs[3].Header)
	}
	body, _ = io.ReadAll(rs[4].Body)
	if !strings.Contains(string(body), `"accepted":0`) || !strings.Contains(string(body), `"reason":"malformed"`) {
		t.Fatalf("bad JSON answer %q", body)
	}
	got := rg.sink.all()
	if len(got) != 4 || got[0].Device != "dev1" || got[2].Lat != 21.4135 || got[3].Device != "dev2" {
		t.Fatalf("stored %+v, want dev1's three fixes and dev2's one", got)
	}
}
