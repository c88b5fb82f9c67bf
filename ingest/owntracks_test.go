package ingest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil"
)

// ownTracksLocation is what OwnTracks for Android posts in HTTP mode.
func ownTracksLocation(tst int64, lat string) string {
	return `{"_type":"location","BSSID":"aa:bb:cc:dd:ee:ff","SSID":"MinaCamp","acc":14,"alt":412,"batt":81,"bs":1,` +
		`"conn":"w","created_at":` + itoa(tst+2) + `,"lat":` + lat + `,"lon":39.8933,"m":1,"t":"u","tid":"ph",` +
		`"tst":` + itoa(tst) + `,"vac":3,"vel":18,"cog":270,"topic":"owntracks/ali/phone"}`
}

func TestOwnTracksLocation(t *testing.T) {
	rg := newRig(t)
	tst := testNow.Add(-20 * time.Second).Unix()
	for _, path := range []string{"/ingest/owntracks", "/pub"} {
		tst++
		rec := rg.do("POST", path, "application/json", ownTracksLocation(tst, "21.4133"),
			"X-Limit-U", "ali", "X-Limit-D", "phone")
		wantStatus(t, rec, http.StatusOK)
		if rec.Body.String() != "[]" || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: answer %q (%s), want [] as application/json", path, rec.Body.String(), rec.Header().Get("Content-Type"))
		}
	}
	got := rg.sink.all()
	if len(got) != 2 {
		t.Fatalf("sink got %d pings, want 2", len(got))
	}
	p := got[1]
	if p.Device != "ali/phone" || p.Lat != 21.4133 || p.Lon != 39.8933 || !p.Time.Equal(time.Unix(tst, 0)) ||
		p.Source != dalil.SourceOwnTracks {
		t.Fatalf("ping %+v", p)
	}
	if p.Accuracy != 14 || p.Altitude != 412 || p.Battery != 81 || p.Heading != 270 || !near(float64(p.Speed), 5, 1e-6) {
		t.Errorf("optional fields %+v (vel 18 km/h = 5 m/s)", p)
	}
}

// OwnTracks for iOS sends -1 for an unknown vel and cog; zero-valued fields
// are omitted.
func TestOwnTracksIOSUnknowns(t *testing.T) {
	rg := newRig(t)
	body := `{"_type":"location","acc":65,"batt":56,"bs":1,"cog":-1,"conn":"m","lat":21.4133,"lon":39.8933,"m":2,"tid":"ip","tst":` +
		itoa(testNow.Unix()) + `,"vel":-1}`
	wantStatus(t, rg.do("POST", "/pub?u=ali&d=phone", "application/json", body), http.StatusOK)
	p := rg.sink.all()[0]
	if p.Speed != dalil.Unknown || p.Heading != dalil.Unknown || p.Altitude != dalil.Unknown {
		t.Fatalf("unknowns %+v", p)
	}
}

// Messages other than locations are accepted and ignored with [].
func TestOwnTracksOtherTypesIgnored(t *testing.T) {
	rg := newRig(t)
	for _, body := range []string{
		`{"_type":"transition","wtst":1717570000,"lat":21.4,"lon":39.9,"tst":1717570500,"acc":10,"tid":"ph","event":"enter","desc":"Camp 94","t":"c"}`,
		`{"_type":"waypoint","desc":"Camp 94","lat":21.4,"lon":39.9,"rad":100,"tst":1717570000}`,
		`{"_type":"lwt","tst":1717570000}`,
		`{"_type":"card","name":"Ali","face":"iVBORw0KGgo="}`,
		`{"_type":"status","android":{"hib":1,"bo":1,"loc":0}}`,
		`{"_type":"cmd","action":"reportLocation"}`,
	} {
		rec := rg.do("POST", "/ingest/owntracks", "application/json", body) // no identity at all
		wantStatus(t, rec, http.StatusOK)
		if rec.Body.String() != "[]" {
			t.Errorf("answer %q", rec.Body.String())
		}
	}
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("sink got %d pings from non-location messages", n)
	}
}

