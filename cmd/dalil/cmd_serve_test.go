package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"dalil/ingest"
)

func fakeEnv(kv map[string]string) env {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestServeFlagsFromEnvAndArgs(t *testing.T) {
	o, err := parseServeFlags(nil, fakeEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:8080" || o.data != "./data" || o.demo || o.staleAfter != 15*time.Minute {
		t.Errorf("defaults = %+v", o)
	}
	if o.osmandAddr != "auto" {
		t.Errorf("OsmAnd port default %q, want auto", o.osmandAddr)
	}
	e := fakeEnv(map[string]string{
		"DALIL_ADDR": ":9000", "DALIL_STORE": "postgres://x@h/db", "DALIL_DEMO": "true",
		"DALIL_DEMO_PILGRIMS": "300", "DALIL_RETENTION": "720h", "DALIL_OSMAND_ADDR": ":5055",
		"DALIL_ALLOWED_ORIGINS": "https://a.example, https://b.example",
	})
	o, err = parseServeFlags(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != ":9000" || o.storeSpec != "postgres://x@h/db" || !o.demo || o.demoPilgrims != 300 ||
		o.retention != 720*time.Hour || o.osmandAddr != ":5055" || !strings.Contains(o.origins, "b.example") {
		t.Errorf("from env = %+v", o)
	}
	// A flag beats its variable.
	o, err = parseServeFlags([]string{"--addr", "127.0.0.1:1", "--demo=false"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:1" || o.demo {
		t.Errorf("flags over env = %+v", o)
	}
}

// The ingest filters are configurable by flag and variable and reach the
// server's ingest.Config; the defaults are ingest.DefaultConfig's.
func TestServeIngestFlags(t *testing.T) {
	o, err := parseServeFlags(nil, fakeEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	def := ingest.DefaultConfig()
	got := serveConfig(o, "").Ingest
	if got.MaxAccuracy != def.MaxAccuracy || got.MaxAge != def.MaxAge || got.MaxFuture != def.MaxFuture ||
		got.MaxSpeed != def.MaxSpeed || got.MaxSpeedLuggage != def.MaxSpeedLuggage || got.MaxBodyBytes != def.MaxBodyBytes ||
		got.MaxSingleBodyBytes != def.MaxSingleBodyBytes || got.MaxBatch != def.MaxBatch || got.OpenIngest != def.OpenIngest {
		t.Errorf("default ingest config = %+v, want ingest.DefaultConfig() %+v", got, def)
	}
	e := fakeEnv(map[string]string{
		"DALIL_INGEST_MAX_ACCURACY": "150.5", "DALIL_INGEST_MAX_AGE": "48h", "DALIL_INGEST_MAX_FUTURE": "2m",
		"DALIL_INGEST_MAX_SPEED": "30", "DALIL_INGEST_MAX_SPEED_LUGGAGE": "0", "DALIL_INGEST_MAX_BODY": "1048576",
		"DALIL_INGEST_MAX_SINGLE_BODY": "65536", "DALIL_INGEST_MAX_BATCH": "500", "DALIL_OPEN_INGEST": "true",
	})
	o, err = parseServeFlags(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got = serveConfig(o, "").Ingest
	if got.MaxAccuracy != 150.5 || got.MaxAge != 48*time.Hour || got.MaxFuture != 2*time.Minute || got.MaxSpeed != 30 ||
		got.MaxSpeedLuggage != 0 || got.MaxBodyBytes != 1<<20 || got.MaxSingleBodyBytes != 64<<10 || got.MaxBatch != 500 ||
		!got.OpenIngest {
		t.Errorf("ingest config from env = %+v", got)
	}
	// Flags beat the variables.
	o, err = parseServeFlags([]string{"--open-ingest=false", "--ingest-max-accuracy", "80", "--ingest-max-age", "1h"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got = serveConfig(o, "").Ingest
	if got.OpenIngest || got.MaxAccuracy != 80 || got.MaxAge != time.Hour || got.MaxBatch != 500 {
		t.Errorf("ingest config from flags = %+v", got)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"DALIL_DEMO": "yes please"}, want: "DALIL_DEMO"},
		{env: map[string]string{"DALIL_RETENTION": "a month"}, want: "DALIL_RETENTION"},
		{env: map[string]string{"DALIL_DEMO_PILGRIMS": "many"}, want: "DALIL_DEMO_PILGRIMS"},
		{args: []string{"--demo-pilgrims", "0"}, want: "--demo-pilgrims"},
		{args: []string{"--log-format", "xml"}, want: "--log-format"},
		{args: []string{"--bogus"}, want: "bogus"},
		{args: []string{"extra"}, want: "unexpected argument"},
		{args: []string{"--webhook-url", "https://sms.example/hook"}, want: "--webhook-secret"},
		{args: []string{"--webhook-url", "sms.example", "--webhook-secret", "k"}, want: "--webhook-url"},
		{args: []string{"--alert-distance", "0"}, want: "--alert-distance"},
		{env: map[string]string{"DALIL_ALERT_DISTANCE": "far"}, want: "DALIL_ALERT_DISTANCE"},
		{env: map[string]string{"DALIL_INGEST_MAX_ACCURACY": "fifty"}, want: "DALIL_INGEST_MAX_ACCURACY"},
		{env: map[string]string{"DALIL_OPEN_INGEST": "sure"}, want: "DALIL_OPEN_INGEST"},
		{env: map[string]string{"DALIL_INGEST_MAX_AGE": "a week"}, want: "DALIL_INGEST_MAX_AGE"},
		{args: []string{"--ingest-max-speed", "-1"}, want: "--ingest-max-*"},
		{args: []string{"--ingest-max-body", "0"}, want: "--ingest-max-body"},
	} {
		_, err := parseServeFlags(c.args, fakeEnv(c.env), io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v, want a usage error naming %q", c.args, c.env, err, c.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db": "postgres://u:***@h:5432/db",
		"postgres://u@h/db":             "postgres://u@h/db",
		"./data":                        "./data",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// syncBuffer is an io.Writer safe to read while runServe writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemoEndToEnd starts `dalil serve --demo` on a free port, signs in
// with a printed demo token, and shuts down by cancelling the context.
func TestServeDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole server")
	}
	t.Setenv("DALIL_ADMIN_TOKEN", "")
	var out, logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--demo", "--demo-pilgrims", "200"}, &out, &logs)
	}()
	var addr, operator, admin string
	deadline := time.Now().Add(60 * time.Second)
	for operator == "" && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && f[0] == "Dalil" && f[1] == "serving" {
				addr = f[3]
			}
			if len(f) == 2 && f[0] == "operator" {
				operator = f[1]
			}
			if len(f) == 1 && strings.HasPrefix(f[0], "dalil_") {
				admin = f[0]
			}
		}
	}
	if addr == "" || operator == "" {
		t.Fatalf("no address or operator token printed:\n%s\n%s", out.String(), logs.String())
	}
	// The banner comes once the server answers: no retrying.
	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s right after the banner: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/v1/me", operator); code != http.StatusOK {
		t.Errorf("GET /v1/me with the demo operator token: %d", code)
	}
	// The generated admin token is printed once on stdout, works, and never
	// reaches the log.
	if admin == "" {
		t.Fatalf("no bootstrap admin token printed:\n%s", out.String())
	}
	if code := get("/v1/tokens", admin); code != http.StatusOK {
		t.Errorf("GET /v1/tokens with the printed admin token: %d", code)
	}
	if strings.Contains(logs.String(), admin) {
		t.Errorf("the admin token is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "generated the bootstrap admin token") {
		t.Errorf("the log does not say an admin token was generated:\n%s", logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

// The OsmAnd port is on by default: port 5055 on the API's host (so a
// loopback API keeps it on loopback), optional because nobody asked for it
// by name; "off" turns it off and an explicit address is required.
func TestOsmAndAddrDefaultOn(t *testing.T) {
	for _, tc := range []struct {
		flag, api, want string
		optional        bool
	}{
		{"auto", "127.0.0.1:8080", "127.0.0.1:5055", true},
		{"auto", ":8080", ":5055", true},
		{"auto", "[::1]:8080", "[::1]:5055", true},
		{"off", ":8080", "", false},
		{"", ":8080", "", false},
		{"0.0.0.0:5056", "127.0.0.1:8080", "0.0.0.0:5056", false},
	} {
		got, opt := osmandAddr(tc.flag, tc.api)
		if got != tc.want || opt != tc.optional {
			t.Errorf("osmandAddr(%q, %q) = %q, %v; want %q, %v", tc.flag, tc.api, got, opt, tc.want, tc.optional)
		}
	}
}
