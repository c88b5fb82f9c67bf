package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dalil"
	"dalil/geo"
	"dalil/registry"
	"dalil/sim/send"
)

// fakeServer speaks just enough of Dalil's API for the load tool: device,
// operator and guide tokens, native batches and a live feed that sends every
// accepted ping to each subscriber (no filtering by topic).
type fakeServer struct {
	mu       sync.Mutex
	subs     map[*websocket.Conn]*sync.Mutex
	accepted atomic.Int64
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1/tokens":
		var req struct{ Role, Subject string }
		json.NewDecoder(r.Body).Decode(&req)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"%s:%s"}`, req.Role, req.Subject)
	case r.URL.Path == "/v1/pings":
		dev, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer device:")
		sc := bufio.NewScanner(r.Body)
		n, rejected := 0, []string{}
		for i := 0; sc.Scan(); i++ {
			var p struct {
				Device string `json:"device"`
				TS     string `json:"ts"`
			}
			if json.Unmarshal(sc.Bytes(), &p) != nil || p.Device != dev {
				rejected = append(rejected, fmt.Sprintf(`{"index":%d,"reason":"wrong_device"}`, i))
				continue
			}
			n++
			f.publish(fmt.Sprintf(`{"type":"position","pilgrim":"P","device":%q,"lat":21.4,"lon":39.9,"ts":%q}`, p.Device, p.TS))
		}
		f.accepted.Add(int64(n))
		fmt.Fprintf(w, `{"accepted":%d,"rejected":[%s]}`, n, strings.Join(rejected, ","))
	case r.URL.Path == "/v1/live":
		if !strings.HasPrefix(r.URL.Query().Get("token"), "operator:") && !strings.HasPrefix(r.URL.Query().Get("token"), "guide:") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		var sub struct{ Op, Topic string }
		if c.ReadJSON(&sub) != nil {
			c.Close()
			return
		}
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"snapshot","topic":"`+sub.Topic+`","positions":[],"truncated":false}`))
		f.mu.Lock()
		f.subs[c] = &sync.Mutex{}
		f.mu.Unlock()
		go func() { // read until the client closes
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					f.mu.Lock()
					delete(f.subs, c)
					f.mu.Unlock()
					c.Close()
					return
				}
			}
		}()
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeServer) publish(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, mu := range f.subs {
		mu.Lock()
		c.WriteMessage(websocket.TextMessage, []byte(msg))
		mu.Unlock()
	}
}

func devices(n int) []Device {
	var ds []Device
	for i := range n {
		ds = append(ds, Device{ID: fmt.Sprintf("dev%04d", i), Group: fmt.Sprintf("G%d", i%5),
			Home: geo.Point{Lat: 21.41 + float64(i%10)*1e-4, Lon: 39.89}})
	}
	return ds
}

func TestShortRunAgainstAServer(t *testing.T) {
	f := &fakeServer{subs: map[*websocket.Conn]*sync.Mutex{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		Target: srv.URL, AdminToken: "admin", Devices: devices(40),
		Interval: 200 * time.Millisecond, Duration: 1500 * time.Millisecond,
		Watchers: 4, Conns: 8, Batch: 2, ServerPID: os.Getpid(), Label: "fake",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted == 0 || rep.Accepted != f.accepted.Load() || rep.Rejected != 0 || rep.Failed != 0 {
		t.Fatalf("accepted %d (server saw %d), rejected %d, failed %d; reasons %v", rep.Accepted, f.accepted.Load(), rep.Rejected, rep.Failed, rep.Reasons)
	}
	if rep.Sent < rep.Due/2 || rep.Due == 0 {
		t.Fatalf("sent %d of %d scheduled", rep.Sent, rep.Due)
	}
	if rep.Watch.Connected != 4 || rep.Watch.Guides != 2 || rep.Watch.Operators != 2 {
		t.Fatalf("watchers %+v", rep.Watch)
	}
	if rep.Watch.Delivered == 0 || rep.Latency.Samples == 0 || rep.Latency.P99 <= 0 || rep.Latency.P50 > rep.Latency.P99 {
		t.Fatalf("delivered %d, latency %+v", rep.Watch.Delivered, rep.Latency)
	}
	if rep.Server.PID != os.Getpid() || rep.Server.RSSEndMiB <= 0 {
		t.Fatalf("server figures %+v", rep.Server)
	}
	var md, js bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Load run: fake", "accepted pings/s", "p50 / p95 / p99", "server CPU"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Accepted != rep.Accepted {
		t.Fatalf("JSON round trip: %v, %d", err, back.Accepted)
	}
}

func TestConfigBounds(t *testing.T) {
	base := Config{Target: "http://127.0.0.1:1", AdminToken: "a", Devices: devices(1)}
	for name, mut := range map[string]func(*Config){
		"remote":    func(c *Config) { c.Target = "http://10.1.2.3:8080" },
		"devices":   func(c *Config) { c.Devices = nil },
		"watchers":  func(c *Config) { c.Watchers = MaxWatchers + 1 },
		"duration":  func(c *Config) { c.Duration = MaxDuration + time.Second },
		"interval":  func(c *Config) { c.Interval = time.Millisecond },
		"protocol":  func(c *Config) { c.Protocol = "mqtt" },
		"no token":  func(c *Config) { c.AdminToken = "" },
		"batch":     func(c *Config) { c.Batch = 5000 },
		"guides>1":  func(c *Config) { c.GuideShare = 2 },
		"conns big": func(c *Config) { c.Conns = 10000 },
	} {
		c := base
		mut(&c)
		_, err := Run(context.Background(), c)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Run = %v, want ErrConfig", name, err)
		}
	}
	c := base
	c.Target = "http://192.168.0.1:8080"
	if _, err := Run(context.Background(), c); !errors.Is(err, send.ErrNotLoopback) {
		t.Errorf("remote target: %v", err)
	}
}

