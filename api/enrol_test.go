package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// enrol posts an enrolment as the named role and decodes the answer.
func (f *fixture) enrol(token, body string) Enrolment {
	f.t.Helper()
	code, b := f.do("POST", "/v1/enrolments", token, body)
	if code != http.StatusCreated {
		f.t.Fatalf("enrol %s: %d %s", body, code, b)
	}
	var e Enrolment
	if err := json.Unmarshal(b, &e); err != nil {
		f.t.Fatal(err)
	}
	return e
}

// An operator enrols a phone for a pilgrim and gets a secret that is the
// Traccar Client device id and the OwnTracks password: each app, set up
// from the answer as its QR code would, moves the pilgrim; nothing else
// does.
func TestEnrolPhoneConfiguresTraccarAndOwnTracks(t *testing.T) {
	f := newFixture(t)
	e := f.enrol("operator", `{"pilgrim":"a2"}`)
	if !strings.HasPrefix(e.Device.ID, "enr-") || e.Device.Pilgrim != "a2" || e.Device.Kind != dalil.DevicePhone {
		t.Fatalf("device %+v", e.Device)
	}
	if len(e.Secret) < 32 || e.Traccar.DeviceID != e.Secret || e.OwnTracks.Config.Password != e.Secret {
		t.Fatalf("secret %q, traccar id %q, owntracks password %q", e.Secret, e.Traccar.DeviceID, e.OwnTracks.Config.Password)
	}
	if e.Traccar.ServerURL != f.ts.URL+"/ingest/osmand" {
		t.Errorf("traccar server URL %q", e.Traccar.ServerURL)
	}
	// Traccar Client reads its QR link's origin+path as the server URL and
	// "id" as the device identifier.
	link, err := url.Parse(e.Traccar.Link)
	if err != nil || link.Scheme+"://"+link.Host+link.Path != e.Traccar.ServerURL || link.Query().Get("id") != e.Secret {
		t.Fatalf("traccar link %q", e.Traccar.Link)
	}
	// OwnTracks imports the inline configuration of its link.
	ol, err := url.Parse(e.OwnTracks.Link)
	if err != nil || ol.Scheme != "owntracks" || ol.Path != "/config" {
		t.Fatalf("owntracks link %q", e.OwnTracks.Link)
	}
	raw, err := base64.StdEncoding.DecodeString(ol.Query().Get("inline"))
	var cfg map[string]any
	if err != nil || json.Unmarshal(raw, &cfg) != nil || cfg["_type"] != "configuration" || cfg["mode"] != float64(3) ||
		cfg["url"] != f.ts.URL+"/ingest/owntracks" || cfg["password"] != e.Secret || cfg["username"] != e.Device.ID {
		t.Fatalf("owntracks inline config %s (%v)", raw, err)
	}
	for name, q := range map[string]string{"traccar": e.Traccar.QRPNG, "owntracks": e.OwnTracks.QRPNG} {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(q, "data:image/png;base64,"))
		if err != nil {
			t.Fatalf("%s QR: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() < 200 {
			t.Fatalf("%s QR is not a usable PNG: %v", name, err)
		}
	}

	// Traccar Client: the configured URL plus its own fields.
	home := centroid(f.tentA)
	ts := time.Now().Add(-time.Minute).Unix()
	q := url.Values{"id": {e.Secret}, "timestamp": {fmt.Sprint(ts)}, "lat": {fmt.Sprintf("%.7f", home.Lat)}, "lon": {fmt.Sprintf("%.7f", home.Lon)}, "accuracy": {"5"}}
	if a := f.ingest("POST", "/ingest/osmand?"+q.Encode(), "", ""); a.Status != http.StatusOK {
		t.Fatalf("Traccar Client with the enrolled id: %+v", a)
	}
	var v PilgrimView
	f.getJSON("/v1/pilgrims/a2", "operator", &v)
	if v.Position == nil || v.Position.Device != e.Device.ID || geo.DistanceM(geo.Point{Lat: v.Position.Lat, Lon: v.Position.Lon}, home) > 1 {
		t.Fatalf("a2's position %+v, want the enrolled phone's fix", v.Position)
	}
	// OwnTracks, as its imported configuration makes it send.
	away := centroid(f.tentB)
	body := fmt.Sprintf(`{"_type":"location","lat":%.7f,"lon":%.7f,"tst":%d,"acc":5}`, away.Lat, away.Lon, ts+30)
	a := f.ingest("POST", "/ingest/owntracks", "application/json", body,
		"X-Limit-U", e.Device.ID, "X-Limit-D", e.OwnTracks.Config.DeviceID, "Authorization", basic(e.Device.ID, e.Secret))
	if a.Status != http.StatusOK {
		t.Fatalf("OwnTracks with the enrolled password: %+v", a)
	}
	f.getJSON("/v1/pilgrims/a2", "operator", &v)
	if v.Position == nil || geo.DistanceM(geo.Point{Lat: v.Position.Lat, Lon: v.Position.Lon}, away) > 1 {
		t.Fatalf("a2's position %+v after OwnTracks", v.Position)
	}
	// The public device id is no proof.
	q.Set("id", e.Device.ID)
	q.Set("timestamp", fmt.Sprint(ts+60))
	if a := f.ingest("POST", "/ingest/osmand?"+q.Encode(), "", ""); a.Status != http.StatusUnauthorized {
		t.Fatalf("the public id alone: %+v", a)
	}
	// The enrolment is in the audit log, without the secret.
	code, b := f.do("GET", "/v1/audit", "admin", "")
	if code != http.StatusOK || !strings.Contains(string(b), "device.enrol") || !strings.Contains(string(b), "pilgrim:a2") || strings.Contains(string(b), e.Secret) {
		t.Fatalf("audit: %d %s", code, b)
	}
}

func TestEnrolRolesAndErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		token, body string
		status      int
		field       string
	}{
		{"guideA", `{"pilgrim":"a1"}`, http.StatusForbidden, ""},
		{"pilgrimA", `{"pilgrim":"a1"}`, http.StatusForbidden, ""},
		{"device", `{"pilgrim":"a1"}`, http.StatusForbidden, ""},
		{"", `{"pilgrim":"a1"}`, http.StatusUnauthorized, "Authorization"},
		{"operator", `{"pilgrim":"nobody"}`, http.StatusNotFound, "pilgrim"},
		{"operator", `{}`, http.StatusBadRequest, "pilgrim"},
		{"operator", `{"pilgrim":"a1","bag":"X1"}`, http.StatusBadRequest, "pilgrim"},
		{"operator", `{"pilgrim":"a1","kind":"satellite"}`, http.StatusBadRequest, "kind"},
		{"operator", `{"bag":"NO-SUCH-BAG"}`, http.StatusNotFound, "bag"},
	} {
		code, b := f.do("POST", "/v1/enrolments", c.token, c.body)
		if code != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.token, c.body, code, b, c.status)
			continue
		}
		if c.field != "" {
			assertFieldError(t, code, b, c.status, c.field)
		}
	}
}

// A bag's tracker enrolled by an admin: the bag names it as its tracker,
// and its fixes move the bag.
func TestEnrolBagTracker(t *testing.T) {
	f := newFixture(t)
	if code, b := f.do("POST", "/v1/luggage", "operator", `{"tag":"BG-77","owner":"a1","description":"green suitcase"}`); code != http.StatusCreated {
		t.Fatalf("register bag: %d %s", code, b)
	}
	e := f.enrol("admin", `{"bag":"bg 77"}`)
	if e.Device.Luggage != "BG77" && e.Device.Luggage != "BG-77" || e.Device.Kind != dalil.DeviceLuggageTag {
		t.Fatalf("device %+v", e.Device)
	}
	var bag BagView
	f.getJSON("/v1/luggage/"+url.PathEscape(e.Device.Luggage), "operator", &bag)
	if bag.LuggageItem.Tracker != e.Device.ID || bag.Description != "green suitcase" || bag.Owner != "a1" {
		t.Fatalf("bag %+v, want tracker %s and its details kept", bag.LuggageItem, e.Device.ID)
	}
	p := centroid(f.tentB)
	q := url.Values{"id": {e.Secret}, "timestamp": {fmt.Sprint(time.Now().Add(-time.Minute).Unix())}, "lat": {fmt.Sprintf("%.7f", p.Lat)}, "lon": {fmt.Sprintf("%.7f", p.Lon)}}
	if a := f.ingest("GET", "/ingest/osmand?"+q.Encode(), "", ""); a.Status != http.StatusOK {
		t.Fatalf("tracker fix: %+v", a)
	}
	if d, ok := f.srv.registry.Device(e.Device.ID); !ok || d.Luggage != e.Device.Luggage {
		t.Fatalf("registry device %+v", d)
	}
	if _, ok := f.srv.engine.Device(e.Device.ID); !ok {
		t.Fatal("the bag tracker's fix is not live")
	}
	f.getJSON("/v1/luggage/"+url.PathEscape(e.Device.Luggage), "operator", &bag)
	if bag.Tracker == nil {
		t.Fatal("the bag view shows no tracker position")
	}
}

// An enrolled device is durable: after a restart on the same store its
// secret still proves it, on the embedded store and on PostgreSQL.
func TestEnrolledDeviceSurvivesRestart(t *testing.T) {
	onBothStores(t, func(t *testing.T, open func() dalil.Store) {
		ctx := context.Background()
		tent := testIndex(t).Layout().Tents[0]
		st := open()
		reg := registry.NewRegistry()
		if err := reg.Import(ctx, st, []registry.Pilgrim{{PID: "e1", NameEN: "Enrolled One", Camp: tent.Camp, Tent: tent.ID}}, nil); err != nil {
			t.Fatal(err)
		}
		s1 := startRestartServer(t, st, reg)
		var e Enrolment
		s1.call("POST", "/v1/enrolments", `{"pilgrim":"e1"}`, http.StatusCreated, &e)
		s1.stop()

		st2 := open()
		reg2, err := registry.LoadRegistry(ctx, st2)
		if err != nil {
			t.Fatal(err)
		}
		s2 := startRestartServer(t, st2, reg2)
		defer s2.stop()
		if d, ok := reg2.Device(e.Device.ID); !ok || d.Pilgrim != "e1" {
			t.Fatalf("device after restart: %+v %v", d, ok)
		}
		c := tent.Polygon.Centroid()
		q := url.Values{"id": {e.Secret}, "timestamp": {fmt.Sprint(time.Now().Add(-time.Minute).Unix())}, "lat": {fmt.Sprintf("%.7f", c.Lat)}, "lon": {fmt.Sprintf("%.7f", c.Lon)}}
		resp, err := s2.ts.Client().Get(s2.ts.URL + "/ingest/osmand?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("enrolled id after restart: %d", resp.StatusCode)
		}
	})
}
