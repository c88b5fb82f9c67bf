package ingest

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"dalil"
)

func newTestFilter(mutate ...func(*Config)) (*filter, *Config) {
	cfg := DefaultConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	return newFilter(&cfg), &cfg
}

func ping(t time.Time, lat, lon float64, acc float32) dalil.Position {
	return dalil.Position{Device: "d", Time: t, Lat: lat, Lon: lon, Accuracy: acc,
		Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: dalil.Unknown}
}

// metres north of a point, near Mina
func north(lat float64, m float64) float64 { return lat + m/111_195 }

func TestFilterReasons(t *testing.T) {
	f, cfg := newTestFilter()
	const lat, lon = 21.4133, 39.8933
	cases := []struct {
		name string
		p    dalil.Position
		want reason
	}{
		{"good", ping(testNow, lat, lon, 10), reasonNone},
		{"nan", ping(testNow, math.NaN(), lon, 10), reasonNotFinite},
		{"inf", ping(testNow, lat, math.Inf(1), 10), reasonNotFinite},
		{"lat 90.1", ping(testNow, 90.1, lon, 10), reasonOutOfRange},
		{"lon -180.5", ping(testNow, lat, -180.5, 10), reasonOutOfRange},
		{"poles ok", ping(testNow, -90, 180, 10), reasonNone},
		{"null island", ping(testNow, 0, 0, 10), reasonNullIsland},
		{"equator ok", ping(testNow, 0, 39.9, 10), reasonNone},
		{"future", ping(testNow.Add(cfg.MaxFuture+time.Second), lat, lon, 10), reasonFuture},
		{"slightly ahead ok", ping(testNow.Add(cfg.MaxFuture-time.Second), lat, lon, 10), reasonNone},
		{"too old", ping(testNow.Add(-cfg.MaxAge-time.Second), lat, lon, 10), reasonTooOld},
		{"old but buffered ok", ping(testNow.Add(-cfg.MaxAge+time.Hour), lat, lon, 10), reasonNone},
		{"gps week rollover", ping(testNow.AddDate(-19, -8, 0), lat, lon, 10), reasonTooOld},
		{"low accuracy", ping(testNow, lat, lon, 501), reasonLowAccuracy},
		{"accuracy at bound ok", ping(testNow, lat, lon, 500), reasonNone},
		{"unknown accuracy ok", ping(testNow, lat, lon, 0), reasonNone},
	}
	for _, c := range cases {
		var st devState // each case on a fresh device: no duplicate or jump history
		if got := f.check(&st, &c.p, testNow, cfg.MaxSpeed); got.reason != c.want {
			t.Errorf("%s: %v, want %v", c.name, got.reason, c.want)
		}
	}
}

func TestFilterDuplicates(t *testing.T) {
	f, cfg := newTestFilter()
	var st devState
	p := ping(testNow, 21.4133, 39.8933, 10)
	if v := f.check(&st, &p, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatal(v.reason)
	}
	dup := p
	dup.Battery = 50 // same fix, re-encoded by the client: still the same fix
	if v := f.check(&st, &dup, testNow, cfg.MaxSpeed); v.reason != reasonDuplicate {
		t.Fatalf("exact resend: %v", v.reason)
	}
	moved := ping(testNow, north(21.4133, 5), 39.8933, 10) // same instant, another place
	if v := f.check(&st, &moved, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatalf("same time other place: %v", v.reason)
	}
	later := ping(testNow.Add(time.Millisecond), 21.4133, 39.8933, 10)
	if v := f.check(&st, &later, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatalf("one ms later: %v", v.reason)
	}
	// Still a duplicate after a few more fixes (the history holds 4).
	for i := 1; i <= 2; i++ {
		q := ping(testNow.Add(time.Duration(i)*time.Second), 21.4133, 39.8933, 10)
		f.check(&st, &q, testNow, cfg.MaxSpeed)
	}
	if v := f.check(&st, &moved, testNow, cfg.MaxSpeed); v.reason != reasonDuplicate {
		t.Fatalf("older resend: %v", v.reason)
	}
}

