package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRoleScopeMatrix proves every endpoint refuses each role that may not use
// it (403; 401 without a token) and serves each role that may.
func TestRoleScopeMatrix(t *testing.T) {
	f := newFixture(t)
	f.place("a1", centroid(f.tentA))
	f.place("gA-guide", centroid(f.tentA))
	f.place("b1", centroid(f.tentB))
	campA := f.tentA.Camp
	p := centroid(f.tentA)
	ll := fmt.Sprintf("lat=%f&lon=%f", p.Lat, p.Lon)

	const (
		ok      = http.StatusOK
		no      = http.StatusForbidden
		created = http.StatusCreated
	)
	all := func(code int) map[string]int {
		m := map[string]int{}
		for _, r := range matrixRoles() {
			m[r] = code
		}
		return m
	}
	people := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok, "pilgrimA": ok, "pilgrimB": ok}
	pilgrimA := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "pilgrimA": ok}
	staffAndGuides := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok}
	adminOnly := map[string]int{"admin": ok}
	rows := []matrixRow{
		{method: "GET", path: "/v1/layout", want: people},
		{method: "GET", path: "/v1/camps/" + campA, want: people},
		{method: "GET", path: "/v1/tents/" + f.tentA.ID, want: people},
		{method: "GET", path: "/v1/locate?" + ll, want: people},
		{method: "GET", path: "/v1/me", want: all(ok)},
		{method: "GET", path: "/v1/pilgrims/a1", want: pilgrimA},
		{method: "GET", path: "/v1/pilgrims/a1/trail", want: pilgrimA},
		{method: "GET", path: "/v1/pilgrims/a1/route", want: pilgrimA},
		{method: "GET", path: "/v1/pilgrims/gA-guide", want: map[string]int{"admin": ok, "operator": ok, "guideA": ok}},
		{method: "GET", path: "/v1/pilgrims/b1", want: map[string]int{"admin": ok, "operator": ok, "guideB": ok, "pilgrimB": ok}},
		{method: "GET", path: "/v1/nearby?" + ll, want: staffAndGuides},
		{method: "GET", path: "/v1/camps/" + campA + "/pilgrims", want: staffAndGuides},
		{method: "GET", path: "/v1/groups/gA", want: map[string]int{"admin": ok, "operator": ok, "guideA": ok}},
		{method: "GET", path: "/v1/groups/gB", want: map[string]int{"admin": ok, "operator": ok, "guideB": ok}},
		{method: "POST", path: "/v1/tokens", body: `{"role":"operator","subject":""}`, want: map[string]int{"admin": created}},
		{method: "GET", path: "/v1/tokens", want: adminOnly},
		{method: "GET", path: "/v1/audit", want: adminOnly},
		{method: "GET", path: "/metrics", want: adminOnly},
		// Ingest takes device tokens only, and answers other tokens 401.
		{method: "POST", path: "/v1/pings", body: fmt.Sprintf(`[{"ts":%q,"lat":%f,"lon":%f,"acc":5}]`,
			time.Now().UTC().Format(time.RFC3339), p.Lat, p.Lon), want: map[string]int{"device": ok}, others: http.StatusUnauthorized},
	}
	checkMatrix(t, f, rows)

	if st, ok := f.srv.Engine().Device("ph-a1"); !ok || st.Position.Accuracy != 5 {
		t.Errorf("the device's ping did not reach the engine: %+v", st)
	}

	// Revoking: only admin; each call needs a token to revoke.
	for _, role := range append(matrixRoles(), "") {
		_, info, err := f.srv.MintToken(t.Context(), RoleOperator, "")
		if err != nil {
			t.Fatal(err)
		}
		want := no
		switch role {
		case "admin":
			want = http.StatusNoContent
		case "":
			want = http.StatusUnauthorized
		}
		if code, body := f.do("DELETE", "/v1/tokens/"+info.ID, role, ""); code != want {
			t.Errorf("DELETE /v1/tokens as %q: got %d, want %d (%s)", role, code, want, body)
		}
	}
}

// matrixRoles are the fixture's tokens, one per role and scope.
func matrixRoles() []string {
	return []string{"admin", "operator", "guideA", "guideB", "pilgrimA", "pilgrimB", "device"}
}