func TestProcReadingAndPortLookup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pid, err := pidListening(port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("pidListening(%d) = %d, %v; want %d", port, pid, err, os.Getpid())
	}
	s, err := readProc(os.Getpid())
	if err != nil || s.rssBytes <= 0 {
		t.Fatalf("readProc = %+v, %v", s, err)
	}
	ln.Close()
	if _, err := pidListening(port); err == nil {
		t.Fatal("found a listener on a closed port")
	}
	if m := machine(); m.CPUs < 1 || m.Go == "" {
		t.Fatalf("machine %+v", m)
	}
}

func TestPositionParsingAndLatencyClock(t *testing.T) {
	msg := []byte(`{"type":"position","pilgrim":"P1","device":"dev7","lat":21.4,"lon":39.9,"acc":8.0,"ts":"2025-06-06T08:00:01.234Z","site":"mina"}`)
	if msgType(msg) != "position" {
		t.Fatal("type")
	}
	dev, ts, ok := deviceAndTime(msg)
	want := time.Date(2025, 6, 6, 8, 0, 1, 234e6, time.UTC).UnixMilli()
	if !ok || string(dev) != "dev7" || ts != want {
		t.Fatalf("deviceAndTime = %s %d %v", dev, ts, ok)
	}
	if _, _, ok := deviceAndTime([]byte(`{"type":"position","device":"x","ts":"yesterday"}`)); ok {
		t.Fatal("parsed a bad ts")
	}
	start := time.Now()
	c := newSentClock(start, 2)
	fix := start.UnixMilli() - 20_000 // a buffered fix, 20 s old
	c.sent(1, fix, start.Add(10*time.Millisecond))
	if lat, ok := c.latency(1, fix, start.Add(35*time.Millisecond)); !ok || lat != 25*time.Millisecond {
		t.Fatalf("latency = %v %v", lat, ok)
	}
	if _, ok := c.latency(1, fix+1, start.Add(time.Second)); ok {
		t.Fatal("matched another fix")
	}
	if _, ok := c.latency(0, fix, start); ok {
		t.Fatal("matched an empty slot")
	}
	c.sent(1, want, start) // a year off: out of the clock's range, not recorded
	if _, ok := c.latency(1, want, start); ok {
		t.Fatal("recorded a fix far outside the run")
	}
	r := newReservoir(100, 1)
	for i := 1; i <= 1000; i++ {
		r.add(time.Duration(i) * time.Millisecond)
	}
	l := r.summary()
	if l.Samples != 1000 || l.P50 < 300 || l.P50 > 700 || l.P99 < l.P95 || l.Max > 1000 {
		t.Fatalf("summary %+v", l)
	}
	if num(1234567) != "1,234,567" || num(12) != "12" {
		t.Fatal("num")
	}
}

func TestDevicesFromRegistry(t *testing.T) {
	l := geo.Default()
	tent := &l.Tents[0]
	ps := []registry.Pilgrim{
		{PID: "P1", Group: "G1", Camp: tent.Camp, Tent: tent.ID, Devices: []string{"phone1", "WB1"},
			DeviceKinds: []dalil.DeviceKind{dalil.DevicePhone, dalil.DeviceWristband}},
		{PID: "P2", Group: "G1", Devices: []string{"phone2"}}, // no tent: spills into Muzdalifah
	}
	ds := DevicesFromRegistry(l, ps)
	if len(ds) != 3 {
		t.Fatalf("%d devices, want 3", len(ds))
	}
	if ds[0].Home != tent.Polygon.Centroid() || ds[1].Kind != dalil.DeviceWristband || ds[0].Group != "G1" {
		t.Fatalf("placed devices %+v", ds[:2])
	}
	muz, _ := l.Area("muzdalifah")
	if !muz.Polygon.Contains(ds[2].Home) || ds[2].Kind != dalil.DevicePhone {
		t.Fatalf("unplaced pilgrim's device at %v, not in Muzdalifah", ds[2].Home)
	}
	if again := DevicesFromRegistry(l, ps); again[2].Home != ds[2].Home {
		t.Fatal("not deterministic")
	}
}
