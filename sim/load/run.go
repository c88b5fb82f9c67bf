package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"dalil/sim/send"
)

// runner holds one run's state.
type runner struct {
	cfg   Config
	baseU *url.URL
	base  string
	// osmandBase and osmandPath are where OsmAnd devices send: the API's
	// /ingest/osmand, or "/" on the server's own OsmAnd listener.
	osmandBase, osmandPath string
	// nativeURL is where native devices post: /v1/pings on the API, or on
	// the lean ingest port when OsmAndTarget is set.
	nativeURL string
	client    *http.Client
	minter    *send.Tokens

	tokens  []string         // per device, native only
	slotOf  []int32          // device index -> latency slot, -1 when no watcher follows it
	watched map[string]int32 // device id -> latency slot
	clock   *sentClock
	drv     driveStats
	watch   watchStats

	stopping atomic.Bool
}

// Run drives the server and returns the report. Setup (minting tokens,
// connecting watchers) is bounded by SetupTimeout and not measured; the
// load then runs for Duration, and a few seconds more are given to the
// websocket deliveries still in flight.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, _ := send.CheckTarget(cfg.Target)
	r := &runner{
		cfg:        cfg,
		baseU:      u,
		base:       u.String(),
		osmandBase: u.String(), osmandPath: "/ingest/osmand?", nativeURL: u.String() + "/v1/pings",
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        cfg.Conns,
			MaxIdleConnsPerHost: cfg.Conns,
			MaxConnsPerHost:     cfg.Conns,
			DisableCompression:  true,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		}},
	}
	defer r.client.CloseIdleConnections()
	if cfg.OsmAndTarget != "" {
		ou, _ := send.CheckTarget(cfg.OsmAndTarget)
		r.osmandBase, r.osmandPath = strings.TrimSuffix(ou.String(), "/"), "/?"
		r.nativeURL = r.osmandBase + "/v1/pings"
	}
	r.minter = send.NewTokens(r.base, cfg.AdminToken, r.client)
	rep := &Report{
		Label: cfg.Label, Started: time.Now().UTC(), Target: r.base, Protocol: string(cfg.Protocol),
		Devices: len(cfg.Devices), Interval: cfg.Interval.String(), Duration: cfg.Duration.String(),
		Batch: cfg.Batch, Conns: cfg.Conns, Machine: machine(),
		OfferedPerSec: float64(len(cfg.Devices)) / cfg.Interval.Seconds(),
	}
	pid := r.serverPID(rep)

	setupStart := time.Now()
	setupCtx, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancel()
	if err := r.mintDeviceTokens(setupCtx); err != nil {
		return nil, err
	}
	watchers, err := r.setupWatchers(setupCtx, rep)
	if err != nil {
		return nil, err
	}
	defer func() {
		r.stopping.Store(true)
		for _, w := range watchers {
			w.close()
		}
	}()
	rep.SetupSeconds = time.Since(setupStart).Seconds()
	cfg.Log.Info("bench: setup done", "devices", len(cfg.Devices), "watchers", len(watchers), "seconds", rep.SetupSeconds)

	start := time.Now()
	r.clock.start, r.clock.baseMs = start, start.UnixMilli()
	// Watchers read from now on.
	res := make([]*reservoir, 16)
	for i := range res {
		res[i] = newReservoir(50_000, uint64(i))
	}
	var readers sync.WaitGroup
	for i, w := range watchers {
		readers.Add(1)
		go func() {
			defer readers.Done()
			w.read(r, res[i%len(res)])
		}()
	}
	end := start.Add(cfg.Duration)
	heap0, heapErr0 := r.liveHeap(ctx)
	rep.LoadAvg[0] = loadAvg()
	before, beforeErr := sampleOrZero(pid)
	self0, _ := readProc(os.Getpid())
	peak := &peakRSS{}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go peak.run(sampleCtx, pid, before.rssBytes)
	posBefore := r.watch.positions.Load()

	r.drive(ctx, start, end)
	elapsed := time.Since(start)
	after, afterErr := sampleOrZero(pid)
	rep.LoadAvg[1] = loadAvg()
	self1, _ := readProc(os.Getpid())
	stopSampling()

	// Let deliveries in flight arrive, then count.
	grace := min(3*time.Second, cfg.Interval)
	select {
	case <-time.After(grace):
	case <-ctx.Done():
	}
	r.stopping.Store(true)
	for _, w := range watchers {
		w.close()
	}
	readers.Wait()
	heap1, heapErr1 := r.liveHeap(ctx)

	secs := elapsed.Seconds()
	rep.ElapsedSeconds = secs
	rep.Due = r.drv.due.Load()
	rep.Sent = r.drv.sent.Load()
	rep.Requests = r.drv.requests.Load()
	rep.Accepted = r.drv.accepted.Load()
	rep.Rejected = r.drv.rejected.Load()
	rep.Failed = r.drv.failed.Load()
	rep.AcceptedPerSec = float64(rep.Accepted) / secs
	rep.RequestsPerSec = float64(rep.Requests) / secs
	r.drv.mu.Lock()
	rep.Reasons = r.drv.reasons
	r.drv.mu.Unlock()

	rep.Watch.Delivered = r.watch.positions.Load() - posBefore
	rep.Watch.DeliveredPerSec = float64(rep.Watch.Delivered) / (secs + grace.Seconds())
	rep.Watch.Snapshots = r.watch.snapshots.Load()
	rep.Watch.Events = r.watch.events.Load()
	rep.Watch.Errors = r.watch.errors.Load()
	rep.Watch.Disconnects = r.watch.disconnects.Load()
	if e := r.watch.lastError.Load(); e != nil {
		rep.Watch.LastError = *e
	}
	all := newReservoir(16*50_000, 99)
	for _, x := range res {
		x.mu.Lock()
		for _, v := range x.vals {
			all.vals = append(all.vals, v)
		}
		all.seen += x.seen
		x.mu.Unlock()
	}
	rep.Latency = all.summary()

	if pid > 0 && beforeErr == nil && afterErr == nil {
		rep.Server.PID = pid
		rep.Server.CPUPercent = 100 * float64(after.cpuTicks-before.cpuTicks) / clockTicks / secs
		rep.Server.RSSStartMiB = mib(before.rssBytes)
		rep.Server.RSSEndMiB = mib(after.rssBytes)
		rep.Server.RSSPeakMiB = mib(max(peak.max.Load(), after.rssBytes))
		if cpu := float64(after.cpuTicks-before.cpuTicks) / clockTicks; cpu > 0 {
			rep.Server.PingsPerCPUSecond = float64(rep.Accepted) / cpu
			if rep.Accepted > 0 {
				rep.Server.CPUMicrosPerFix = 1e6 * cpu / float64(rep.Accepted)
			}
		}
		// Devices that reported: the schedule walks the devices in order,
		// one device per request.
		if n := min(int64(len(cfg.Devices)), rep.Requests); n > 0 {
			rep.Server.BytesPerDevice = float64(after.rssBytes-before.rssBytes) / float64(n)
		}
	}
	if n := min(int64(len(cfg.Devices)), rep.Requests); n > 0 && heapErr0 == nil && heapErr1 == nil {
		rep.Server.HeapStartMiB, rep.Server.HeapEndMiB = mib(heap0), mib(heap1)
		rep.Server.HeapBytesPerDevice = float64(heap1-heap0) / float64(n)
	} else if heapErr0 != nil || heapErr1 != nil {
		cfg.Log.Warn("bench: could not read the server's heap", "err", errors.Join(heapErr0, heapErr1))
	}
	rep.Client.CPUPercent = 100 * float64(self1.cpuTicks-self0.cpuTicks) / clockTicks / secs
	rep.Client.RSSMiB = mib(self1.rssBytes)
	rep.notes(cfg)
	return rep, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sampleOrZero(pid int) (procSample, error) {
	if pid <= 0 {
		return procSample{}, fmt.Errorf("no server pid")
	}
	return readProc(pid)
}