// matrixRow is one endpoint of a role matrix.
type matrixRow struct {
	method, path, body string
	// pathFor overrides path for some roles: a step that changes state (a
	// transition, a handover) gets its own case or bag for each allowed role.
	pathFor map[string]string
	bodyFor map[string]string // overrides body, like pathFor
	want    map[string]int    // by role; missing roles must get `others`
	others  int               // 0 means 403
}

// checkMatrix calls every row as every role and without a token: a role in
// want must get its code, another role `others` (403 by default), and no
// token 401; every refusal is a JSON error body.
func checkMatrix(t *testing.T, f *fixture, rows []matrixRow) {
	t.Helper()
	for _, r := range rows {
		for _, role := range append(matrixRoles(), "") {
			want, listed := r.want[role]
			switch {
			case role == "":
				want = http.StatusUnauthorized
			case !listed && r.others != 0:
				want = r.others
			case !listed:
				want = http.StatusForbidden
			}
			path := r.path
			if p, ok := r.pathFor[role]; ok {
				path = p
			}
			reqBody := r.body
			if b, ok := r.bodyFor[role]; ok {
				reqBody = b
			}
			code, body := f.do(r.method, path, role, reqBody)
			if code != want {
				t.Errorf("%s %s as %q: got %d, want %d (%s)", r.method, path, role, code, want, body)
			}
			if code >= 400 && r.path != "/v1/pings" { // ingest answers devices in text
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("%s %s as %q: error body %q is not {\"error\":…}", r.method, path, role, body)
				}
			}
		}
	}
}

// A guide or pilgrim filtered to their own people sees nobody else in lists.
func TestListsAreScoped(t *testing.T) {
	f := newFixture(t)
	// Everyone at the same spot: a1 and b1 side by side in tent A.
	p := centroid(f.tentA)
	f.place("a1", p)
	f.place("b1", p)
	path := fmt.Sprintf("/v1/nearby?lat=%f&lon=%f&radius=200", p.Lat, p.Lon)

	pids := func(token string, url string, field string) []string {
		var v map[string]json.RawMessage
		f.getJSON(url, token, &v)
		var list []PersonView
		if err := json.Unmarshal(v[field], &list); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range list {
			out = append(out, x.PID)
		}
		return out
	}
	got := strings.Join(pids("operator", path, "results"), ",")
	if !strings.Contains(got, "a1") || !strings.Contains(got, "b1") {
		t.Errorf("operator nearby = %s, want a1 and b1", got)
	}
	if got := strings.Join(pids("guideA", path, "results"), ","); got != "a1" {
		t.Errorf("guide A nearby = %q, want only a1", got)
	}
	campPath := "/v1/camps/" + f.tentA.Camp + "/pilgrims"
	if got := strings.Join(pids("guideB", campPath, "pilgrims"), ","); got != "b1" {
		t.Errorf("guide B camp list = %q, want only b1", got)
	}
}

