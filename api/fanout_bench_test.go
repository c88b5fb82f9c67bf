package api

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dalil/geo"
	"dalil/tracking"
)

// The fan-out benchmark: N websocket clients over loopback, most of them
// guides following one group each and the rest operators watching a small
// bbox of Mina, while a publisher feeds the hub pings at a fixed rate. It
// reports pings/s published, messages/s delivered and the ping→client latency
// (publish time stamped in "ts" → message read by the client) p50/p99.
//
// The environment scales it (defaults keep `make bench` short):
//
//	DALIL_FANOUT_CLIENTS=10000 DALIL_FANOUT_RATE=200000 DALIL_FANOUT_SECONDS=5 \
//	  go test -run '^$' -bench Fanout -benchtime 1x ./api
//
// It measures the hub and the sockets, not ingest: pings go to Hub.Publish
// directly, as the tracking engine delivers them.

type fanoutConfig struct {
	clients     int           // websocket clients
	rate        int           // pings per second offered to Publish
	duration    time.Duration // measured time (after a 0.5 s warm-up)
	pilgrims    int           // population moving in Mina
	groupSize   int           // pilgrims per group
	bboxShare   float64       // share of clients watching a bbox (the rest follow a group)
	bboxSpanDeg float64       // side of a watched bbox
}

