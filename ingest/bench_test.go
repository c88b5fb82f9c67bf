package ingest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"dalil"
)

// nopSink accepts everything instantly: the benchmarks measure ingest alone.
type nopSink struct{}

func (nopSink) Accept(context.Context, []dalil.Position) error { return nil }

const benchDevices = 4096

func benchHandler(b *testing.B) *Handler {
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return testNow }
	devs := fakeDevices{}
	auth := &fakeAuth{tokens: map[string]string{}}
	for i := range benchDevices {
		id := "dev" + strconv.Itoa(i)
		devs[id] = dalil.Device{ID: id, Kind: dalil.DevicePhone}
		auth.tokens["tok"+strconv.Itoa(i)] = id
	}
	return NewHandler(cfg, nopSink{}, devs, auth, NewMetrics(nil), nil)
}

// freshFilter forgets every device so that replayed inputs are not duplicates.
func freshFilter(b *testing.B, h *Handler) {
	b.StopTimer()
	h.filter = newFilter(&h.cfg)
	b.StartTimer()
}

// nativeBody is a batch of n pings of a walk, one per second, ending 1 s before now.
func nativeBody(n int, ndjson bool) []byte {
	var buf []byte
	if !ndjson {
		buf = append(buf, '[')
	}
	for k := range n {
		if k > 0 && !ndjson {
			buf = append(buf, ',')
		}
		ts := testNow.Add(time.Duration(k-n) * time.Second)
		buf = append(buf, `{"ts":"`...)
		buf = ts.AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
		buf = append(buf, `","lat":`...)
		buf = strconv.AppendFloat(buf, 21.4133+float64(k)*1.1e-5, 'f', 7, 64)
		buf = append(buf, `,"lon":39.8933012,"acc":8.5,"speed":1.2,"heading":181,"batt":77}`...)
		if ndjson {
			buf = append(buf, '\n')
		}
	}
	if !ndjson {
		buf = append(buf, ']')
	}
	return buf
}

