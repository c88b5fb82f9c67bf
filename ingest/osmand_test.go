package ingest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"dalil"
)

// The Android Traccar Client (v8 and earlier, ProtocolFormatter.kt) POSTs
// with every field in the query string and an empty body, and treats any
// 2xx as delivered.
func TestOsmAndTraccarAndroidPost(t *testing.T) {
	rg := newRig(t)
	ts := testNow.Add(-30 * time.Second).Unix()
	q := "/ingest/osmand?id=dev1&timestamp=" + itoa(ts) +
		"&lat=21.4133&lon=39.8933&speed=10.0&bearing=182.5&altitude=412.0&accuracy=12.0&batt=87.0"
	rec := rg.do("POST", q, "", "")
	wantStatus(t, rec, http.StatusOK)
	got := rg.sink.all()
	if len(got) != 1 {
		t.Fatalf("sink got %d pings, want 1", len(got))
	}
	p := got[0]
	if p.Device != "dev1" || p.Lat != 21.4133 || p.Lon != 39.8933 || p.Source != dalil.SourceOsmAnd {
		t.Fatalf("ping %+v", p)
	}
	if !p.Time.Equal(time.Unix(ts, 0)) {
		t.Errorf("time %v, want %v", p.Time, time.Unix(ts, 0))
	}
	if !near(float64(p.Speed), 10*0.514444, 1e-3) {
		t.Errorf("speed %v m/s, want 10 knots = 5.144 m/s", p.Speed)
	}
	if p.Heading != 182.5 || p.Altitude != 412 || p.Accuracy != 12 || p.Battery != 87 {
		t.Errorf("optional fields %+v", p)
	}
}

// The query strings of Traccar's own OsmAnd decoder tests, as real devices
// and apps send them.
func TestOsmAndTraccarServerSamples(t *testing.T) {
	cases := []struct {
		target  string
		now     time.Time
		lat     float64
		lon     float64
		time    time.Time
		acc     float32
		speed   float32
		heading float32
		batt    float32
	}{
		{"/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0",
			time.Date(2016, 1, 27, 19, 0, 0, 0, time.UTC), 42.06288, -88.23412,
			time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC), 30, 0, dalil.Unknown, dalil.Unknown},
		{"/?id=902064&lat=42.06288&lon=-88.23413&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0",
			time.UnixMilli(1442068686579 + 60000), 42.06288, -88.23413,
			time.UnixMilli(1442068686579), 30, 0, dalil.Unknown, dalil.Unknown},
		{"/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=123456",
			time.Date(2014, 6, 4, 9, 11, 0, 0, time.UTC), 49.60688, 6.15788,
			time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC), 0, 0, dalil.Unknown, dalil.Unknown},
		{"/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0",
			time.Unix(1377177267+60, 0), 60, 30, time.Unix(1377177267, 0), 0, 0, 0, dalil.Unknown},
		{"/?id=123456&timestamp=1377177268&location=60.0,30.1",
			time.Unix(1377177268+60, 0), 60, 30.1, time.Unix(1377177268, 0), 0, dalil.Unknown, dalil.Unknown, dalil.Unknown},
		{"/?lat=60.0&lon=30.2&speed=0.0&heading=90.0&vacc=0&hacc=7&altitude=0&deviceid=123456",
			time.Unix(1377177268+120, 0), 60, 30.2, time.Unix(1377177268+120, 0), 7, 0, 90, dalil.Unknown},
		{"/?id=902064&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
			testNow, 41.666667, -0.883333, testNow, 0, 0, dalil.Unknown, 87},
	}
	for _, c := range cases {
		rg := newRig(t)
		rg.now = c.now
		// Through OsmAndRoot, as on Traccar's port 5055.
		req := httptestRequest("GET", c.target, "")
		rec := serve(rg.h.OsmAndRoot(), req)
		wantStatus(t, rec, http.StatusOK)
		got := rg.sink.all()
		if len(got) != 1 {
			t.Fatalf("%s: sink got %d pings", c.target, len(got))
		}
		p := got[0]
		if p.Lat != c.lat || p.Lon != c.lon || !p.Time.Equal(c.time) {
			t.Errorf("%s: got %v,%v at %v, want %v,%v at %v", c.target, p.Lat, p.Lon, p.Time, c.lat, c.lon, c.time)
		}
		if p.Accuracy != c.acc || p.Speed != c.speed || p.Heading != c.heading || p.Battery != c.batt {
			t.Errorf("%s: acc %v speed %v heading %v batt %v, want %v %v %v %v", c.target,
				p.Accuracy, p.Speed, p.Heading, p.Battery, c.acc, c.speed, c.heading, c.batt)
		}
	}
}