func TestFilterJump(t *testing.T) {
	f, cfg := newTestFilter()
	const lat, lon = 21.4133, 39.8933
	var st devState
	steps := []struct {
		name string
		p    dalil.Position
		want reason
	}{
		{"start", ping(testNow, lat, lon, 10), reasonNone},
		{"walk 80 m in 60 s", ping(testNow.Add(time.Minute), north(lat, 80), lon, 10), reasonNone},
		{"bus 1.2 km in 60 s", ping(testNow.Add(2*time.Minute), north(lat, 1280), lon, 10), reasonNone},
		{"jitter 120 m in 1 s", ping(testNow.Add(2*time.Minute+time.Second), north(lat, 1400), lon, 10), reasonNone},
		{"2 km in 10 s", ping(testNow.Add(2*time.Minute+11*time.Second), north(lat, 3400), lon, 10), reasonJump},
		{"back on track", ping(testNow.Add(2*time.Minute+20*time.Second), north(lat, 1450), lon, 10), reasonNone},
	}
	for _, s := range steps {
		if v := f.check(&st, &s.p, testNow.Add(time.Hour), cfg.MaxSpeed); v.reason != s.want {
			t.Errorf("%s: %v, want %v", s.name, v.reason, s.want)
		}
	}
	// A coarse fix may be far off and still plausible: its radius is granted.
	coarse := ping(testNow.Add(2*time.Minute+21*time.Second), north(lat, 1450+400), lon, 400)
	if v := f.check(&st, &coarse, testNow.Add(time.Hour), cfg.MaxSpeed); v.reason != reasonNone {
		t.Errorf("coarse fix: %v", v.reason)
	}
}

// A phone offline for an hour flushes its buffer oldest first after the live
// position moved on: every buffered fix is compared with its neighbour in
// time, not with the newest fix, and all are accepted.
func TestFilterOutOfOrderFlushAccepted(t *testing.T) {
	f, cfg := newTestFilter()
	const lat, lon = 21.4133, 39.8933
	var st devState
	// The live position at 10:00, 9 km away from where the trip began.
	live := ping(testNow.Add(time.Hour), north(lat, 9000), lon, 10)
	if v := f.check(&st, &live, testNow.Add(time.Hour), cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatal(v.reason)
	}
	// The buffer: a bus ride of 9 km between 9:00 and 9:55, one fix every 5 min.
	for i := 0; i <= 11; i++ {
		p := ping(testNow.Add(time.Duration(i)*5*time.Minute), north(lat, float64(i)*800), lon, 15)
		if v := f.check(&st, &p, testNow.Add(time.Hour), cfg.MaxSpeed); v.reason != reasonNone {
			t.Fatalf("buffered fix %d (%v): %v", i, p.Time, v.reason)
		}
	}
	// A buffered fix that really is a jump is still caught: 5 km off the
	// buffered fix 30 s before it (the live fix is 4.5 min away, and would
	// have allowed it).
	bad := ping(testNow.Add(55*time.Minute+30*time.Second), north(lat, 8800), lon+0.05, 10)
	if v := f.check(&st, &bad, testNow.Add(time.Hour), cfg.MaxSpeed); v.reason != reasonJump {
		t.Fatalf("jump inside the buffer: %v", v.reason)
	}
}

// If the first fix after power-on was the outlier, two later fixes that
// agree with each other outvote it.
func TestFilterOutlierFirstRecovers(t *testing.T) {
	f, cfg := newTestFilter()
	const lat, lon = 21.4133, 39.8933
	var st devState
	outlier := ping(testNow, north(lat, 5000), lon, 20)
	if v := f.check(&st, &outlier, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatal(v.reason)
	}
	r1 := ping(testNow.Add(10*time.Second), lat, lon, 10)
	if v := f.check(&st, &r1, testNow, cfg.MaxSpeed); v.reason != reasonJump {
		t.Fatalf("first true fix: %v, want jump (the history is the outlier)", v.reason)
	}
	// The same fix resent does not confirm itself.
	if v := f.check(&st, &r1, testNow, cfg.MaxSpeed); v.reason != reasonJump || !v.resent {
		t.Fatalf("resent fix: %+v", v)
	}
	r2 := ping(testNow.Add(20*time.Second), north(lat, 10), lon, 10)
	if v := f.check(&st, &r2, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatalf("second agreeing fix: %v, want accepted", v.reason)
	}
	r3 := ping(testNow.Add(30*time.Second), north(lat, 20), lon, 10)
	if v := f.check(&st, &r3, testNow, cfg.MaxSpeed); v.reason != reasonNone {
		t.Fatalf("third fix after recovery: %v", v.reason)
	}
}

