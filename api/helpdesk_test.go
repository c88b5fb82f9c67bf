package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/helpdesk"
	"dalil/registry"
	"dalil/store/postgres"
)

// startBackground runs the server's background tasks (the case locator, the
// alert monitor, the search refresher), as Serve would.
func startBackground(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	s.mu.Lock()
	tasks := append([]func(context.Context){}, s.background...)
	s.mu.Unlock()
	for _, fn := range tasks {
		wg.Go(func() { fn(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// call sends a request and decodes a JSON answer into v (when not nil),
// failing unless the status is want.
func (f *fixture) call(method, path, token, body string, want int, v any) []byte {
	f.t.Helper()
	code, b := f.do(method, path, token, body)
	if code != want {
		f.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, token, code, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			f.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

// wantError checks a 4xx answer's status and field.
func (f *fixture) wantError(method, path, token, body string, status int, field string) {
	f.t.Helper()
	var e errorBody
	f.call(method, path, token, body, status, &e)
	if e.Error == "" || e.Field != field {
		f.t.Fatalf("%s %s: error %+v, want field %q", method, path, e, field)
	}
}

func getCase(f *fixture, id string) helpdesk.Case {
	var c helpdesk.Case
	f.getJSON("/v1/cases/"+id, "operator", &c)
	return c
}

// helpdeskFixtures runs a workflow on the embedded store and, with
// DALIL_TEST_POSTGRES, with the server's store on PostgreSQL.
func helpdeskFixtures(t *testing.T, run func(t *testing.T, f *fixture)) {
	t.Run("embedded", func(t *testing.T) {
		f := newFixture(t)
		startBackground(t, f.srv)
		run(t, f)
	})
	t.Run("postgres", func(t *testing.T) {
		raw := os.Getenv("DALIL_TEST_POSTGRES")
		if raw == "" {
			t.Skip("DALIL_TEST_POSTGRES is not set; skipping the PostgreSQL run")
		}
		st, err := postgres.Open(context.Background(), helpdeskSchema(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f := newFixture(t, func(_ *Config, d *Deps) {
			// The registry is already in memory; its records go to PostgreSQL too.
			ps := []registry.Pilgrim{}
			d.Registry.Each(func(p registry.Pilgrim) bool { ps = append(ps, p); return true })
			if err := d.Registry.Import(context.Background(), st, ps, d.Registry.Groups()); err != nil {
				t.Fatal(err)
			}
			d.Store = st
		})
		startBackground(t, f.srv)
		run(t, f)
	})
}

func TestHelpdeskCaseWorkflowOverHTTP(t *testing.T) { helpdeskFixtures(t, helpdeskCaseWorkflow) }

func helpdeskCaseWorkflow(t *testing.T, f *fixture) {

	// Bad requests get clear 4xx answers naming the field.
	f.wantError("POST", "/v1/cases", "operator", `{"pilgrim":"nobody"}`, http.StatusNotFound, "pilgrim")
	f.wantError("POST", "/v1/cases", "operator", `{"pilgrim":"a1","colour":"red"}`, http.StatusBadRequest, "colour")
	f.wantError("POST", "/v1/cases", "operator", `{"pilgrim":7}`, http.StatusBadRequest, "pilgrim")
	f.wantError("POST", "/v1/cases", "operator", `{"pilgrim":"a1"`, http.StatusBadRequest, "")
	f.wantError("POST", "/v1/cases", "operator", `{"kind":"theft","pilgrim":"a1"}`, http.StatusBadRequest, "kind")
	// Roles: a guide only for their own group; a pilgrim only an SOS for themself.
	f.wantError("POST", "/v1/cases", "guideB", `{"pilgrim":"a1"}`, http.StatusForbidden, "pilgrim")
	f.wantError("POST", "/v1/cases", "pilgrimB", `{"pilgrim":"a1"}`, http.StatusForbidden, "pilgrim")
	if code, _ := f.do("POST", "/v1/cases", "device", `{"pilgrim":"a1"}`); code != http.StatusForbidden {
		t.Fatalf("device opened a case: %d", code)
	}
	var sos helpdesk.Case
	f.call("POST", "/v1/cases", "pilgrimA", `{"note":"I cannot find my tent"}`, http.StatusCreated, &sos)
	if sos.Kind != helpdesk.CaseSOS || sos.Pilgrim != "a1" {
		t.Fatalf("SOS = %+v", sos)
	}
	f.call("POST", "/v1/cases/"+sos.ID+"/transition", "operator", `{"to":"cancelled","note":"duplicate of the guide's report"}`, http.StatusOK, nil)

	var c helpdesk.Case
	f.call("POST", "/v1/cases", "guideA", `{"kind":"lost_pilgrim","pilgrim":"a1","reported_by":"guide","last_seen_place":"Jamarat level 1","note":"80 years old"}`, http.StatusCreated, &c)
	if c.ID == "" || c.State != helpdesk.CaseOpen || c.Group != "gA" {
		t.Fatalf("case = %+v", c)
	}
	// The son reports him too: the report joins the open case (200, same ID).
	var again helpdesk.Case
	f.call("POST", "/v1/cases", "operator", `{"pilgrim":"a1","reported_by":"son","note":"white ihram"}`, http.StatusOK, &again)
	if again.ID != c.ID {
		t.Fatalf("second report opened %s beside %s", again.ID, c.ID)
	}
	// Who sees it.
	f.call("GET", "/v1/cases/"+c.ID, "guideA", "", http.StatusOK, nil)
	f.call("GET", "/v1/cases/"+c.ID, "pilgrimA", "", http.StatusOK, nil)
	f.wantError("GET", "/v1/cases/"+c.ID, "guideB", "", http.StatusForbidden, "id")
	f.wantError("GET", "/v1/cases/"+c.ID, "pilgrimB", "", http.StatusForbidden, "id")
	f.wantError("GET", "/v1/cases/C999999", "operator", "", http.StatusNotFound, "id")
	var list CaseList
	f.call("GET", "/v1/cases?state=open", "operator", "", http.StatusOK, &list)
	if len(list.Cases) != 1 || list.Cases[0].ID != c.ID {
		t.Fatalf("open cases = %+v", list.Cases)
	}
	f.call("GET", "/v1/cases", "guideB", "", http.StatusOK, &list)
	if len(list.Cases) != 0 {
		t.Fatalf("guide B sees group A's cases: %+v", list.Cases)
	}
	f.wantError("GET", "/v1/cases?state=lost", "operator", "", http.StatusBadRequest, "state")

	// Follow the case live.
	ws := f.dial("guideA")
	send(t, ws, "subscribe", "case:"+c.ID)
	wsB := f.dial("guideB")
	send(t, wsB, "subscribe", "case:"+c.ID)
	if m := recv(t, wsB); m.Type != "error" {
		t.Fatalf("guide B may follow group A's case: %+v", m)
	}

	// Assign; an invalid transition is a 409 naming "to".
	f.call("POST", "/v1/cases/"+c.ID+"/assign", "operator", `{"operator":"desk-4"}`, http.StatusOK, nil)
	f.wantError("POST", "/v1/cases/"+c.ID+"/assign", "guideA", `{"operator":"desk-4"}`, http.StatusForbidden, "")
	f.wantError("POST", "/v1/cases/"+c.ID+"/transition", "operator", `{"to":"closed"}`, http.StatusConflict, "to")
	f.wantError("POST", "/v1/cases/"+c.ID+"/transition", "operator", `{"to":"found"}`, http.StatusBadRequest, "to")
	f.wantError("POST", "/v1/cases/"+c.ID+"/transition", "operator", `{}`, http.StatusBadRequest, "to")

	// a1's phone reports from camp B: the case is located there, with the
	// walk home, and the guide's websocket hears of it.
	f.place("a1", centroid(f.tentB))
	deadline := time.Now().Add(5 * time.Second)
	for getCase(f, c.ID).State != helpdesk.CaseLocated {
		if time.Now().After(deadline) {
			t.Fatalf("case not auto-located: %+v", getCase(f, c.ID))
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := getCase(f, c.ID)
	if got.Place == nil || got.Place.Camp != f.tentB.Camp || got.Route == nil || got.Route.Tent != f.tentA.ID {
		t.Fatalf("located case = place %+v route %+v", got.Place, got.Route)
	}
	for {
		m := recv(t, ws)
		if m.Type == "event" && m.Kind == string(dalil.EventCase) && m.Case == c.ID && m.Camp == f.tentB.Camp {
			break
		}
	}

	// Handover lists it with the next step.
	var ho Handover
	f.call("GET", "/v1/cases/handover", "operator", "", http.StatusOK, &ho)
	if len(ho.Items) != 1 || ho.Items[0].Case != c.ID || !strings.Contains(ho.Items[0].Next, "escort") {
		t.Fatalf("handover = %+v", ho.Items)
	}
	f.wantError("GET", "/v1/cases/handover", "guideA", "", http.StatusForbidden, "")

	for _, to := range []string{"escorted", "reunited", "closed"} {
		who := "operator"
		if to == "reunited" {
			who = "guideA" // the guide confirms the pilgrim is back
		}
		f.call("POST", "/v1/cases/"+c.ID+"/transition", who, `{"to":"`+to+`","note":"step `+to+`"}`, http.StatusOK, nil)
	}
	got = getCase(f, c.ID)
	var steps []string
	for _, e := range got.Timeline {
		steps = append(steps, e.Action+":"+string(e.State))
	}
	want := "opened:open reported:open assigned:open located:located transition:escorted transition:reunited transition:closed"
	if strings.Join(steps, " ") != want {
		t.Fatalf("timeline %v, want %s", steps, want)
	}
	f.wantError("POST", "/v1/cases/"+c.ID+"/transition", "operator", `{"to":"cancelled"}`, http.StatusConflict, "to")

	// Reads of cases by staff are audited.
	var audit struct {
		Entries []AuditEntry `json:"entries"`
	}
	f.getJSON("/v1/audit", "admin", &audit)
	found := false
	for _, e := range audit.Entries {
		if e.Action == "case.read" && strings.HasPrefix(e.Target, c.ID) {
			found = true
		}
	}
	if !found {
		t.Fatalf("case reads not audited: %+v", audit.Entries)
	}
}

func TestHelpdeskSearchFoundPersonAndSightings(t *testing.T) {
	helpdeskFixtures(t, helpdeskSearchFoundPerson)
}

func helpdeskSearchFoundPerson(t *testing.T, f *fixture) {

	var sr SearchResult
	f.call("GET", "/v1/search?q=name+a2", "operator", "", http.StatusOK, &sr)
	if len(sr.Hits) == 0 || sr.Hits[0].PID != "a2" || sr.Hits[0].Camp != f.tentA.Camp {
		t.Fatalf("search hits = %+v", sr.Hits)
	}
	f.call("GET", "/v1/search?q=b1", "operator", "", http.StatusOK, &sr)
	if len(sr.Hits) == 0 || sr.Hits[0].PID != "b1" || sr.Hits[0].Match != helpdesk.MatchPID {
		t.Fatalf("PID search = %+v", sr.Hits)
	}
	f.wantError("GET", "/v1/search", "operator", "", http.StatusBadRequest, "q")
	f.wantError("GET", "/v1/search?q=a1&limit=0", "operator", "", http.StatusBadRequest, "limit")
	f.wantError("GET", "/v1/search?q=a1", "guideA", "", http.StatusForbidden, "")

	// An open case for a2, who then turns up at a helpdesk in camp B and
	// has their wristband scanned.
	var c helpdesk.Case
	f.call("POST", "/v1/cases", "operator", `{"pilgrim":"a2"}`, http.StatusCreated, &c)
	desk := f.ix.Layout().Camps[1].Gates[0]
	if camp := f.ix.Layout().Camps[1].ID; camp == f.tentA.Camp {
		desk = f.ix.Layout().Camps[2].Gates[0]
	}
	body := `{"wristband":"ph-a2","lat":` + jsonNum(desk.Lat) + `,"lon":` + jsonNum(desk.Lon) + `}`
	var fp FoundPerson
	f.call("POST", "/v1/found-person", "operator", body, http.StatusOK, &fp)
	if fp.Pilgrim == nil || fp.Pilgrim.PID != "a2" || fp.Tent != f.tentA.ID || fp.Camp != f.tentA.Camp || fp.CampNumber == 0 {
		t.Fatalf("found person = %+v", fp)
	}
	if fp.Guide == nil || fp.Guide.PID != "gA-guide" || fp.Guide.Phone == "" {
		t.Fatalf("guide = %+v", fp.Guide)
	}
	if fp.Route == nil || fp.Route.Tent != f.tentA.ID || fp.Route.LengthM <= 0 || fp.Sighting == nil {
		t.Fatalf("route %+v sighting %+v (route error %q)", fp.Route, fp.Sighting, fp.RouteError)
	}
	deadline := time.Now().Add(5 * time.Second)
	for getCase(f, c.ID).State != helpdesk.CaseLocated {
		if time.Now().After(deadline) {
			t.Fatal("the sighting did not locate the case")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p := getCase(f, c.ID).Place; p == nil || p.Source != "sighting" {
		t.Fatalf("case place = %+v", p)
	}
	// By name: several "Name …" pilgrims → candidates, not a guess.
	var amb FoundPerson
	f.call("POST", "/v1/found-person", "operator", `{"q":"Name"}`, http.StatusOK, &amb)
	if amb.Pilgrim != nil || len(amb.Candidates) < 2 {
		t.Fatalf("ambiguous query answered %+v", amb)
	}
	var one FoundPerson
	f.call("POST", "/v1/found-person", "operator", `{"q":"b2"}`, http.StatusOK, &one)
	if one.Pilgrim == nil || one.Pilgrim.PID != "b2" || one.Tent != f.tentB.ID {
		t.Fatalf("found person by PID = %+v", one)
	}
	f.wantError("POST", "/v1/found-person", "operator", `{"wristband":"no-such-band"}`, http.StatusNotFound, "wristband")
	f.wantError("POST", "/v1/found-person", "operator", `{"pid":"a1","q":"x"}`, http.StatusBadRequest, "q")
	f.wantError("POST", "/v1/found-person", "guideA", `{"pid":"a1"}`, http.StatusForbidden, "")

	// Sightings directly.
	var sg SightingResult
	f.call("POST", "/v1/sightings", "guideA", `{"pilgrim":"a3","lat":`+jsonNum(desk.Lat)+`,"lon":`+jsonNum(desk.Lon)+`,"source":"nfc"}`, http.StatusCreated, &sg)
	if sg.Position == nil || sg.Position.Pilgrim != "a3" || sg.Sighting.Device != helpdesk.SightingDevice("a3") {
		t.Fatalf("sighting = %+v", sg)
	}
	var pv PilgrimView
	f.getJSON("/v1/pilgrims/a3", "operator", &pv)
	if pv.Position == nil || pv.Position.Source != "sighting" {
		t.Fatalf("pilgrim a3 position after sighting: %+v", pv.Position)
	}
	f.wantError("POST", "/v1/sightings", "guideA", `{"pilgrim":"b1","lat":21.4,"lon":39.9}`, http.StatusForbidden, "pilgrim")
	f.wantError("POST", "/v1/sightings", "operator", `{"pilgrim":"a3","lat":21.4,"lon":39.9,"source":"gps"}`, http.StatusBadRequest, "source")
	f.wantError("POST", "/v1/sightings", "operator", `{"pilgrim":"a3","lon":39.9}`, http.StatusBadRequest, "lat")
	f.wantError("POST", "/v1/sightings", "operator", `{"pilgrim":"zz","lat":21.4,"lon":39.9}`, http.StatusNotFound, "pilgrim")

	// Alerts endpoint scope.
	f.call("GET", "/v1/alerts", "guideA", "", http.StatusOK, nil)
	f.wantError("GET", "/v1/alerts?group=gA", "guideB", "", http.StatusForbidden, "group")
}

func jsonNum(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHelpdeskLuggageOverHTTP(t *testing.T) { helpdeskFixtures(t, helpdeskLuggage) }

func helpdeskLuggage(t *testing.T, f *fixture) {

	var bag BagView
	f.call("POST", "/v1/luggage", "operator", `{"tag":"BG 100-200","owner":"a1","description":"grey suitcase, yellow strap","tracker":"lt-100"}`, http.StatusCreated, &bag)
	if bag.Tag != "BG100200" || bag.Status != helpdesk.LuggageRegistered {
		t.Fatalf("bag = %+v", bag)
	}
	f.wantError("POST", "/v1/luggage", "operator", `{"tag":"X1","owner":"nobody"}`, http.StatusNotFound, "owner")
	f.wantError("POST", "/v1/luggage", "operator", `{"owner":"a1"}`, http.StatusBadRequest, "tag")
	f.wantError("POST", "/v1/luggage", "pilgrimA", `{"tag":"X1","owner":"a1"}`, http.StatusForbidden, "")

	// The tracker reports: the bag shows its live position and trail.
	at := centroid(f.tentB)
	err := f.srv.Engine().Accept(context.Background(), []dalil.Position{{Device: "lt-100", Time: time.Now().Add(-time.Second),
		Lat: at.Lat, Lon: at.Lon, Accuracy: 8, Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: 50}})
	if err != nil {
		t.Fatal(err)
	}
	f.call("GET", "/v1/luggage/bg-100200", "pilgrimA", "", http.StatusOK, &bag)
	if bag.Tracker == nil || bag.Tracker.Position == nil || bag.Tracker.Position.Camp != f.tentB.Camp || len(bag.Tracker.Trail) != 1 {
		t.Fatalf("tracker view = %+v", bag.Tracker)
	}
	f.wantError("GET", "/v1/luggage/BG100200", "pilgrimB", "", http.StatusForbidden, "tag")

	f.call("POST", "/v1/luggage/BG100200/lost", "pilgrimA", `{"place":"bus 12","note":"left on the rack"}`, http.StatusOK, &bag)
	if bag.Status != helpdesk.LuggageLost {
		t.Fatalf("after lost: %+v", bag.LuggageItem)
	}
	f.wantError("POST", "/v1/luggage/BG100200/lost", "operator", `{}`, http.StatusConflict, "tag")
	f.wantError("POST", "/v1/luggage/NOPE/lost", "operator", `{}`, http.StatusNotFound, "tag")

	var fr FoundRecorded
	f.call("POST", "/v1/found-items", "operator", `{"where":"Helpdesk Mina 3","description":"grey suitcase with a yellow strap, no tag"}`, http.StatusCreated, &fr)
	if len(fr.Suggestions) == 0 || fr.Suggestions[0].Tag != "BG100200" {
		t.Fatalf("suggestions = %+v", fr.Suggestions)
	}
	f.wantError("POST", "/v1/found-items", "operator", `{"description":"x"}`, http.StatusBadRequest, "where")
	var fl FoundList
	f.call("GET", "/v1/found-items?status=unmatched", "operator", "", http.StatusOK, &fl)
	if len(fl.Items) != 1 {
		t.Fatalf("unmatched = %+v", fl.Items)
	}
	var fm FoundMatched
	f.call("POST", "/v1/found-items/"+fr.Found.ID+"/match", "operator", `{"tag":"BG100200"}`, http.StatusOK, &fm)
	if fm.Found.Status != helpdesk.FoundMatched || fm.Luggage.Status != helpdesk.LuggageFound {
		t.Fatalf("match = %+v", fm)
	}
	f.wantError("POST", "/v1/found-items/"+fr.Found.ID+"/match", "operator", `{"tag":"BG100200"}`, http.StatusConflict, "id")
	f.wantError("POST", "/v1/luggage/BG100200/handover", "operator", `{"to":"a1"}`, http.StatusBadRequest, "signature")
	f.call("POST", "/v1/luggage/BG100200/handover", "operator", `{"to":"a1 in person","signature":"signed slip 77","note":"NID checked"}`, http.StatusOK, &bag)
	if bag.Status != helpdesk.LuggageReturned || len(bag.Custody) != 1 || bag.Custody[0].Signature != "signed slip 77" {
		t.Fatalf("after handover: %+v", bag.LuggageItem)
	}
	var bl BagList
	f.call("GET", "/v1/luggage", "pilgrimA", "", http.StatusOK, &bl)
	if len(bl.Luggage) != 1 {
		t.Fatalf("pilgrim's bags = %+v", bl.Luggage)
	}
	f.wantError("GET", "/v1/luggage?owner=b1", "pilgrimA", "", http.StatusForbidden, "owner")
}
