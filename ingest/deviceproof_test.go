package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Traccar Client sends only an id: an enrolled device's id is its secret
// (a device token), and a fix sent under it is stored under the device it
// was enrolled for — over the query, the form and Traccar Client 9's JSON.
func TestOsmAndEnrolledIDProvesTheDevice(t *testing.T) {
	rg := newRig(t, requireToken)
	rg.h.auth.(*fakeAuth).tokens["dalil_enrolledSecret"] = "dev1"
	ts := testNow.Add(-time.Minute).Unix()
	wantStatus(t, rg.do("GET", "/ingest/osmand"+traccarQuery("", "dalil_enrolledSecret", ts), "", ""), http.StatusOK)
	wantStatus(t, rg.do("POST", "/ingest/osmand", "application/x-www-form-urlencoded",
		"id=dalil_enrolledSecret&timestamp="+itoa(ts+10)+"&lat=21.4134&lon=39.8933"), http.StatusOK)
	wantStatus(t, rg.do("POST", "/ingest/osmand", "application/json", traccar9JSON("dalil_enrolledSecret", time.Unix(ts+20, 0))), http.StatusOK)
	got := rg.sink.all()
	if len(got) != 3 {
		t.Fatalf("stored %d fixes, want 3", len(got))
	}
	for _, p := range got {
		if p.Device != "dev1" {
			t.Fatalf("stored under %q, want the enrolled device dev1 (never the secret)", p.Device)
		}
	}
	// The device's plain registered id is no proof.
	rec := rg.do("GET", "/ingest/osmand"+traccarQuery("", "dev1", ts+30), "", "")
	wantStatus(t, rec, http.StatusUnauthorized)
	if rec.Body.String() != notProven+"\n" {
		t.Errorf("answer %q", rec.Body.String())
	}
	if n := len(rg.sink.all()); n != 3 {
		t.Fatalf("stored %d fixes after the refusal", n)
	}
}

// Failed authentications spend the source address's budget; over it every
// request from that address is refused with 429 and Retry-After — even
// one with a valid token, so that guessing cannot go on behind the 429s —
// while other addresses are untouched, and the budget refills with time.
func TestAuthFailuresRateLimitedPerSource(t *testing.T) {
	rg := newRig(t, requireToken, func(c *Config) { c.AuthFailureBurst = 3; c.AuthFailureRate = 0.1 })
	ts := testNow.Add(-time.Minute).Unix()
	from := func(addr, query string) *httptest.ResponseRecorder {
		req := httptestRequest("GET", "/ingest/osmand"+query, "")
		req.RemoteAddr = addr
		return serve(rg.mux, req)
	}
	const stranger = "203.0.113.7:40000"
	for i := range 3 {
		wantStatus(t, from(stranger, traccarQuery("", "guess"+itoa(int64(i)), ts)), http.StatusUnauthorized)
	}
	rec := from(stranger, traccarQuery("token=tok1", "dev1", ts))
	wantStatus(t, rec, http.StatusTooManyRequests)
	if ra := rec.Header().Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After %q, want 10 (one failure at 0.1/s)", ra)
	}
	if !strings.HasPrefix(rec.Body.String(), "rate_limited:") {
		t.Errorf("answer %q", rec.Body.String())
	}
	// Native and OwnTracks share the budget.
	req := httptestRequest("POST", "/v1/pings", `{"device":"dev1"}`)
	req.RemoteAddr = stranger
	wantStatus(t, serve(rg.mux, req), http.StatusTooManyRequests)
	// The same IPv6 /64 is one source; another address is not limited.
	for i := range 3 {
		wantStatus(t, from("[2001:db8:1:2::"+itoa(int64(i+1))+"]:5000", traccarQuery("", "guess", ts)), http.StatusUnauthorized)
	}
	wantStatus(t, from("[2001:db8:1:2:ffff::9]:5000", traccarQuery("token=tok1", "dev1", ts)), http.StatusTooManyRequests)
	wantStatus(t, from("198.51.100.1:1234", traccarQuery("token=tok1", "dev1", ts)), http.StatusOK)
	if got := rg.counter("dalil_pings_rejected_total", "reason", "rate_limited"); got != 3 {
		t.Errorf("rate_limited counted %v, want 3", got)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "unauthorized"); got != 6 {
		t.Errorf("unauthorized counted %v, want 6", got)
	}
	// Ten seconds later one failure is back in the budget.
	rg.now = rg.now.Add(10 * time.Second)
	wantStatus(t, from(stranger, traccarQuery("token=tok1", "dev1", ts+1)), http.StatusOK)
	if n := len(rg.sink.all()); n != 2 {
		t.Fatalf("stored %d fixes, want the 2 proven ones", n)
	}
}

