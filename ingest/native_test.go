package ingest

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil"
)

type batchAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index  int    `json:"index"`
		Reason string `json:"reason"`
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"rejected"`
}

func decodeAnswer(t *testing.T, body []byte) batchAnswer {
	t.Helper()
	var a batchAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return a
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func nativePing(device string, ts time.Time, lat float64) string {
	dev := ""
	if device != "" {
		dev = `"device":"` + device + `",`
	}
	return `{` + dev + `"ts":"` + ts.Format(time.RFC3339Nano) + `","lat":` + ftoa(lat) +
		`,"lon":39.8933,"acc":9,"speed":1.3,"heading":45,"batt":77}`
}

func TestNativeNDJSONAndArray(t *testing.T) {
	rg := newRig(t)
	t0 := testNow.Add(-10 * time.Minute)
	ndjson := nativePing("dev1", t0, 21.4133) + "\n" +
		`{"ts":` + itoa(t0.Add(time.Minute).UnixMilli()) + `,"lat":21.4134,"lon":39.8933}` + "\n\n" + // epoch ms, device omitted
		nativePing("dev2", t0.Add(2*time.Minute), 21.4135) + "\n" + // another device's ping
		nativePing("dev1", t0.Add(3*time.Minute), 21.4136) + "\n"
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", ndjson, bearer("tok1")...)
	wantStatus(t, rec, http.StatusOK)
	a := decodeAnswer(t, rec.Body.Bytes())
	if a.Accepted != 3 || len(a.Rejected) != 1 || a.Rejected[0].Index != 2 || a.Rejected[0].Reason != "wrong_device" {
		t.Fatalf("answer %+v", a)
	}
	got := rg.sink.all()
	if rg.sink.calls() != 1 || len(got) != 3 {
		t.Fatalf("sink calls %d pings %d, want 1 call with 3", rg.sink.calls(), len(got))
	}
	for _, p := range got {
		if p.Device != "dev1" || p.Source != dalil.SourceNative {
			t.Fatalf("stored %+v", p)
		}
	}
	if !got[1].Time.Equal(t0.Add(time.Minute).Truncate(time.Millisecond)) || got[1].Speed != dalil.Unknown {
		t.Errorf("epoch-ms ping %+v", got[1])
	}
	if p := got[0]; p.Accuracy != 9 || p.Speed != 1.3 || p.Heading != 45 || p.Battery != 77 || !p.Time.Equal(t0) {
		t.Errorf("fields %+v", p)
	}

	arr := "[" + nativePing("", t0.Add(4*time.Minute), 21.4137) + ",\n " + nativePing("dev1", t0.Add(5*time.Minute), 21.4138) + "]"
	rec = rg.do("POST", "/v1/pings", "application/json", arr, bearer("tok1")...)
	wantStatus(t, rec, http.StatusOK)
	if a := decodeAnswer(t, rec.Body.Bytes()); a.Accepted != 2 || len(a.Rejected) != 0 {
		t.Fatalf("array answer %+v", a)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", rec.Header().Get("Content-Type"))
	}
	if got := rg.counter("dalil_pings_accepted_total", "protocol", "native"); got != 5 {
		t.Errorf("accepted counter %v, want 5", got)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "wrong_device"); got != 1 {
		t.Errorf("wrong_device counter %v, want 1", got)
	}
	if got := rg.histogramCount("dalil_ingest_request_duration_seconds", "protocol", "native"); got != 2 {
		t.Errorf("latency samples %v, want 2", got)
	}
}

func TestNativeAuth(t *testing.T) {
	rg := newRig(t)
	body := nativePing("dev1", testNow, 21.4133)
	for _, h := range [][]string{nil, bearer("nope"), {"Authorization", "Basic dG9rMTp4"}, {"Authorization", "Bearer "}} {
		rec := rg.do("POST", "/v1/pings", "application/x-ndjson", body, h...)
		wantStatus(t, rec, http.StatusUnauthorized)
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
	// The scheme is case-insensitive.
	wantStatus(t, rg.do("POST", "/v1/pings", "application/x-ndjson", body, "Authorization", "bearer tok1"), http.StatusOK)
	if got := rg.counter("dalil_pings_rejected_total", "reason", "unauthorized"); got != 4 {
		t.Errorf("unauthorized counted %v, want 4", got)
	}
	// A token store that is down is not the device's fault: 503.
	rg.h.auth.(*fakeAuth).err = dalil.ErrUnavailable
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...)
	wantStatus(t, rec, http.StatusServiceUnavailable)
	// Without a TokenAuth nobody gets in.
	h := NewHandler(DefaultConfig(), rg.sink, devicesOf("dev1"), nil, nil, nil)
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptestRequest("POST", "/v1/pings", body)
	req.Header.Set("Authorization", "Bearer tok1")
	wantStatus(t, serve(mux, req), http.StatusUnauthorized)
}

func TestNativeBadInput(t *testing.T) {
	rg := newRig(t)
	t0 := testNow.Add(-time.Minute)
	// NDJSON: a broken line faults only itself.
	body := nativePing("", t0, 21.4133) + "\n" +
		`{"ts":"2025-06-05T08:59:10Z","lat":21.41` + "\n" +
		`{"ts":"2025-06-05T08:59:20Z","lon":39.89}` + "\n" +
		`{"ts":"not a time","lat":21.4,"lon":39.89}` + "\n" +
		`{"ts":"2025-06-05T08:59:30Z","lat":"21.4135","lon":39.8933,"acc":"x"}` + "\n" +
		`[1,2]` + "\n" +
		`{"lat":21.4,"lon":39.89}` + "\n" +
		nativePing("", t0.Add(30*time.Second), 21.4136) + "\n"
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...)
	wantStatus(t, rec, http.StatusOK)
	a := decodeAnswer(t, rec.Body.Bytes())
	want := map[int]string{1: "malformed", 2: "malformed", 3: "malformed", 4: "malformed", 5: "malformed", 6: "malformed"}
	if a.Accepted != 2 || len(a.Rejected) != len(want) {
		t.Fatalf("answer %+v", a)
	}
	fields := map[int]string{2: "lat", 3: "ts", 4: "acc", 6: "ts"}
	for _, r := range a.Rejected {
		if want[r.Index] != r.Reason || r.Field != fields[r.Index] || r.Detail == "" {
			t.Errorf("rejected %+v, want reason %q field %q", r, want[r.Index], fields[r.Index])
		}
	}

	// An array with a syntax error stores nothing and names the item.
	arr := "[" + nativePing("", t0.Add(40*time.Second), 21.4137) + "," + `{"ts":"2025-06-05T08:59:50Z" "lat":1}]`
	rec = rg.do("POST", "/v1/pings", "application/json", arr, bearer("tok1")...)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "item 1") {
		t.Fatalf("array syntax: %d %q", rec.Code, rec.Body.String())
	}
	if n := len(rg.sink.all()); n != 2 {
		t.Fatalf("sink has %d pings, want the 2 of the first request", n)
	}
}

func TestNativeLimits(t *testing.T) {
	rg := newRig(t, func(c *Config) { c.MaxBatch = 3; c.MaxBodyBytes = 1000 })
	var b strings.Builder
	for i := range 4 {
		b.WriteString(nativePing("", testNow.Add(time.Duration(-i)*time.Second), 21.4133) + "\n")
	}
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", b.String(), bearer("tok1")...)
	wantStatus(t, rec, http.StatusRequestEntityTooLarge)
	rec = rg.do("POST", "/v1/pings", "application/json", "["+strings.Repeat(nativePing("", testNow, 21.4)+",", 3)+nativePing("", testNow, 21.4)+"]", bearer("tok1")...)
	wantStatus(t, rec, http.StatusRequestEntityTooLarge)
	rec = rg.do("POST", "/v1/pings", "application/x-ndjson", strings.Repeat(" ", 1001), bearer("tok1")...)
	wantStatus(t, rec, http.StatusRequestEntityTooLarge)
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("sink got %d pings", n)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "too_large"); got != 3 {
		t.Errorf("too_large counted %v, want 3", got)
	}
}

// The sink is called once per request; only its nil answers success. A
// failed request commits no filter state, so the resend is stored, not
// refused as a duplicate.
func TestSinkErrors(t *testing.T) {
	rg := newRig(t)
	body := nativePing("", testNow, 21.4133) + "\n" + nativePing("", testNow.Add(-time.Second), 21.41331) + "\n"

	rg.sink.setErr(errorsJoin("disk full", dalil.ErrUnavailable))
	rec := rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...)
	wantStatus(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q, want 5", rec.Header().Get("Retry-After"))
	}
	osm := "/ingest/osmand?id=dev2&lat=21.4&lon=39.9&timestamp=" + itoa(testNow.Unix())
	wantStatus(t, rg.do("POST", osm, "", ""), http.StatusServiceUnavailable)
	rg.sink.setErr(errorsJoin("bug", nil))
	wantStatus(t, rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...), http.StatusInternalServerError)
	if got := rg.counter("dalil_ingest_sink_errors_total", "kind", "unavailable"); got != 2 {
		t.Errorf("unavailable counted %v, want 2", got)
	}
	if got := rg.counter("dalil_pings_accepted_total", "protocol", "native"); got != 0 {
		t.Errorf("accepted %v before the sink stored anything", got)
	}

	rg.sink.setErr(nil)
	rec = rg.do("POST", "/v1/pings", "application/x-ndjson", body, bearer("tok1")...)
	wantStatus(t, rec, http.StatusOK)
	if a := decodeAnswer(t, rec.Body.Bytes()); a.Accepted != 2 {
		t.Fatalf("resend after 503: %+v", a)
	}
	wantStatus(t, rg.do("POST", osm, "", ""), http.StatusOK)
	if rg.sink.calls() != 2 || len(rg.sink.all()) != 3 {
		t.Fatalf("sink calls %d pings %d", rg.sink.calls(), len(rg.sink.all()))
	}
}

// A zero Config is still safe: body limits fall back to the defaults
// instead of refusing every body, and the filters that are off let pings by.
func TestZeroConfig(t *testing.T) {
	sink := &fakeSink{}
	h := NewHandler(Config{}, sink, devicesOf("dev1"), &fakeAuth{tokens: map[string]string{"tok1": "dev1"}}, nil, nil)
	mux := http.NewServeMux()
	h.Register(mux)
	old := time.Now().Add(-30 * 24 * time.Hour).UTC()
	req := httptestRequest("POST", "/v1/pings", nativePing("", old, 21.4133))
	req.Header.Set("Authorization", "Bearer tok1")
	rec := serve(mux, req)
	wantStatus(t, rec, http.StatusOK)
	if a := decodeAnswer(t, rec.Body.Bytes()); a.Accepted != 1 {
		t.Fatalf("answer %+v", a)
	}
	req = httptestRequest("POST", "/v1/pings", strings.Repeat(" ", 5<<20))
	req.Header.Set("Authorization", "Bearer tok1")
	wantStatus(t, serve(mux, req), http.StatusRequestEntityTooLarge)
}

// When the store is down every request fails; the log gets one line per
// second, not one per request.
func TestSinkErrorLogRateLimited(t *testing.T) {
	var logs strings.Builder
	sink := &fakeSink{err: dalil.ErrUnavailable}
	h := NewHandler(DefaultConfig(), sink, devicesOf("dev1"), &fakeAuth{tokens: map[string]string{"tok1": "dev1"}}, nil,
		slog.New(slog.NewTextHandler(&logs, nil)))
	mux := http.NewServeMux()
	h.Register(mux)
	for i := range 20 {
		req := httptestRequest("POST", "/v1/pings", nativePing("", time.Now().Add(time.Duration(-i)*time.Second), 21.4133))
		req.Header.Set("Authorization", "Bearer tok1")
		wantStatus(t, serve(mux, req), http.StatusServiceUnavailable)
	}
	if n := strings.Count(logs.String(), "sink failed"); n != 1 {
		t.Fatalf("%d log lines for 20 failures in under a second:\n%s", n, logs.String())
	}
}
