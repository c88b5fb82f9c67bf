package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/store/postgres"
)

// A database nobody listens for is "unavailable", so ingest answers 503 with
// Retry-After instead of 500. Needs no server.
func TestOpenClosedPortIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, "postgres://dalil@"+addr+"/dalil?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Open on a closed port: %v, want an error wrapping ErrUnavailable", err)
	}
}

func TestOpenBadURLIsNotUnavailable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://host:notaport/db")
	if err == nil || errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Open with a malformed URL: %v, want a plain error", err)
	}
}

// proxy is a TCP relay to the test server that the test can cut and restore,
// standing in for a database that crashes or a network that drops.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(addr string) {
	var ln net.Listener
	var err error
	for range 50 { // the old port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

// cut closes the listener and every relayed connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() { p.listen(p.addr) }

// When the database goes away mid-flight every call reports ErrUnavailable
// (503 + Retry-After for devices); when it comes back the store recovers by
// itself, and everything acknowledged before the outage is still there.
func TestServerGoesAwayAndComesBack(t *testing.T) {
	db := newTestDB(t)
	direct := db.urlFor(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	u.Host = px.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()

	ctx := context.Background()
	st, err := postgres.OpenOptions(ctx, u.String(), postgres.Options{CommitTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	acked := []dalil.Position{{Device: "ph-1", Time: at, Lat: 21.41, Lon: 39.89}}
	if err := st.AppendPositions(ctx, acked); err != nil {
		t.Fatal(err)
	}

	px.cut()
	lost := []dalil.Position{{Device: "ph-1", Time: at.Add(time.Second), Lat: 21.42, Lon: 39.88}}
	if err := st.AppendPositions(ctx, lost); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("append with the database gone: %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Ping with the database gone: %v, want ErrUnavailable", err)
	}
	if _, err := st.Trail(ctx, "ph-1", at, at.Add(time.Hour), 0); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Trail with the database gone: %v, want ErrUnavailable", err)
	}
	if err := st.PutRecords(ctx, "case", []dalil.Record{{ID: "c", Data: []byte("{}")}}); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("PutRecords with the database gone: %v, want ErrUnavailable", err)
	}

	px.restore()
	// The device retries what was refused; the pool reconnects by itself.
	if err := st.AppendPositions(ctx, lost); err != nil {
		t.Fatalf("retry after the database came back: %v", err)
	}
	got, err := st.Trail(ctx, "ph-1", at, at.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Time.Equal(acked[0].Time) || !got[1].Time.Equal(lost[0].Time) {
		t.Fatalf("after recovery the trail is %v, want the acknowledged ping and the retried one", got)
	}
}