// Proven devices never spend the budget: a phone that sends and sends
// behind a shared address is never limited.
func TestProvenDevicesAreNotRateLimited(t *testing.T) {
	rg := newRig(t, requireToken, func(c *Config) { c.AuthFailureBurst = 2; c.AuthFailureRate = 0.001 })
	ts := testNow.Add(-time.Hour).Unix()
	for i := range 20 {
		req := httptestRequest("GET", "/ingest/osmand"+traccarQuery("token=tok1", "dev1", ts+int64(i)*60), "")
		req.RemoteAddr = "192.0.2.1:1"
		wantStatus(t, serve(rg.mux, req), http.StatusOK)
	}
}

// FuzzOsmAndSecure: with the secure default, whatever a client sends, a
// fix is stored only under the device whose enrolled id or token the
// request carried, and every refusal of an unproven device is the one
// answer.
func FuzzOsmAndSecure(f *testing.F) {
	ts := itoa(testNow.Unix())
	f.Add("id=dalil_enrolled&timestamp="+ts+"&lat=21.4133&lon=39.8933", "", "")
	f.Add("id=dev1&timestamp="+ts+"&lat=21.4133&lon=39.8933", "", "")
	f.Add("id=dev1&token=tok1&timestamp="+ts+"&lat=21.4133&lon=39.8933", "", "")
	f.Add("id=dev2&token=tok1&lat=21.4&lon=39.9", "", "")
	f.Add("", `{"location":{"timestamp":"2025-06-05T08:59:00Z","coords":{"latitude":21.41,"longitude":39.89}},"device_id":"dalil_enrolled"}`, "application/json")
	f.Add("", `[{"location":{"coords":{"latitude":21.41,"longitude":39.89}},"device_id":"dalil_enrolled"},{"device_id":"dev1","location":{"coords":{"latitude":21.41,"longitude":39.89}}}]`, "application/json")
	f.Add("", "id=dev1&lat=21.4&lon=39.9&timestamp="+ts, "application/x-www-form-urlencoded")
	sink := &fakeSink{}
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return testNow }
	cfg.AuthFailureRate = -1 // the fuzzer fails a lot; the limit has its own test
	auth := &fakeAuth{tokens: map[string]string{"tok1": "dev1", "dalil_enrolled": "dev1"}}
	h := NewHandler(cfg, sink, devicesOf("dev1", "dev2"), auth, nil, nil)
	f.Fuzz(func(t *testing.T, query, body, ctype string) {
		before := len(sink.all())
		req := fuzzRequest("POST", "/ingest/osmand", query, body)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.serveOsmAnd(rec, req)
		stored := sink.all()[before:]
		proof := strings.Contains(query+body, "dalil_enrolled") || strings.Contains(query+body, "tok1")
		for _, p := range stored {
			if p.Device != "dev1" || !proof {
				t.Fatalf("stored %+v from an unproven request %q %q", p, query, body)
			}
		}
		if rec.Code == http.StatusUnauthorized && (rec.Body.String() != notProven+"\n" || rec.Header().Get("WWW-Authenticate") != challengeBearer) {
			t.Fatalf("a different refusal: %q %q", rec.Body.String(), rec.Header().Get("WWW-Authenticate"))
		}
	})
}