// TestHelpdeskRoleScopeMatrix is the role matrix of the helpdesk: search,
// cases, found-person, sightings, alerts, luggage and found items. Steps that
// change state act on their own case or bag per allowed role, so that each
// allowed call is a valid step.
func TestHelpdeskRoleScopeMatrix(t *testing.T) {
	f := newFixture(t)
	f.place("a1", centroid(f.tentA))
	desk := centroid(f.tentB)
	const (
		ok      = http.StatusOK
		created = http.StatusCreated
	)
	// Three cases in group A, one per role that may move a case along.
	caseOf := map[string]string{}
	for _, pid := range []string{"a1", "a2", "a3"} {
		var c struct{ ID string }
		f.call("POST", "/v1/cases", "operator", `{"kind":"lost_pilgrim","pilgrim":"`+pid+`"}`, created, &c)
		caseOf[pid] = c.ID
	}
	// Bags of a1: one to read, one per role that may report it lost, hand it
	// over or match it to a found item.
	for _, tag := range []string{"BG1", "LOSTA", "LOSTO", "LOSTP", "HANDA", "HANDO", "MATCHA", "MATCHO"} {
		f.call("POST", "/v1/luggage", "operator", `{"tag":"`+tag+`","owner":"a1","description":"bag `+tag+`"}`, created, nil)
	}
	foundFor := map[string]string{}
	for _, tag := range []string{"MATCHA", "MATCHO"} {
		f.call("POST", "/v1/luggage/"+tag+"/lost", "operator", `{"place":"bus"}`, ok, nil)
		var fr FoundRecorded
		f.call("POST", "/v1/found-items", "operator", `{"where":"desk 1","description":"bag `+tag+`"}`, created, &fr)
		foundFor[tag] = fr.Found.ID
	}

	staff := map[string]int{"admin": ok, "operator": ok}
	people := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok, "pilgrimA": ok, "pilgrimB": ok}
	groupA := map[string]int{"admin": ok, "operator": ok, "guideA": ok}
	c1 := "/v1/cases/" + caseOf["a1"]
	sighting := `{"pilgrim":"a1","lat":` + jsonNum(desk.Lat) + `,"lon":` + jsonNum(desk.Lon) + `,"source":"operator"}`
	rows := []matrixRow{
		{method: "GET", path: "/v1/search?q=a1", want: staff},
		{method: "POST", path: "/v1/found-person", body: `{"pid":"a1"}`, want: staff},
		{method: "POST", path: "/v1/sightings", body: sighting, want: map[string]int{"admin": created, "operator": created, "guideA": created}},
		{method: "GET", path: "/v1/alerts", want: map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok}},

		// a1 has an active case: each allowed report joins it (200).
		{method: "POST", path: "/v1/cases", body: `{"pilgrim":"a1","note":"seen near the bridge"}`,
			want: map[string]int{"admin": ok, "operator": ok, "guideA": ok, "pilgrimA": ok}},
		{method: "GET", path: "/v1/cases?state=open", want: people},
		{method: "GET", path: c1, want: map[string]int{"admin": ok, "operator": ok, "guideA": ok, "pilgrimA": ok}},
		{method: "POST", path: c1 + "/transition", body: `{"to":"escorted","note":"on the way"}`, want: groupA,
			pathFor: map[string]string{"operator": "/v1/cases/" + caseOf["a2"] + "/transition", "guideA": "/v1/cases/" + caseOf["a3"] + "/transition"}},
		{method: "POST", path: c1 + "/assign", body: `{"operator":"desk-3"}`, want: staff},
		{method: "POST", path: c1 + "/notes", body: `{"note":"called the family"}`, want: groupA},
		{method: "GET", path: "/v1/cases/handover", want: staff},

		{method: "POST", path: "/v1/luggage", body: `{"tag":"BG2","owner":"a1","description":"green bag"}`, want: map[string]int{"admin": created, "operator": created}},
		{method: "GET", path: "/v1/luggage", want: map[string]int{"admin": ok, "operator": ok, "pilgrimA": ok, "pilgrimB": ok}},
		{method: "GET", path: "/v1/luggage/BG1", want: map[string]int{"admin": ok, "operator": ok, "pilgrimA": ok}},
		{method: "POST", path: "/v1/luggage/LOSTA/lost", body: `{"place":"bus 12"}`, want: map[string]int{"admin": ok, "operator": ok, "pilgrimA": ok},
			pathFor: map[string]string{"operator": "/v1/luggage/LOSTO/lost", "pilgrimA": "/v1/luggage/LOSTP/lost"}},
		{method: "POST", path: "/v1/luggage/HANDA/handover", body: `{"to":"a1 in person","signature":"slip 1"}`, want: staff,
			pathFor: map[string]string{"operator": "/v1/luggage/HANDO/handover"}},
		{method: "POST", path: "/v1/found-items", body: `{"where":"Helpdesk Mina 3","description":"black backpack"}`, want: map[string]int{"admin": created, "operator": created}},
		{method: "GET", path: "/v1/found-items", want: staff},
		{method: "GET", path: "/v1/found-items/" + foundFor["MATCHA"], want: staff},
		{method: "POST", path: "/v1/found-items/" + foundFor["MATCHA"] + "/match", body: `{"tag":"MATCHA"}`, want: staff,
			pathFor: map[string]string{"operator": "/v1/found-items/" + foundFor["MATCHO"] + "/match"},
			bodyFor: map[string]string{"operator": `{"tag":"MATCHO"}`}},
	}
	checkMatrix(t, f, rows)
}
