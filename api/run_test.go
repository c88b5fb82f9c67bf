package api

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dalil"
)

// Background tasks registered with OnRun start after the live state is
// rebuilt from the store, and Serve waits for them before it returns (the
// caller closes the store right after). OnReady runs once the API answers.
func TestServeRunsTasksAfterRebuildAndWaitsForThem(t *testing.T) {
	f := newFixture(t)
	// History in the store that only a rebuild brings into the engine.
	at := centroid(f.tentA)
	err := f.st.AppendPositions(t.Context(), []dalil.Position{{Device: "ph-a1", Time: time.Now().Add(-time.Minute),
		Lat: at.Lat, Lon: at.Lon, Accuracy: 4, Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: 90}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.srv.Engine().Pilgrim("a1"); ok {
		t.Fatal("a1 is live before the rebuild; the test proves nothing")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sawRebuilt, finished atomic.Bool
	f.srv.OnRun(func(ctx context.Context) {
		_, ok := f.srv.Engine().Pilgrim("a1")
		sawRebuilt.Store(ok)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a task still writing when shutdown begins
		finished.Store(true)
	})
	readyCode := make(chan int, 1)
	f.srv.OnReady(func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
		if err != nil {
			readyCode <- 0
			return
		}
		resp.Body.Close()
		_, live := f.srv.Engine().Pilgrim("a1")
		if !live {
			readyCode <- -1
			return
		}
		readyCode <- resp.StatusCode
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln, nil) }()
	select {
	case code := <-readyCode:
		if code != http.StatusOK {
			t.Errorf("at OnReady: /healthz %d (0: not answering, -1: live state not rebuilt)", code)
		}
	case err := <-done:
		t.Fatalf("Serve returned before ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("OnReady never called")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if !sawRebuilt.Load() {
		t.Error("the background task started before the live state was rebuilt")
	}
	if !finished.Load() {
		t.Error("Serve returned before its background task finished")
	}
}

// A generated bootstrap admin token is printed once to Config.Stdout and
// never written to the structured log.
func TestGeneratedAdminTokenPrintedNotLogged(t *testing.T) {
	var out, logs lockedBuffer
	f := newFixture(t, func(c *Config, d *Deps) {
		c.AdminToken = ""
		c.Stdout = &out
		d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	// The fixture generated an admin token: forget it, as on a fresh store.
	if err := f.srv.tokens.revoke(t.Context(), bootstrapTokenID); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	f.srv.OnReady(func() { close(ready) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln, nil) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var token string
	for _, w := range strings.Fields(out.String()) {
		if strings.HasPrefix(w, tokenPrefix) {
			token = w
		}
	}
	if token == "" {
		t.Fatalf("no admin token on stdout: %q", out.String())
	}
	if p, ok := f.srv.tokens.principal(token); !ok || p.Role != RoleAdmin {
		t.Errorf("printed token %q is not an admin token: %+v", token, p)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), tokenPrefix) {
		t.Errorf("the admin token reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "bootstrap admin token") {
		t.Errorf("the log does not say a token was generated:\n%s", logs.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