type fanoutResult struct {
	published, delivered int64
	seconds              float64
	p50, p99, max        time.Duration
	dropped              uint64
	coalesced            uint64
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func BenchmarkFanout(b *testing.B) {
	cfg := fanoutConfig{
		clients:     envInt("DALIL_FANOUT_CLIENTS", 1000),
		rate:        envInt("DALIL_FANOUT_RATE", 20000),
		duration:    time.Duration(envInt("DALIL_FANOUT_SECONDS", 2)) * time.Second,
		pilgrims:    envInt("DALIL_FANOUT_PILGRIMS", 200000),
		groupSize:   44,
		bboxShare:   0.1,
		bboxSpanDeg: 0.003, // ~300 m: a zoomed-in console
	}
	b.Run(fmt.Sprintf("clients=%d/rate=%d", cfg.clients, cfg.rate), func(b *testing.B) {
		for range b.N {
			r := runFanout(b, cfg)
			b.ReportMetric(float64(r.published)/r.seconds, "pings/s")
			b.ReportMetric(float64(r.delivered)/r.seconds, "msgs/s")
			b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(r.max.Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(r.dropped), "dropped")
			b.Logf("%+v", r)
		}
	})
}

// Mina's valley, where the simulated population moves.
const minaMinLat, minaMaxLat, minaMinLon, minaMaxLon = 21.405, 21.425, 39.875, 39.915

// hubOnlyHandler upgrades and subscribes a connection to ?topic= without auth
// or snapshots: the benchmark measures fan-out, not the handshake.
func hubOnlyHandler(h *Hub) http.Handler {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := ParseTopic(r.URL.Query().Get("topic"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := newClient(h, conn, Principal{Role: RoleOperator})
		c.ctx = r.Context()
		if !h.register(c) {
			conn.Close()
			return
		}
		sub := &subscription{c: c, topic: t}
		h.mu.Lock()
		c.subs[t.String()] = sub
		h.mu.Unlock()
		h.add(sub)
		go c.writeLoop()
		defer func() { h.unregister(c); c.kill(websocket.CloseNormalClosure, "") }()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
}

// latencyHist counts latencies in log buckets (~4.5% wide) from 1 µs.
type latencyHist struct{ counts [400]int64 }

func latBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	i := int(math.Log(us) / math.Log(1.045))
	return min(i, 399)
}

func (h *latencyHist) add(d time.Duration) { h.counts[latBucket(d)]++ }

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

func (h *latencyHist) quantile(q float64) time.Duration {
	var total int64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= want {
			return time.Duration(math.Pow(1.045, float64(i+1)) * float64(time.Microsecond))
		}
	}
	return 0
}

func runFanout(b *testing.B, cfg fanoutConfig) fanoutResult {
	b.Helper()
	hcfg := DefaultHubConfig()
	hub := NewHub(hcfg, nil)
	ts := httptest.NewServer(hubOnlyHandler(hub))
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
	}()

	rng := rand.New(rand.NewPCG(1, 2))
	ngroups := (cfg.pilgrims + cfg.groupSize - 1) / cfg.groupSize
	// Pilgrims: a position each, grouped in order (group i = pilgrims i*size…).
	type mover struct {
		pid, dev, group string
		p               geo.Point
	}
	movers := make([]mover, cfg.pilgrims)
	for i := range movers {
		movers[i] = mover{
			pid: "P" + strconv.Itoa(i), dev: "D" + strconv.Itoa(i), group: "G" + strconv.Itoa(i/cfg.groupSize),
			p: geo.Point{Lat: minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat), Lon: minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon)},
		}
	}

	// Clients.
	wsBase := "ws" + strings.TrimPrefix(ts.URL, "http") + "/?topic="
	var (
		measuring atomic.Bool
		delivered atomic.Int64
		hists     = make([]latencyHist, cfg.clients)
		wg        sync.WaitGroup
		conns     = make([]*websocket.Conn, cfg.clients)
	)
	dialer := *websocket.DefaultDialer
	dialer.HandshakeTimeout = 30 * time.Second
	nbbox := int(float64(cfg.clients) * cfg.bboxShare)
	for i := range cfg.clients {
		var topic string
		if i < nbbox {
			lat := minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat-cfg.bboxSpanDeg)
			lon := minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon-cfg.bboxSpanDeg)
			topic = fmt.Sprintf("bbox:%f,%f,%f,%f", lon, lat, lon+cfg.bboxSpanDeg, lat+cfg.bboxSpanDeg)
		} else {
			topic = "group:G" + strconv.Itoa((i-nbbox)%ngroups)
		}
		c, _, err := dialer.Dial(wsBase+topic, nil)
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		conns[i] = c
		wg.Add(1)
		go func(h *latencyHist) {
			defer wg.Done()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				if !measuring.Load() {
					continue
				}
				if t, ok := PositionTime(msg); ok {
					h.add(time.Since(t))
					delivered.Add(1)
				}
			}
		}(&hists[i])
	}
	for hub.Stats().Subscriptions < int64(cfg.clients) {
		time.Sleep(10 * time.Millisecond)
	}

	// Publisher: paced in 1 ms ticks; the states are reused per mover.
	states := make([]tracking.LiveState, len(movers))
	for i, m := range movers {
		states[i] = tracking.LiveState{Device: m.dev, Pilgrim: m.pid, Group: m.group, Kind: tracking.DevicePhone,
			Position: tracking.Position{Device: m.dev, Lat: m.p.Lat, Lon: m.p.Lon, Accuracy: 8, Battery: tracking.Unknown}}
	}
	var published int64
	warm := 500 * time.Millisecond
	start := time.Now()
	var measuredStart time.Time
	var publishedAtStart int64
	stats0 := hub.Stats()
	next := start
	perTick := float64(cfg.rate) / 1000
	var carry float64
	for {
		now := time.Now()
		if measuredStart.IsZero() && now.Sub(start) >= warm {
			measuredStart = now
			publishedAtStart = published
			stats0 = hub.Stats()
			measuring.Store(true)
		}
		if !measuredStart.IsZero() && now.Sub(measuredStart) >= cfg.duration {
			break
		}
		if now.Before(next) {
			time.Sleep(next.Sub(now))
			continue
		}
		carry += perTick
		n := int(carry)
		carry -= float64(n)
		for range n {
			i := rng.IntN(len(states))
			st := &states[i]
			// The state is handed over: publish a copy, as the engine does.
			cp := *st
			cp.Position.Lat += (rng.Float64() - 0.5) * 1e-5
			cp.Position.Lon += (rng.Float64() - 0.5) * 1e-5
			cp.Position.Time = time.Now()
			st.Position.Lat, st.Position.Lon = cp.Position.Lat, cp.Position.Lon
			hub.Publish(tracking.Update{State: &cp})
			published++
		}
		next = next.Add(time.Millisecond)
	}
	elapsed := time.Since(measuredStart).Seconds()
	measuring.Store(false)
	stats1 := hub.Stats()
	time.Sleep(200 * time.Millisecond) // let in-flight messages land (not counted)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()

	var all latencyHist
	for i := range hists {
		all.merge(&hists[i])
	}
	var maxB int
	for i, c := range all.counts {
		if c > 0 {
			maxB = i
		}
	}
	r := fanoutResult{
		published: published - publishedAtStart,
		delivered: delivered.Load(),
		seconds:   elapsed,
		p50:       all.quantile(0.50),
		p99:       all.quantile(0.99),
		max:       time.Duration(math.Pow(1.045, float64(maxB+1)) * float64(time.Microsecond)),
		dropped:   stats1.Dropped - stats0.Dropped,
		coalesced: stats1.Coalesced - stats0.Coalesced,
	}
	return r
}
