package ingest

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dalil"

	"github.com/prometheus/client_golang/prometheus"
)

// requireToken is the secure default: devices must prove themselves.
func requireToken(c *Config) { c.OpenIngest = false }

// traccarQuery is what Traccar Client for Android (ProtocolFormatter) sends
// for one fix: it takes the configured server URL, keeps its query string
// and appends its own fields (Uri.buildUpon().appendQueryParameter).
func traccarQuery(serverQuery, id string, ts int64) string {
	q := "id=" + id + "&timestamp=" + itoa(ts) +
		"&lat=21.4133&lon=39.8933&speed=0.0&bearing=0.0&altitude=412.0&accuracy=12.0&batt=87.0"
	if serverQuery != "" {
		return "?" + serverQuery + "&" + q
	}
	return "?" + q
}

func traccar9JSON(id string, ts time.Time) string {
	return `{"location":{"timestamp":"` + ts.UTC().Format("2006-01-02T15:04:05.000Z") + `","coords":{"latitude":21.4133,` +
		`"longitude":39.8933,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,` +
		`"event":"motionchange","battery":{"level":0.8,"is_charging":false},"activity":{"type":"still"},"extras":{}},` +
		`"device_id":"` + id + `"}`
}

// With RequireDeviceToken, each way an OsmAnd-protocol client can carry the
// token is accepted when it is the token of the device it names.
func TestOsmAndTokenAccepted(t *testing.T) {
	ts := testNow.Add(-time.Minute).Unix()
	cases := []struct {
		name         string
		method, path string
		contentType  string
		body         string
		headers      []string
		throughRoot  bool // on the OsmAnd port (Traccar's 5055), any path
	}{
		// Server URL http://host:5055/?token=tok1 in Traccar Client for Android.
		{name: "Traccar Client URL with ?token=", method: "POST", path: "/" + traccarQuery("token=tok1", "dev1", ts), throughRoot: true},
		// Server URL http://host:5055?token=tok1 (no slash): the same request line.
		{name: "token after the fields", method: "GET", path: "/" + traccarQuery("", "dev1", ts) + "&token=tok1", throughRoot: true},
		{name: "ingest path with ?token=", method: "POST", path: "/ingest/osmand" + traccarQuery("token=tok1", "dev1", ts)},
		{name: "form body field", method: "POST", path: "/ingest/osmand", contentType: "application/x-www-form-urlencoded",
			body: "id=dev1&timestamp=" + itoa(ts) + "&lat=21.4133&lon=39.8933&token=tok1"},
		{name: "Authorization: Bearer", method: "GET", path: "/ingest/osmand" + traccarQuery("", "dev1", ts),
			headers: []string{"Authorization", "Bearer tok1"}},
		// Traccar Client 9 posts its JSON to the configured URL, query string and all.
		{name: "Traccar Client 9 JSON, URL with ?token=", method: "POST", path: "/?token=tok1", throughRoot: true,
			contentType: "application/json", body: traccar9JSON("dev1", time.Unix(ts, 0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(t, requireToken)
			req := httptestRequest(c.method, c.path, c.body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			for i := 0; i+1 < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			var h http.Handler = rg.mux
			if c.throughRoot {
				h = rg.h.OsmAndRoot()
			}
			wantStatus(t, serve(h, req), http.StatusOK)
			got := rg.sink.all()
			if len(got) != 1 || got[0].Device != "dev1" || got[0].Lat != 21.4133 {
				t.Fatalf("stored %+v, want one ping of dev1", got)
			}
		})
	}
}

// By default: no token, a bad one or an id that is not an enrolled id is
// 401 with the one refusal, another device's token is 403, and nothing is
// stored.
func TestOsmAndTokenRefused(t *testing.T) {
	ts := testNow.Add(-time.Minute).Unix()
	cases := []struct {
		name        string
		path        string
		contentType string
		body        string
		headers     []string
		status      int
		want        string // in the answer
	}{
		{"no token", "/" + traccarQuery("", "dev1", ts), "", "", nil, http.StatusUnauthorized, notProven},
		{"empty token", "/" + traccarQuery("token=", "dev1", ts), "", "", nil, http.StatusUnauthorized, notProven},
		{"unknown token", "/" + traccarQuery("token=guess", "dev1", ts), "", "", nil, http.StatusUnauthorized, notProven},
		{"unknown bearer", "/" + traccarQuery("", "dev1", ts), "", "", []string{"Authorization", "Bearer guess"},
			http.StatusUnauthorized, notProven},
		// A bearer header is what counts when both are given.
		{"bad bearer beats good query token", "/" + traccarQuery("token=tok1", "dev1", ts), "", "",
			[]string{"Authorization", "Bearer guess"}, http.StatusUnauthorized, notProven},
		{"no token, JSON", "/", "application/json", traccar9JSON("dev1", time.Unix(ts, 0)), nil,
			http.StatusUnauthorized, notProven},
		// Nothing decoded, so no id to prove: the syntax error is the answer.
		{"no token, malformed JSON", "/", "application/json", `{"location":`, nil,
			http.StatusBadRequest, "malformed"},
		{"another device's token", "/" + traccarQuery("token=tok2", "dev1", ts), "", "", nil,
			http.StatusForbidden, "wrong_device: the token belongs to another device"},
		{"another device's token in the form", "/", "application/x-www-form-urlencoded",
			"id=dev1&timestamp=" + itoa(ts) + "&lat=21.4133&lon=39.8933&token=tok2", nil, http.StatusForbidden, "wrong_device"},
		{"another device's token, JSON", "/?token=tok2", "application/json", traccar9JSON("dev1", time.Unix(ts, 0)), nil,
			http.StatusForbidden, "wrong_device"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(t, requireToken)
			req := httptestRequest("POST", c.path, c.body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			for i := 0; i+1 < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			rec := serve(rg.h.OsmAndRoot(), req)
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.want) {
				t.Errorf("answer %q, want it to contain %q", rec.Body.String(), c.want)
			}
			if c.status == http.StatusUnauthorized {
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if n := rg.counter("dalil_pings_rejected_total", "reason", "unauthorized"); n != 1 {
					t.Errorf("unauthorized counted %v times, want 1", n)
				}
			} else if c.status == http.StatusForbidden && rg.counter("dalil_pings_rejected_total", "reason", "wrong_device") != 1 {
				t.Errorf("wrong_device not counted once")
			}
			if n := len(rg.sink.all()); n != 0 {
				t.Fatalf("stored %d pings", n)
			}
		})
	}
}

// Without RequireDeviceToken the id alone still works (stock Traccar
// Client), but a token that is given must be valid and the device's own.
func TestOsmAndTokenOptional(t *testing.T) {
	ts := testNow.Add(-time.Minute).Unix()
	rg := newRig(t)
	wantStatus(t, rg.do("POST", "/ingest/osmand"+traccarQuery("", "dev1", ts), "", ""), http.StatusOK)
	wantStatus(t, rg.do("POST", "/ingest/osmand"+traccarQuery("token=tok2", "dev2", ts), "", ""), http.StatusOK)
	wantStatus(t, rg.do("POST", "/ingest/osmand"+traccarQuery("token=guess", "dev1", ts+1), "", ""), http.StatusUnauthorized)
	wantStatus(t, rg.do("POST", "/ingest/osmand"+traccarQuery("token=tok2", "dev1", ts+2), "", ""), http.StatusForbidden)
	if got := rg.sink.all(); len(got) != 2 || got[0].Device != "dev1" || got[1].Device != "dev2" {
		t.Fatalf("stored %+v", got)
	}
}

// A token store that is down answers 503 (the client retries), not 401.
func TestDeviceTokenStoreUnavailable(t *testing.T) {
	rg := newRig(t, requireToken)
	rg.h.auth.(*fakeAuth).err = errorsJoin("token store down", dalil.ErrUnavailable)
	rec := serve(rg.h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token=tok1", "dev1", testNow.Unix()), ""))
	wantStatus(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	req := httptestRequest("POST", "/pub", ownTracksLocation(testNow.Unix(), "21.4133"))
	req.SetBasicAuth("ali", "tok1")
	wantStatus(t, serve(rg.mux, req), http.StatusServiceUnavailable)
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("stored %d pings", n)
	}
}

// ownTracksRequest is the request OwnTracks (HTTP mode) sends with
// Identification > UserID, Password and DeviceID set.
func ownTracksRequest(user, device, password, body string) *http.Request {
	req := httptestRequest("POST", "/pub", body)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Limit-U", user)
	req.Header.Set("X-Limit-D", device)
	if password != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	return req
}

func TestOwnTracksTokenRequired(t *testing.T) {
	loc := ownTracksLocation(testNow.Add(-time.Minute).Unix(), "21.4133")
	newRigAli := func(t *testing.T) *rig {
		rg := newRig(t, requireToken)
		rg.h.auth.(*fakeAuth).tokens["tokAli"] = "ali/phone"
		return rg
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		want   string // in the answer
		stored string // device stored, "" = nothing
	}{
		{"token of the named device", func() *http.Request { return ownTracksRequest("ali", "phone", "tokAli", loc) },
			http.StatusOK, "[]", "ali/phone"},
		{"token, user and device name nothing registered", func() *http.Request {
			return ownTracksRequest("ali", "tablet", "tok1", loc)
		}, http.StatusOK, "[]", "dev1"},
		{"no password", func() *http.Request { return ownTracksRequest("ali", "phone", "", loc) },
			http.StatusUnauthorized, notProven, ""},
		{"user but empty password", func() *http.Request {
			req := ownTracksRequest("ali", "phone", "", loc)
			req.SetBasicAuth("ali", "")
			return req
		}, http.StatusUnauthorized, notProven, ""},
		{"no password, non-location message", func() *http.Request {
			return ownTracksRequest("ali", "phone", "", `{"_type":"lwt","tst":1749113940}`)
		}, http.StatusUnauthorized, notProven, ""},
		{"wrong password", func() *http.Request { return ownTracksRequest("ali", "phone", "guess", loc) },
			http.StatusUnauthorized, notProven, ""},
		{"another device's token", func() *http.Request { return ownTracksRequest("ali", "phone", "tok2", loc) },
			http.StatusForbidden, "wrong_device: the token belongs to another device", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRigAli(t)
			rec := serve(rg.mux, c.req())
			wantStatus(t, rec, c.status)
			if !strings.Contains(rec.Body.String(), c.want) {
				t.Errorf("answer %q, want it to contain %q", rec.Body.String(), c.want)
			}
			if c.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") != `Basic realm="dalil"` &&
				!strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Basic realm="dalil",`) {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
			got := rg.sink.all()
			switch {
			case c.stored == "" && len(got) != 0:
				t.Fatalf("stored %+v", got)
			case c.stored != "" && (len(got) != 1 || got[0].Device != c.stored):
				t.Fatalf("stored %+v, want one ping of %s", got, c.stored)
			}
		})
	}
}

// RequireDeviceToken without a token store cannot check anything: every
// OsmAnd and OwnTracks request is refused rather than let through.
func TestRequireDeviceTokenWithoutTokenAuth(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OpenIngest = false
	cfg.Now = func() time.Time { return testNow }
	sink := &fakeSink{}
	h := NewHandler(cfg, sink, devicesOf("dev1"), nil, nil, nil)
	wantStatus(t, serve(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token=tok1", "dev1", testNow.Unix()), "")),
		http.StatusUnauthorized)
	mux := http.NewServeMux()
	h.Register(mux)
	wantStatus(t, serve(mux, ownTracksRequest("dev1", "phone", "tok1", ownTracksLocation(testNow.Unix(), "21.4133"))),
		http.StatusUnauthorized)
	if n := len(sink.all()); n != 0 {
		t.Fatalf("stored %d pings", n)
	}
}

// A device token is a secret: whatever happens to the request — stored,
// refused by a filter, refused for a wrong or bad token, failed at the
// sink — it never reaches the log or an answer.
func TestDeviceTokenNeverLogged(t *testing.T) {
	const secret, wrong = "s3cretTOKENdev1xyz", "s3cretWRONGtoken"
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.OpenIngest = false
	cfg.Now = func() time.Time { return testNow }
	sink := &fakeSink{}
	auth := &fakeAuth{tokens: map[string]string{secret: "dev1"}}
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewHandler(cfg, sink, devicesOf("dev1", "dev2"), auth, NewMetrics(prometheus.NewRegistry()), log)
	mux := http.NewServeMux()
	h.Register(mux)

	var answers strings.Builder
	send := func(hd http.Handler, req *http.Request) {
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, req)
		answers.WriteString(rec.Body.String())
		for _, vs := range rec.Header() {
			answers.WriteString(strings.Join(vs, " "))
		}
	}
	ts := testNow.Add(-time.Minute).Unix()
	future := testNow.Add(time.Hour).Unix()
	for _, tok := range []string{secret, wrong} {
		send(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token="+tok, "dev1", ts), ""))
		send(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token="+tok, "dev1", future), "")) // filter: future
		send(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token="+tok, "dev2", ts), ""))     // 403
		send(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token="+tok, "dev1", ts)+"&lat=x", ""))
		req := httptestRequest("POST", "/?token="+tok, traccar9JSON("dev1", testNow.Add(time.Hour)))
		send(h.OsmAndRoot(), req)
		send(mux, ownTracksRequest("dev1", "phone", tok, ownTracksLocation(future, "21.4133")))
		send(mux, ownTracksRequest("dev2", "phone", tok, ownTracksLocation(ts, "21.4133")))
	}
	sink.setErr(errorsJoin("disk full", nil))
	send(h.OsmAndRoot(), httptestRequest("POST", "/"+traccarQuery("token="+secret, "dev1", ts+5), ""))

	if logs.Len() == 0 || !strings.Contains(logs.String(), "ping rejected") || !strings.Contains(logs.String(), "sink failed") {
		t.Fatalf("the requests should have logged refusals and the sink failure; log:\n%s", logs.String())
	}
	for _, tok := range []string{secret, wrong} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("token %q in the log:\n%s", tok, logs.String())
		}
		if strings.Contains(answers.String(), tok) {
			t.Errorf("token %q in an answer:\n%s", tok, answers.String())
		}
	}
}
