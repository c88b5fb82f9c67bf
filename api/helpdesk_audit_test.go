package api

import (
	"net/http"
	"strings"
	"testing"

	"dalil/helpdesk"
)

// Every helpdesk endpoint whose answer shows staff a pilgrim's personal data
// (a place, a position, a bag's trail, an owner) writes an audit entry.
func TestHelpdeskStaffReadsAreAudited(t *testing.T) {
	f := newFixture(t)
	startBackground(t, f.srv)
	desk := centroid(f.tentB)
	f.place("a1", centroid(f.tentA))

	entries := func() []AuditEntry {
		t.Helper()
		es, err := f.srv.audits.find(t.Context(), auditQuery{Since: f.srv.audits.now().AddDate(-1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	// step calls an endpoint as the operator and checks that exactly one new
	// entry names the action and the target.
	step := func(method, path, body string, want int, v any, action, target string) {
		t.Helper()
		before := len(entries())
		f.call(method, path, "operator", body, want, v)
		es := entries()
		if len(es) != before+1 {
			t.Errorf("%s %s: %d new audit entries, want 1: %+v", method, path, len(es)-before, es[before:])
			return
		}
		e := es[len(es)-1]
		if e.Action != action || !strings.Contains(e.Target, target) || e.Role != RoleOperator || e.TokenID == "" {
			t.Errorf("%s %s: audit entry %+v, want action %q target containing %q", method, path, e, action, target)
		}
	}

	var c helpdesk.Case
	step("POST", "/v1/cases", `{"kind":"lost_pilgrim","pilgrim":"a1"}`, http.StatusCreated, &c, "case.open", "a1")
	step("GET", "/v1/cases?state=open", "", http.StatusOK, nil, "case.list", "state=open")
	step("GET", "/v1/cases/"+c.ID, "", http.StatusOK, nil, "case.read", "a1")
	step("POST", "/v1/cases/"+c.ID+"/transition", `{"to":"located","note":"at the gate"}`, http.StatusOK, nil, "case.transition", c.ID+":a1")
	step("POST", "/v1/cases/"+c.ID+"/assign", `{"operator":"desk-3"}`, http.StatusOK, nil, "case.assign", c.ID+":a1")
	step("POST", "/v1/cases/"+c.ID+"/notes", `{"note":"called the guide"}`, http.StatusOK, nil, "case.note", c.ID+":a1")
	step("GET", "/v1/cases/handover", "", http.StatusOK, nil, "case.handover", "cases")
	step("GET", "/v1/search?q=a2", "", http.StatusOK, nil, "search", "a2")
	step("POST", "/v1/found-person", `{"pid":"a3"}`, http.StatusOK, nil, "found_person", "a3")
	step("POST", "/v1/sightings", `{"pilgrim":"a2","lat":`+jsonNum(desk.Lat)+`,"lon":`+jsonNum(desk.Lon)+`,"source":"operator"}`,
		http.StatusCreated, nil, "sighting", "a2")
	step("GET", "/v1/alerts?group=gA", "", http.StatusOK, nil, "alert.list", "gA")
	step("POST", "/v1/luggage", `{"tag":"BG 1","owner":"a1","description":"green bag","tracker":"lt-1"}`, http.StatusCreated, nil, "luggage.register", "BG1:a1")
	step("GET", "/v1/luggage?owner=a1", "", http.StatusOK, nil, "luggage.list", "owner=a1")
	step("GET", "/v1/luggage/BG1", "", http.StatusOK, nil, "luggage.read", "BG1:a1")
	step("POST", "/v1/luggage/BG1/lost", `{"place":"bus 3"}`, http.StatusOK, nil, "luggage.lost", "BG1:a1")
	var fr FoundRecorded
	step("POST", "/v1/found-items", `{"where":"Helpdesk Mina 3","description":"green bag","tag":"BG1"}`, http.StatusCreated, &fr, "found.record", "Helpdesk Mina 3")
	step("GET", "/v1/found-items", "", http.StatusOK, nil, "found.list", "found-items")
	step("GET", "/v1/found-items/"+fr.Found.ID, "", http.StatusOK, nil, "found.read", fr.Found.ID)
	step("POST", "/v1/found-items/"+fr.Found.ID+"/match", `{"tag":"BG1"}`, http.StatusOK, nil, "found.match", "BG1")
	step("POST", "/v1/luggage/BG1/handover", `{"to":"a1","signature":"slip 9"}`, http.StatusOK, nil, "luggage.handover", "BG1")

	// A guide working their own group's case is not audited (scoped, not staff).
	before := len(entries())
	f.call("GET", "/v1/cases/"+c.ID, "guideA", "", http.StatusOK, nil)
	f.call("GET", "/v1/alerts", "guideA", "", http.StatusOK, nil)
	if n := len(entries()) - before; n != 0 {
		t.Errorf("guide's own-group reads wrote %d audit entries", n)
	}
}

// When the audit log cannot be written, a helpdesk step that would disclose
// personal data changes nothing and discloses nothing.
func TestHelpdeskNoDisclosureWithoutAudit(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) { d.Store = failingAudit{d.Store} })
	f.place("a1", centroid(f.tentA))
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/cases", `{"pilgrim":"a1"}`},
		{"POST", "/v1/sightings", `{"pilgrim":"a1","lat":21.4,"lon":39.9,"source":"operator"}`},
		{"GET", "/v1/alerts", ""},
		{"POST", "/v1/luggage", `{"tag":"BG1","owner":"a1"}`},
		{"GET", "/v1/found-items", ""},
	} {
		if code, body := f.do(r.method, r.path, "operator", r.body); code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the audit log down: %d %s, want 503", r.method, r.path, code, body)
		}
	}
	var cl CaseList
	f.call("GET", "/v1/cases", "guideA", "", http.StatusOK, &cl)
	if len(cl.Cases) != 0 {
		t.Errorf("a case was opened although its audit failed: %+v", cl.Cases)
	}
}
