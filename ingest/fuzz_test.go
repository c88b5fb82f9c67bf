package ingest

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"dalil"
)

// fuzzRig is one handler shared by all fuzz iterations (building a handler
// per input would dominate the run).
func fuzzRig(t testing.TB) (*Handler, *fakeSink) {
	sink := &fakeSink{}
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return testNow }
	cfg.OpenIngest = true // devices named by id, so that fuzzed input reaches the decoders and filters
	devs := devicesOf("dev1", "48241179", "ali/phone", "phone")
	auth := &fakeAuth{tokens: map[string]string{"tok1": "dev1"}}
	return NewHandler(cfg, sink, devs, auth, nil, nil), sink
}

// fuzzRequest builds a request without httptest.NewRequest, which panics on
// URLs that fuzzing easily produces.
func fuzzRequest(method, path, rawQuery, body string) *http.Request {
	return &http.Request{
		Method:        method,
		URL:           &url.URL{Path: path, RawQuery: rawQuery},
		Header:        http.Header{},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// checkStored asserts what every stored ping must satisfy whatever the input.
func checkStored(t *testing.T, ps []dalil.Position, cfg *Config) {
	t.Helper()
	for _, p := range ps {
		switch {
		case math.IsNaN(p.Lat) || math.IsNaN(p.Lon) || math.Abs(p.Lat) > 90 || math.Abs(p.Lon) > 180:
			t.Fatalf("stored invalid coordinates %+v", p)
		case p.Lat == 0 && p.Lon == 0:
			t.Fatalf("stored (0,0) %+v", p)
		case p.Time.After(testNow.Add(cfg.MaxFuture)) || p.Time.Before(testNow.Add(-cfg.MaxAge)):
			t.Fatalf("stored out-of-window time %+v", p)
		case float64(p.Accuracy) > cfg.MaxAccuracy || p.Accuracy < 0:
			t.Fatalf("stored accuracy %v", p.Accuracy)
		case p.Battery != dalil.Unknown && (p.Battery < 0 || p.Battery > 100):
			t.Fatalf("stored battery %v", p.Battery)
		case p.Speed != dalil.Unknown && p.Speed < 0, p.Heading != dalil.Unknown && (p.Heading < 0 || p.Heading >= 360):
			t.Fatalf("stored speed/heading %+v", p)
		case p.Device == "":
			t.Fatalf("stored without device %+v", p)
		}
	}
}

func FuzzOsmAnd(f *testing.F) {
	ts := strconv.FormatInt(testNow.Unix(), 10)
	f.Add("id=dev1&timestamp="+ts+"&lat=21.4133&lon=39.8933&speed=10.0&bearing=182.5&altitude=412.0&accuracy=12.0&batt=87.0", "", "")
	f.Add("id=48241179&lat=42.06288&lon=-88.23412&timestamp=2025-06-05T08%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0", "", "")
	f.Add("lat=49.60688&lon=6.15788&timestamp=2025-06-05+09%3A10%3A11&altitude=384.7&speed=0.0&id=dev1", "", "")
	f.Add("id=dev1&timestamp="+ts+"&location=60.0,30.0", "", "")
	f.Add("", "id=dev1&lat=21.4&lon=39.9&timestamp="+ts+"000&charge=true", "application/x-www-form-urlencoded")
	f.Add("", `{"location":{"timestamp":"2025-06-05T08:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`, "application/json")
	f.Add("", `{"location":[{"timestamp":"2025-06-05T08:00:00Z","coords":{"latitude":21.41,"longitude":39.89}},{"timestamp":1749110000000,"coords":{"latitude":"21.42","longitude":39.89}}],"device_id":48241179}`, "application/json")
	f.Add("", `[{"location":{"coords":{"latitude":21.41,"longitude":39.89}},"device_id":"dev1"},{"device_id":"x"}]`, "")
	f.Add("id=dev1&lat=NaN&lon=1e400", "", "")
	h, sink := fuzzRig(f)
	f.Fuzz(func(t *testing.T, query, body, ctype string) {
		before := len(sink.all())
		req := fuzzRequest("POST", "/ingest/osmand", query, body)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.serveOsmAnd(rec, req)
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code != 200 && rec.Body.Len() == 0 {
			t.Fatal("refusal without a reason")
		}
		stored := sink.all()[before:]
		checkStored(t, stored, &h.cfg)
		if rec.Code != 200 && len(stored) > 0 {
			t.Fatalf("status %d but %d pings stored", rec.Code, len(stored))
		}
	})
}

func FuzzOwnTracks(f *testing.F) {
	tst := strconv.FormatInt(testNow.Unix(), 10)
	f.Add(`{"_type":"location","acc":14,"alt":412,"batt":81,"bs":1,"conn":"w","lat":21.4133,"lon":39.8933,"m":1,"t":"u","tid":"ph","tst":`+tst+`,"vac":3,"vel":18,"cog":270}`, "ali", "phone")
	f.Add(`{"_type":"location","acc":65,"batt":56,"cog":-1,"lat":21.4133,"lon":39.8933,"tid":"ip","tst":`+tst+`,"vel":-1}`, "", "phone")
	f.Add(`{"_type":"transition","wtst":1717570000,"lat":21.4,"lon":39.9,"tst":1717570500,"acc":10,"event":"enter","desc":"Camp 94","t":"c"}`, "ali", "phone")
	f.Add(`{"_type":"waypoint","desc":"Camp 94","lat":21.4,"lon":39.9,"rad":100,"tst":1717570000}`, "", "")
	f.Add(`[{"_type":"location","lat":21.41,"lon":39.89,"tst":`+tst+`},{"_type":"lwt","tst":1}]`, "ali", "phone")
	f.Add(`{"_type":"location","lat":"21.41","lon":39.89,"tst":"`+tst+`","inregions":["Camp 94"],"topic":"owntracks/ali/phone"}`, "ali", "phone")
	f.Add(`{"lat":21.4,"_type":"location","lon":39.9}`, "dev1", "")
	h, sink := fuzzRig(f)
	f.Fuzz(func(t *testing.T, body, user, device string) {
		before := len(sink.all())
		req := fuzzRequest("POST", "/pub", "", body)
		req.Header.Set("X-Limit-U", user)
		req.Header.Set("X-Limit-D", device)
		rec := httptest.NewRecorder()
		h.serveOwnTracks(rec, req)
		stored := sink.all()[before:]
		checkStored(t, stored, &h.cfg)
		switch rec.Code {
		case 200:
			if rec.Body.String() != "[]" {
				t.Fatalf("200 with %q", rec.Body.String())
			}
		case 400, 413:
			if len(stored) > 0 && !strings.HasPrefix(strings.TrimSpace(body), "[") {
				t.Fatalf("status %d but stored %v", rec.Code, stored)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
		// Differential check against encoding/json: a stored location from a
		// valid single object has the coordinates encoding/json reads.
		if len(stored) == 1 && json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err == nil {
				if lat, ok := m["lat"].(float64); ok && lat != stored[0].Lat {
					t.Fatalf("lat %v, encoding/json reads %v", stored[0].Lat, lat)
				}
				if lon, ok := m["lon"].(float64); ok && lon != stored[0].Lon {
					t.Fatalf("lon %v, encoding/json reads %v", stored[0].Lon, lon)
				}
				if m["_type"] != "location" {
					t.Fatalf("stored a %v message", m["_type"])
				}
			}
		}
	})
}

func FuzzNative(f *testing.F) {
	f.Add(`{"device":"dev1","ts":"2025-06-05T08:59:00Z","lat":21.4133,"lon":39.8933,"acc":9,"speed":1.3,"heading":45,"batt":77}` + "\n" +
		`{"ts":1749113900000,"lat":21.4134,"lon":39.8933}`)
	f.Add(`[{"ts":"2025-06-05T08:59:00.5+03:00","lat":21.4133,"lon":39.8933},{"device":"dev2","ts":"2025-06-05T08:59:01Z","lat":1,"lon":2}]`)
	f.Add(`{"ts":"2025-06-05T08:59:00Z","lat":21.41` + "\n" + `[1,2]` + "\n" + `{"device":null,"ts":"x","lat":1,"lon":1}`)
	f.Add(`[{"ts":"2025-06-05T08:59:00Z","lat":21.4,"lon":39.9} {"ts":1}]`)
	f.Add("\n\n  \n")
	h, sink := fuzzRig(f)
	f.Fuzz(func(t *testing.T, body string) {
		before := len(sink.all())
		req := fuzzRequest("POST", "/v1/pings", "", body)
		req.Header.Set("Authorization", "Bearer tok1")
		rec := httptest.NewRecorder()
		h.serveNative(rec, req)
		stored := sink.all()[before:]
		checkStored(t, stored, &h.cfg)
		for _, p := range stored {
			if p.Device != "dev1" {
				t.Fatalf("stored a ping for %q under dev1's token", p.Device)
			}
		}
		switch rec.Code {
		case 200:
			var a batchAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("answer %q: %v", rec.Body.String(), err)
			}
			if a.Accepted != len(stored) {
				t.Fatalf("answer says %d accepted, sink got %d", a.Accepted, len(stored))
			}
			last := -1
			for _, r := range a.Rejected {
				if r.Index <= last || r.Reason == "" {
					t.Fatalf("rejections %+v", a.Rejected)
				}
				last = r.Index
			}
		case 400, 413:
			if len(stored) > 0 {
				t.Fatalf("status %d but %d stored", rec.Code, len(stored))
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