// Traccar Client 10 posts the same fields as a form body.
func TestOsmAndFormBody(t *testing.T) {
	rg := newRig(t)
	body := "id=dev1&lat=21.4133&lon=39.8933&timestamp=" + itoa(testNow.Add(-time.Minute).UnixMilli()) +
		"&speed=0&bearing=0&altitude=400&accuracy=8.5&batt=54&charge=true"
	rec := rg.do("POST", "/ingest/osmand", "application/x-www-form-urlencoded", body)
	wantStatus(t, rec, http.StatusOK)
	got := rg.sink.all()
	if len(got) != 1 || got[0].Accuracy != 8.5 || got[0].Battery != 54 || !got[0].Time.Equal(testNow.Add(-time.Minute)) {
		t.Fatalf("got %+v", got)
	}
}

// Traccar Client 9's JSON, verbatim from Traccar's decoder tests.
func TestOsmAndTraccarClient9JSON(t *testing.T) {
	bodies := []struct {
		body    string
		device  string
		lat     float64
		time    string
		speed   float32
		heading float32
		batt    float32
		acc     float32
	}{
		{`{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`,
			"48241179", 37.4219983, "2025-06-15T13:45:12.862Z", 0, dalil.Unknown, 100, 5},
		{`{"location":{"timestamp":"2025-06-15T13:46:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{"device_string_test":"long_device_id","device_bool_test":true,"device_bool_false_test":false,"device_integer_test":1,"device_double_test":1.345,"device_very_long_double_test":1763636.3442},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`,
			"48241179", 37.4219983, "2025-06-15T13:46:12.862Z", 0, dalil.Unknown, 100, 5},
		{`{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":false,"age":188,"odometer":0,"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange","battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"dev2"}`,
			"dev2", 37.785834, "2025-05-09T04:11:30.579Z", dalil.Unknown, dalil.Unknown, dalil.Unknown, 5},
		{`{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}`,
			"8737767034", -6.1148096, "2021-07-21T08:06:34.444Z", 18.67, 63, 79, 3.8},
	}
	rg := newRig(t)
	for _, b := range bodies {
		ts, _ := time.Parse(time.RFC3339Nano, b.time)
		rg.now = ts.Add(time.Minute)
		before := len(rg.sink.all())
		rec := rg.do("POST", "/ingest/osmand", "application/json", b.body)
		wantStatus(t, rec, http.StatusOK)
		got := rg.sink.all()
		if len(got) != before+1 {
			t.Fatalf("%s: sink got %d new pings", b.device, len(got)-before)
		}
		p := got[len(got)-1]
		if p.Device != b.device || p.Lat != b.lat || !p.Time.Equal(ts) {
			t.Errorf("got %s %v at %v, want %s %v at %v", p.Device, p.Lat, p.Time, b.device, b.lat, ts)
		}
		if p.Speed != b.speed || p.Heading != b.heading || !near(float64(p.Battery), float64(b.batt), 1e-4) || p.Accuracy != b.acc {
			t.Errorf("%s: speed %v heading %v batt %v acc %v, want %v %v %v %v", b.device,
				p.Speed, p.Heading, p.Battery, p.Accuracy, b.speed, b.heading, b.batt, b.acc)
		}
	}
}

// When the plugin batches, "location" is an array (or the body is an array
// of entries); the answer is 200 with a per-item outcome.
func TestOsmAndJSONBatch(t *testing.T) {
	rg := newRig(t)
	loc := func(min int, lat string) string {
		return `{"timestamp":"2025-06-05T08:` + twoDigits(min) + `:00Z","coords":{"latitude":` + lat +
			`,"longitude":39.8933,"accuracy":10,"speed":1.2,"heading":90,"altitude":400},"battery":{"level":0.5}}`
	}
	body := `{"location":[` + loc(10, "21.4133") + `,` + loc(11, "21.4134") + `,` + loc(12, "95") + `],"device_id":"dev1"}`
	rec := rg.do("POST", "/ingest/osmand", "application/json", body)
	wantStatus(t, rec, http.StatusOK)
	var res struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 1 || res.Rejected[0].Index != 2 || res.Rejected[0].Reason != "out_of_range" {
		t.Fatalf("answer %+v", res)
	}
	if rg.sink.calls() != 1 || len(rg.sink.all()) != 2 {
		t.Fatalf("sink calls %d pings %d, want one call with 2", rg.sink.calls(), len(rg.sink.all()))
	}

	// A top-level array of entries, for two devices.
	body = `[{"location":` + loc(20, "21.4133") + `,"device_id":"dev1"},{"location":` + loc(20, "21.4200") + `,"device_id":"dev2"}]`
	rec = rg.do("POST", "/ingest/osmand", "application/json", body)
	wantStatus(t, rec, http.StatusOK)
	got := rg.sink.all()
	if len(got) != 4 || got[2].Device != "dev1" || got[3].Device != "dev2" {
		t.Fatalf("got %+v", got[2:])
	}
}