// peakRSS samples the server's RSS every second.
type peakRSS struct{ max atomic.Int64 }

func (p *peakRSS) run(ctx context.Context, pid int, first int64) {
	p.max.Store(first)
	if pid <= 0 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s, err := readProc(pid); err == nil && s.rssBytes > p.max.Load() {
				p.max.Store(s.rssBytes)
			}
		}
	}
}

// serverPID is the configured pid, or the process listening on the target's
// port.
func (r *runner) serverPID(rep *Report) int {
	if r.cfg.ServerPID > 0 {
		return r.cfg.ServerPID
	}
	port, _ := strconv.Atoi(r.baseU.Port())
	if port == 0 {
		port = 80
	}
	pid, err := pidListening(port)
	if err != nil {
		rep.Notes = append(rep.Notes, "server CPU and RSS not measured: "+err.Error())
		return 0
	}
	return pid
}

// mintDeviceTokens gets a token for every device: each proves itself to the
// server with it (without the admin token, OsmAnd and OwnTracks devices go
// out bare, which only a server running with --open-ingest accepts).
func (r *runner) mintDeviceTokens(ctx context.Context) error {
	r.tokens = make([]string, len(r.cfg.Devices))
	var need []int32
	for i := range r.cfg.Devices {
		if r.cfg.AdminToken != "" || r.cfg.Protocol.For(r.cfg.Devices[i].ID) == send.Native {
			need = append(need, int32(i))
		}
	}
	if len(need) == 0 {
		return nil
	}
	cached, err := readTokenFile(r.cfg.TokenFile)
	if err != nil {
		return err
	}
	missing := need[:0:0]
	for _, i := range need {
		if tok, ok := cached[r.cfg.Devices[i].ID]; ok {
			r.tokens[i] = tok
		} else {
			missing = append(missing, i)
		}
	}
	need = missing
	if len(need) == 0 {
		return nil
	}
	defer func() {
		if err := appendTokenFile(r.cfg.TokenFile, r.cfg.Devices, need, r.tokens); err != nil {
			r.cfg.Log.Warn("bench: token cache not written", "err", err)
		}
	}()
	r.cfg.Log.Info("bench: minting device tokens", "devices", len(need))
	var next, done atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-progress.C:
				r.cfg.Log.Info("bench: minting device tokens", "done", done.Load(), "of", len(need))
			}
		}
	}()
	for range min(r.cfg.Conns, 32) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(len(need)) || firstErr.Load() != nil {
					return
				}
				i := need[k]
				tok, err := r.minter.Mint(ctx, "device", r.cfg.Devices[i].ID)
				if err != nil {
					err = fmt.Errorf("after %d of %d device tokens: %w", done.Load(), len(need), err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				r.tokens[i] = tok
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if e := firstErr.Load(); e != nil {
		return *e
	}
	return nil
}

// setupWatchers picks each watcher's topic, mints its token, connects it and
// waits for its snapshot. Operators watch a bbox around a random device's
// home; guides follow a random device's group.
func (r *runner) setupWatchers(ctx context.Context, rep *Report) ([]*watcher, error) {
	r.slotOf = make([]int32, len(r.cfg.Devices))
	for i := range r.slotOf {
		r.slotOf[i] = -1
	}
	r.watched = map[string]int32{}
	if r.cfg.Watchers == 0 {
		r.clock = newSentClock(time.Now(), 0)
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 11))
	devs := r.cfg.Devices
	guides := int(float64(r.cfg.Watchers) * r.cfg.GuideShare)
	var ws []*watcher
	groupTok := map[string]string{}
	watchedGroups := map[string]bool{}
	type box struct{ minLon, minLat, maxLon, maxLat float64 }
	var boxes []box
	opTok := ""
	for i := range r.cfg.Watchers {
		d := &devs[rng.IntN(len(devs))]
		if i < guides && d.Group != "" {
			tok, ok := groupTok[d.Group]
			if !ok {
				t, err := r.minter.Mint(ctx, "guide", d.Group)
				if err != nil {
					return nil, err
				}
				tok, groupTok[d.Group] = t, t
			}
			watchedGroups[d.Group] = true
			ws = append(ws, &watcher{topic: "group:" + d.Group, url: liveURL(r.baseU, tok)})
			rep.Watch.Guides++
			continue
		}
		if opTok == "" {
			t, err := r.minter.Mint(ctx, "operator", "bench-operator")
			if err != nil {
				return nil, err
			}
			opTok = t
		}
		half := r.cfg.BBoxM / 2
		dLat := half / 111_195
		dLon := dLat / cosDeg(d.Home.Lat)
		b := box{d.Home.Lon - dLon, d.Home.Lat - dLat, d.Home.Lon + dLon, d.Home.Lat + dLat}
		boxes = append(boxes, b)
		topic := fmt.Sprintf("bbox:%.6f,%.6f,%.6f,%.6f", b.minLon, b.minLat, b.maxLon, b.maxLat)
		ws = append(ws, &watcher{topic: topic, url: liveURL(r.baseU, opTok)})
		rep.Watch.Operators++
	}
	// Latency is measured on the devices someone watches.
	for i := range devs {
		d := &devs[i]
		w := watchedGroups[d.Group] && d.Group != ""
		for _, b := range boxes {
			if w {
				break
			}
			w = d.Home.Lon >= b.minLon && d.Home.Lon <= b.maxLon && d.Home.Lat >= b.minLat && d.Home.Lat <= b.maxLat
		}
		if w {
			if _, dup := r.watched[d.ID]; !dup {
				r.watched[d.ID] = int32(len(r.watched))
			}
			r.slotOf[i] = r.watched[d.ID]
		}
	}
	r.clock = newSentClock(time.Now(), len(r.watched))
	rep.Watch.WatchedDevices = len(r.watched)

	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, Proxy: nil, ReadBufferSize: 4096, WriteBufferSize: 1024}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for _, w := range ws {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := w.connect(ctx, dialer); err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		for _, w := range ws {
			w.close()
		}
		return nil, *e
	}
	rep.Watch.Connected = len(ws)
	return ws, nil
}