// Luggage flies: a tag seen in Dhaka then in Jeddah 6 hours later is fine,
// a phone doing 300 km/h across Mina is not.
func TestFilterLuggageSpeed(t *testing.T) {
	rg := newRig(t)
	body := `{"ts":"2025-06-04T21:00:00Z","lat":23.8433,"lon":90.3978}` + "\n" + // Dhaka airport
		`{"ts":"2025-06-05T03:00:00Z","lat":21.6796,"lon":39.1565}` // Jeddah airport, ~5,000 km later
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tokL")...)
	if a := decodeAnswer(t, rec.Body.Bytes()); a.Accepted != 2 {
		t.Fatalf("luggage flight: %+v", a)
	}
	rec = rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...)
	if a := decodeAnswer(t, rec.Body.Bytes()); a.Accepted != 1 || len(a.Rejected) != 1 || a.Rejected[0].Reason != "jump" {
		t.Fatalf("phone 'flight' (dev1 is a phone): %+v", a)
	}
}

// The filter keeps at most about FilterDevices devices.
func TestFilterBoundedMemory(t *testing.T) {
	f, cfg := newTestFilter(func(c *Config) { c.FilterDevices = numShards * 2 * 20 })
	for i := range 20000 {
		dev := "dev-" + strconv.Itoa(i)
		st := f.load(dev)
		p := ping(testNow, 21.4, 39.9, 10)
		f.check(&st, &p, testNow, cfg.MaxSpeed)
		f.store(dev, &st)
	}
	if n := f.devices(); n > cfg.FilterDevices+numShards || n < cfg.FilterDevices/4 {
		t.Fatalf("filter holds %d devices, want about %d", n, cfg.FilterDevices)
	}
	// A device stored just now is remembered.
	st := f.load("dev-19999")
	if st.n != 1 {
		t.Fatalf("recent device forgotten: %+v", st)
	}
}

// Many requests at once, for many devices and for the same device, under
// the race detector: nothing is lost, duplicates are recognised across
// requests, and the sink sees each accepted ping once.
func TestConcurrentIngest(t *testing.T) {
	rg := newRig(t)
	devs := fakeDevices{}
	auth := &fakeAuth{tokens: map[string]string{}}
	for i := range 32 {
		id := "c" + strconv.Itoa(i)
		devs[id] = dalil.Device{ID: id, Kind: dalil.DevicePhone}
		auth.tokens["t"+id] = id
	}
	rg.h = NewHandler(rg.h.cfg, rg.sink, devs, auth, NewMetrics(rg.reg), nil)
	mux := http.NewServeMux()
	rg.h.Register(mux)
	rg.mux = mux

	var wg sync.WaitGroup
	for i := range 32 {
		for copy := range 2 { // each device's batch sent twice, concurrently
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := "c" + strconv.Itoa(i)
				var body []byte
				for k := range 20 {
					body = append(body, nativePing("", testNow.Add(time.Duration(k-20)*time.Second), 21.41+float64(k)*1e-5)...)
					body = append(body, '\n')
				}
				_ = copy
				rec := rg.do("POST", "/v1/pings", "application/x-ndjson", string(body), bearer("t"+id)...)
				if rec.Code != 200 {
					t.Errorf("status %d", rec.Code)
				}
			}()
		}
	}
	wg.Wait()
	stored := map[string]int{}
	for _, p := range rg.sink.all() {
		stored[p.Device+p.Time.String()]++
	}
	if len(stored) != 32*20 {
		t.Fatalf("%d distinct pings stored, want %d", len(stored), 32*20)
	}
	acc := rg.counter("dalil_pings_accepted_total", "protocol", "native")
	dup := rg.counter("dalil_pings_rejected_total", "reason", "duplicate")
	if acc+dup != 2*32*20 || acc < 32*20 {
		t.Fatalf("accepted %v + duplicate %v, want %d in all and every ping accepted at least once", acc, dup, 2*32*20)
	}
}