func TestOsmAndBadInput(t *testing.T) {
	rg := newRig(t)
	ts := itoa(testNow.Unix())
	cases := []struct {
		name, method, target, ctype, body string
		status                            int
		reason                            string
	}{
		{"unknown device", "GET", "/ingest/osmand?id=nobody&lat=21.4&lon=39.9&timestamp=" + ts, "", "", 400, "unknown_device"},
		{"missing id", "GET", "/ingest/osmand?lat=21.4&lon=39.9&timestamp=" + ts, "", "", 400, "malformed: id: missing"},
		{"missing lon", "GET", "/ingest/osmand?id=dev1&lat=21.4&timestamp=" + ts, "", "", 400, "malformed: lon: missing"},
		{"bad lat", "GET", "/ingest/osmand?id=dev1&lat=north&lon=39.9&timestamp=" + ts, "", "", 400, "malformed: lat: not a number"},
		{"bad timestamp", "GET", "/ingest/osmand?id=dev1&lat=21.4&lon=39.9&timestamp=yesterday", "", "", 400, "malformed: timestamp"},
		{"bad location", "GET", "/ingest/osmand?id=dev1&location=21.4&timestamp=" + ts, "", "", 400, "malformed: location"},
		{"null island", "GET", "/ingest/osmand?id=dev1&lat=0&lon=0&timestamp=" + ts, "", "", 400, "null_island"},
		{"nan", "GET", "/ingest/osmand?id=dev1&lat=NaN&lon=39.9&timestamp=" + ts, "", "", 400, "not_finite"},
		{"out of range", "GET", "/ingest/osmand?id=dev1&lat=91&lon=39.9&timestamp=" + ts, "", "", 400, "out_of_range"},
		{"json syntax", "POST", "/ingest/osmand", "application/json", `{"location":{"coords":{"latitude":21.4,}},"device_id":"dev1"}`, 400, "malformed: JSON body"},
		{"json no device", "POST", "/ingest/osmand", "application/json", `{"location":{"timestamp":"2025-06-05T08:59:00Z","coords":{"latitude":21.4,"longitude":39.9}}}`, 400, "malformed: device_id: missing"},
		{"json unknown device", "POST", "/ingest/osmand", "application/json", `{"location":{"timestamp":"2025-06-05T08:59:00Z","coords":{"latitude":21.4,"longitude":39.9}},"device_id":"ghost"}`, 400, "unknown_device"},
		{"json no coords", "POST", "/ingest/osmand", "application/json", `{"location":{"timestamp":"2025-06-05T08:59:00Z"},"device_id":"dev1"}`, 400, "malformed: coords.latitude: missing"},
		{"json string latitude", "POST", "/ingest/osmand", "application/json", `{"location":{"timestamp":"2025-06-05T08:59:00Z","coords":{"latitude":"x","longitude":39.9}},"device_id":"dev1"}`, 400, "malformed: coords.latitude: not a number"},
	}
	for _, c := range cases {
		rec := rg.do(c.method, c.target, c.ctype, c.body)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.reason) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, rec.Code, rec.Body.String(), c.status, c.reason)
		}
	}
	if n := len(rg.sink.all()); n != 0 {
		t.Errorf("sink got %d pings from bad requests", n)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "unknown_device"); got != 2 {
		t.Errorf("unknown_device counted %v, want 2", got)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "malformed"); got != 9 {
		t.Errorf("malformed counted %v, want 9", got)
	}
}