// Identity: headers, then ?u=&d=, then the basic-auth user; the registered
// id is the first of "u/d", d, u the registry knows.
func TestOwnTracksDeviceMapping(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	cases := []struct {
		name    string
		target  string
		headers []string
		want    string // registered device id, "" = 400 unknown
	}{
		{"u/d from headers", "/pub", []string{"X-Limit-U", "ali", "X-Limit-D", "phone"}, "ali/phone"},
		{"u/d beats d", "/pub", []string{"X-Limit-U", "ali", "X-Limit-D", "dev2"}, "dev2"},
		{"d alone", "/pub", []string{"X-Limit-U", "zaid", "X-Limit-D", "dev1"}, "dev1"},
		{"u alone", "/pub", []string{"X-Limit-U", "dev2", "X-Limit-D", "tablet"}, "dev2"},
		{"query", "/pub?u=ali&d=phone", nil, "ali/phone"},
		{"headers beat query", "/pub?u=x&d=y", []string{"X-Limit-U", "ali", "X-Limit-D", "phone"}, "ali/phone"},
		{"basic-auth user", "/pub?d=phone", []string{"Authorization", basic("ali", "")}, "ali/phone"},
		{"unknown", "/pub", []string{"X-Limit-U", "zaid", "X-Limit-D", "phone"}, ""},
		{"nothing", "/pub", nil, ""},
	}
	for _, c := range cases {
		rg := newRig(t)
		if c.name == "u/d beats d" {
			// both "ali/dev2" and "dev2" registered: the specific one wins
			rg.h.devices.(fakeDevices)["ali/dev2"] = dalil.Device{ID: "ali/dev2"}
			c.want = "ali/dev2"
		}
		rec := rg.do("POST", c.target, "application/json", ownTracksLocation(testNow.Unix(), "21.4133"), c.headers...)
		if c.want == "" {
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "unknown_device") {
				t.Errorf("%s: %d %q, want 400 unknown_device", c.name, rec.Code, rec.Body.String())
			}
			continue
		}
		wantStatus(t, rec, http.StatusOK)
		if got := rg.sink.all(); len(got) != 1 || got[0].Device != c.want {
			t.Errorf("%s: stored %+v, want device %q", c.name, got, c.want)
		}
	}
}

// A basic-auth password is the device's token: the token decides the device
// when the user and device name no other registered device.
func TestOwnTracksTokenPassword(t *testing.T) {
	rg := newRig(t)
	req := httptestRequest("POST", "/pub", ownTracksLocation(testNow.Unix(), "21.4133"))
	req.SetBasicAuth("whoever", "tok2")
	req.Header.Set("X-Limit-U", "whoever")
	req.Header.Set("X-Limit-D", "tablet")
	wantStatus(t, serve(rg.mux, req), http.StatusOK)
	if got := rg.sink.all(); len(got) != 1 || got[0].Device != "dev2" {
		t.Fatalf("stored %+v, want dev2", got)
	}
	req = httptestRequest("POST", "/pub", ownTracksLocation(testNow.Unix(), "21.4133"))
	req.SetBasicAuth("ali", "wrong")
	rec := serve(rg.mux, req)
	wantStatus(t, rec, http.StatusUnauthorized)
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestOwnTracksFilteredAndMalformed(t *testing.T) {
	rg := newRig(t)
	h := []string{"X-Limit-U", "ali", "X-Limit-D", "phone"}
	rec := rg.do("POST", "/pub", "application/json", ownTracksLocation(testNow.Add(time.Hour).Unix(), "21.4133"), h...)
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Body.String(), "future") {
		t.Fatalf("future fix: %d %q", rec.Code, rec.Body.String())
	}
	rec = rg.do("POST", "/pub", "application/json", `{"_type":"location","lat":21.4,"tst":`+itoa(testNow.Unix())+`}`, h...)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "lon: missing") {
		t.Fatalf("missing lon: %d %q", rec.Code, rec.Body.String())
	}
	rec = rg.do("POST", "/pub", "application/json", `{"_type":"location",`, h...)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "malformed") {
		t.Fatalf("truncated JSON: %d %q", rec.Code, rec.Body.String())
	}
	big := `{"_type":"location","x":"` + strings.Repeat("a", 300<<10) + `"}`
	wantStatus(t, rg.do("POST", "/pub", "application/json", big, h...), http.StatusRequestEntityTooLarge)
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("sink got %d pings", n)
	}
}