// BenchmarkDecodeFilter measures decoding and filtering without HTTP and
// without a sink: ns per ping and allocations per ping.
func BenchmarkDecodeFilter(b *testing.B) {
	b.Run("native-ndjson-100", func(b *testing.B) { benchNativeDecode(b, nativeBody(100, true), 100) })
	b.Run("native-array-100", func(b *testing.B) { benchNativeDecode(b, nativeBody(100, false), 100) })

	b.Run("osmand-query", func(b *testing.B) {
		h := benchHandler(b)
		queries := make([][]byte, benchDevices)
		for i := range queries {
			queries[i] = []byte("id=dev" + strconv.Itoa(i) + "&timestamp=" + strconv.FormatInt(testNow.Unix()-30, 10) +
				"&lat=21.4133012&lon=39.8933012&speed=1.2&bearing=182.5&altitude=412.0&accuracy=12.0&batt=87.0")
		}
		rs := new(reqState)
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPU()
		for i := range b.N {
			k := i % benchDevices
			if k == 0 && i > 0 {
				freshFilter(b, h)
			}
			rs.clear()
			o := &rs.osm
			o.reset()
			rs.pr.reset(queries[k])
			o.params(&rs.pr)
			o.finish(testNow, h.cfg.HDOPMetres)
			o.it.p.Device = "dev" // the request's one string; its allocation is per request, not per decode
			*rs.addItem(0) = o.it
			filterOnly(h, rs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/ping")
		cpu.report(b, b.N)
	})

	b.Run("traccar-json", func(b *testing.B) {
		h := benchHandler(b)
		body := []byte(`{"location":{"timestamp":"2025-06-05T08:59:12.862Z","coords":{"latitude":21.4133012,"longitude":39.8933012,"accuracy":5,"speed":0.8,"heading":-1,"altitude":412},"is_moving":true,"odometer":1520,"event":"motionchange","battery":{"level":0.81,"is_charging":false},"activity":{"type":"walking"},"extras":{}},"device_id":"dev1"}`)
		benchSingle(b, h, body, func(rs *reqState) { rs.traccarJSON(&rs.r, testNow) })
	})

	b.Run("owntracks", func(b *testing.B) {
		h := benchHandler(b)
		body := []byte(`{"_type":"location","acc":14,"alt":412,"batt":81,"bs":1,"conn":"w","lat":21.4133012,"lon":39.8933012,"m":1,"t":"u","tid":"ph","tst":` +
			strconv.FormatInt(testNow.Unix()-30, 10) + `,"vac":3,"vel":4,"cog":270,"topic":"owntracks/ali/phone"}`)
		benchSingle(b, h, body, func(rs *reqState) {
			rs.ownTracksJSON(&rs.r, testNow)
			rs.items[0].p.Device = "dev1"
		})
	})
}

func benchNativeDecode(b *testing.B, body []byte, n int) {
	h := benchHandler(b)
	rs := new(reqState)
	devs := make([]string, benchDevices)
	for i := range devs {
		devs[i] = "dev" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	cpu := startCPU()
	for i := range b.N {
		k := i % benchDevices
		if k == 0 && i > 0 {
			freshFilter(b, h)
		}
		rs.clear()
		rs.r.reset(body)
		rs.nativeBatch(&rs.r, devs[k], h.cfg.MaxBatch)
		filterOnly(h, rs)
		if len(rs.ok) != n {
			b.Fatalf("accepted %d of %d", len(rs.ok), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ping")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pings/s")
	cpu.report(b, b.N*n)
}

// benchSingle replays one single-ping body for many devices (the device is
// swapped in after decoding so every iteration is a fresh device).
func benchSingle(b *testing.B, h *Handler, body []byte, decode func(*reqState)) {
	rs := new(reqState)
	devs := make([]string, benchDevices)
	for i := range devs {
		devs[i] = "dev" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := range b.N {
		k := i % benchDevices
		if k == 0 && i > 0 {
			freshFilter(b, h)
		}
		rs.clear()
		rs.r.reset(body)
		decode(rs)
		rs.items[0].p.Device = devs[k]
		filterOnly(h, rs)
		if len(rs.ok) != 1 {
			b.Fatalf("not accepted: %+v", rs.items[0].fault)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/ping")
	cpu.report(b, b.N)
}

// filterOnly is run() without the sink and the answer: filter every item
// and commit the filter state.
func filterOnly(h *Handler, rs *reqState) {
	for i := range rs.items {
		it := &rs.items[i]
		if it.fault.reason != reasonNone {
			continue
		}
		s := rs.session(h.filter, it.p.Device, h.cfg.MaxSpeed)
		if v := h.filter.check(&s.st, &it.p, testNow, s.maxSpeed); v.reason != reasonNone {
			it.fault.reason = v.reason
			continue
		}
		s.used = true
		rs.ok = append(rs.ok, it.p)
	}
	for i := range rs.sessions {
		h.filter.store(rs.sessions[i].dev, &rs.sessions[i].st)
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its headers.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkHandlerNative drives POST /v1/pings through the mux in process,
// with a no-op sink: auth, body read, decode, filter, answer.
func BenchmarkHandlerNative(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := benchHandler(b)
			mux := http.NewServeMux()
			h.Register(mux)
			body := nativeBody(n, true)
			rd := bytes.NewReader(body)
			req, _ := http.NewRequest("POST", "/v1/pings", io.NopCloser(rd))
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.ContentLength = int64(len(body))
			tokens := make([]string, benchDevices)
			for i := range tokens {
				tokens[i] = "Bearer tok" + strconv.Itoa(i)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			cpu := startCPU()
			for i := range b.N {
				k := i % benchDevices
				if k == 0 && i > 0 {
					freshFilter(b, h)
				}
				rd.Reset(body)
				req.Header["Authorization"] = []string{tokens[k]}
				clear(w.h)
				mux.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pings/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ping")
			cpu.report(b, b.N*n)
		})
	}
}

// BenchmarkHandlerParallel is BenchmarkHandlerNative/100 from all cores at once.
func BenchmarkHandlerParallel(b *testing.B) {
	h := benchHandler(b)
	mux := http.NewServeMux()
	h.Register(mux)
	body := nativeBody(100, true)
	b.ReportAllocs()
	b.ResetTimer()
	var next int64
	var mu = make(chan struct{}, 1)
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(body)
		req, _ := http.NewRequest("POST", "/v1/pings", io.NopCloser(rd))
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			mu <- struct{}{}
			k := next % benchDevices
			next++
			<-mu
			rd.Reset(body)
			// A device's fixes are duplicates on the second lap; that path is cheaper, not dearer.
			req.Header = http.Header{"Authorization": {"Bearer tok" + strconv.FormatInt(k, 10)}}
			req.ContentLength = int64(len(body))
			clear(w.h)
			mux.ServeHTTP(w, req)
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "pings/s")
	cpu.report(b, b.N*100)
}

// BenchmarkFilterMemory reports the filter's heap per remembered device.
func BenchmarkFilterMemory(b *testing.B) {
	const n = 200_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "W-" + strconv.Itoa(1_000_000+i) // a wristband-like id, 9 bytes
	}
	for range b.N {
		cfg := DefaultConfig()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f := newFilter(&cfg)
		p := ping(testNow, 21.4133, 39.8933, 10)
		for _, id := range ids {
			st := f.load(id)
			for k := range historySize {
				q := p
				q.Time = p.Time.Add(time.Duration(k) * time.Second)
				f.check(&st, &q, testNow, cfg.MaxSpeed)
			}
			f.store(id, &st)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/device")
		runtime.KeepAlive(f)
	}
}

// cpuClock measures the process's CPU time (user+system). On a machine
// shared with other jobs, wall-clock ns/op depends on the neighbours; CPU
// time per ping does not, so the benchmarks report both.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: cpuNow()} }

// report adds cpu-ns/ping for n pings.
func (c cpuClock) report(b *testing.B, n int) {
	b.ReportMetric(float64((cpuNow()-c.start).Nanoseconds())/float64(n), "cpu-ns/ping")
}