// A resent fix answers 200 so that the client deletes it from its queue;
// the sink sees it once.
func TestOsmAndDuplicateAnswers200(t *testing.T) {
	rg := newRig(t)
	q := "/ingest/osmand?id=dev1&lat=21.4133&lon=39.8933&timestamp=" + itoa(testNow.Add(-time.Minute).Unix())
	for range 3 {
		wantStatus(t, rg.do("POST", q, "", ""), http.StatusOK)
	}
	if n := len(rg.sink.all()); n != 1 {
		t.Fatalf("sink got %d copies, want 1", n)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "duplicate"); got != 2 {
		t.Errorf("duplicates counted %v, want 2", got)
	}
	if got := rg.counter("dalil_pings_accepted_total", "protocol", "osmand"); got != 1 {
		t.Errorf("accepted %v, want 1", got)
	}
}

// A refused fix answers 400 with its reason once; when the client sends the
// very same fix again (Traccar Client retries its queue head until it gets a
// 2xx) it answers 200, so one bad fix cannot stall the device's queue.
func TestOsmAndResentRejectIsAcknowledged(t *testing.T) {
	rg := newRig(t)
	q := "/ingest/osmand?id=dev1&lat=21.4133&lon=39.8933&accuracy=900&timestamp=" + itoa(testNow.Add(-time.Minute).Unix())
	rec := rg.do("POST", q, "", "")
	wantStatus(t, rec, http.StatusBadRequest)
	if !strings.HasPrefix(rec.Body.String(), "low_accuracy") {
		t.Fatalf("body %q", rec.Body.String())
	}
	wantStatus(t, rg.do("POST", q, "", ""), http.StatusOK)
	if n := len(rg.sink.all()); n != 0 {
		t.Fatalf("sink got %d pings, want 0", n)
	}
	if a, b := rg.counter("dalil_pings_rejected_total", "reason", "low_accuracy"),
		rg.counter("dalil_pings_rejected_total", "reason", "resent_rejected"); a != 1 || b != 1 {
		t.Errorf("low_accuracy %v resent_rejected %v, want 1 and 1", a, b)
	}
	// A different fix is judged on its own.
	q2 := "/ingest/osmand?id=dev1&lat=21.4133&lon=39.8933&accuracy=9&timestamp=" + itoa(testNow.Unix())
	wantStatus(t, rg.do("POST", q2, "", ""), http.StatusOK)

	// With the option off, the resend is refused again.
	rg = newRig(t, func(c *Config) { c.AckResentRejects = false })
	wantStatus(t, rg.do("POST", q, "", ""), http.StatusBadRequest)
	wantStatus(t, rg.do("POST", q, "", ""), http.StatusBadRequest)
}

func TestOsmAndRootMethods(t *testing.T) {
	rg := newRig(t)
	rec := serve(rg.h.OsmAndRoot(), httptestRequest("DELETE", "/", ""))
	wantStatus(t, rec, http.StatusMethodNotAllowed)
	// POST at "/" with the fields in the query, as the Android client does on port 5055.
	rec = serve(rg.h.OsmAndRoot(), httptestRequest("POST", "/?id=dev1&lat=21.41&lon=39.89&timestamp="+itoa(testNow.Unix()), ""))
	wantStatus(t, rec, http.StatusOK)
	// The mux does not route DELETE to /ingest/osmand.
	wantStatus(t, rg.do("DELETE", "/ingest/osmand?id=dev1", "", ""), http.StatusMethodNotAllowed)
}

// Traccar Client back online after an hour without network: it sends its
// live fix, then drains its buffer oldest first, one request per fix. Every
// buffered fix is stored, none refused as a jump.
func TestOsmAndOfflineBufferFlush(t *testing.T) {
	rg := newRig(t)
	start := testNow.Add(-time.Hour)
	send := func(at time.Time, metresNorth float64) int {
		q := "/ingest/osmand?id=dev1&timestamp=" + itoa(at.Unix()) + "&lat=" + ftoa(north(21.3547, metresNorth)) +
			"&lon=39.9839&speed=12.0&accuracy=15.0"
		return rg.do("POST", q, "", "").Code
	}
	// The live fix: the bus is 12 km north of Arafat.
	if code := send(testNow, 12000); code != http.StatusOK {
		t.Fatalf("live fix: %d", code)
	}
	// The buffer: the ride from Jabal al-Rahmah, one fix a minute.
	for i := 0; i < 60; i++ {
		if code := send(start.Add(time.Duration(i)*time.Minute), float64(i)*200); code != http.StatusOK {
			t.Fatalf("buffered fix %d: %d", i, code)
		}
	}
	if n := len(rg.sink.all()); n != 61 {
		t.Fatalf("stored %d fixes, want 61", n)
	}
	if got := rg.counter("dalil_pings_rejected_total", "reason", "jump"); got != 0 {
		t.Fatalf("%v fixes refused as jumps", got)
	}
}
