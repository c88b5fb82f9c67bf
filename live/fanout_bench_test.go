package live

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
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dalil"
	"dalil/geo"
)

// The fan-out benchmark: N websocket clients over loopback, 99 % of them
// guides following one group (of 44) each and 1 % operators watching a
// ~100 m bbox of Mina, while a publisher feeds the hub pings of two million
// pilgrims spread over Mina at a fixed rate. It
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
	cpu                  time.Duration // CPU of server, publisher and clients while measuring
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
		pilgrims:    envInt("DALIL_FANOUT_PILGRIMS", 2_000_000),
		groupSize:   44,
		bboxShare:   0.01,  // 1 operator console per 99 guides
		bboxSpanDeg: 0.001, // ~100 m: a console zoomed in on a few camps' streets
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
			b.ReportMetric(r.cpu.Seconds()/r.seconds, "cpu-cores")
			if r.delivered > 0 {
				b.ReportMetric(float64(r.cpu.Microseconds())/float64(r.delivered), "cpu-us/msg")
			}
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
		c := newClient(h, conn, "", nil)
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
		conn.SetPingHandler(c.onPing)
		conn.SetCloseHandler(func(int, string) error { return nil })
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
	// Pilgrims: a position each; pilgrim i is "P<i>" with device "D<i>" in
	// group "G<i/groupSize>". IDs are made at publish time (as cheap as the
	// engine's lookups) so that two million movers fit in 32 MB.
	movers := make([]geo.Point, cfg.pilgrims)
	for i := range movers {
		movers[i] = geo.Point{Lat: minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat), Lon: minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon)}
	}

	// Clients: in this process, or — beyond what one process's file
	// descriptors allow next to the server's — in a child process.
	wsBase := "ws" + strings.TrimPrefix(ts.URL, "http") + "/?topic="
	nbbox := int(float64(cfg.clients) * cfg.bboxShare)
	topics := make([]string, cfg.clients)
	for i := range topics {
		if i < nbbox {
			lat := minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat-cfg.bboxSpanDeg)
			lon := minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon-cfg.bboxSpanDeg)
			topics[i] = fmt.Sprintf("bbox:%f,%f,%f,%f", lon, lat, lon+cfg.bboxSpanDeg, lat+cfg.bboxSpanDeg)
		} else {
			topics[i] = "group:G" + strconv.Itoa((i-nbbox)%ngroups)
		}
	}
	var clients fanoutClients
	if cfg.clients > inProcessClients {
		child, err := startClientProcess(wsBase, topics)
		if err != nil {
			b.Fatal(err)
		}
		clients = child
	} else {
		local := &localClients{}
		if err := local.dial(wsBase, topics); err != nil {
			b.Fatal(err)
		}
		clients = local
	}
	defer clients.close()
	for hub.Stats().Subscriptions < int64(cfg.clients) {
		time.Sleep(10 * time.Millisecond)
	}

	var published int64
	warm := 500 * time.Millisecond
	start := time.Now()
	var measuredStart time.Time
	var publishedAtStart int64
	stats0 := hub.Stats()
	// The publisher catches up after every sleep: it publishes what the rate
	// owes since the start, so timer granularity does not lower the rate.
	var owed int64
	var cpu0 time.Duration
	for {
		now := time.Now()
		if measuredStart.IsZero() && now.Sub(start) >= warm {
			measuredStart = now
			publishedAtStart = published
			stats0 = hub.Stats()
			cpu0 = cpuTime() + clients.cpu()
			clients.measure(true)
		}
		if !measuredStart.IsZero() && now.Sub(measuredStart) >= cfg.duration {
			break
		}
		owed = int64(now.Sub(start).Seconds()*float64(cfg.rate)) - published
		if owed <= 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		for range min(owed, int64(cfg.rate/100+1)) { // at most 10 ms' worth before checking the clock
			i := rng.IntN(len(movers))
			m := &movers[i]
			m.Lat += (rng.Float64() - 0.5) * 1e-5
			m.Lon += (rng.Float64() - 0.5) * 1e-5
			is := strconv.Itoa(i)
			st := &dalil.LiveState{Device: "D" + is, Pilgrim: "P" + is, Group: "G" + strconv.Itoa(i/cfg.groupSize), Kind: dalil.DevicePhone,
				Position: dalil.Position{Device: "D" + is, Lat: m.Lat, Lon: m.Lon, Accuracy: 8, Battery: dalil.Unknown, Time: time.Now()}}
			hub.Publish(dalil.Update{State: st})
			published++
		}
	}
	elapsed := time.Since(measuredStart).Seconds()
	cpu := cpuTime() + clients.cpu() - cpu0
	clients.measure(false)
	stats1 := hub.Stats()
	all, delivered, err := clients.result()
	if err != nil {
		b.Fatal(err)
	}
	var maxB int
	for i, c := range all.counts {
		if c > 0 {
			maxB = i
		}
	}
	r := fanoutResult{
		published: published - publishedAtStart,
		delivered: delivered,
		seconds:   elapsed,
		p50:       all.quantile(0.50),
		p99:       all.quantile(0.99),
		max:       time.Duration(math.Pow(1.045, float64(maxB+1)) * float64(time.Microsecond)),
		dropped:   stats1.Dropped - stats0.Dropped,
		coalesced: stats1.Coalesced - stats0.Coalesced,
		cpu:       cpu,
	}
	return r
}
