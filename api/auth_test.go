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
	roles := []string{"admin", "operator", "guideA", "guideB", "pilgrimA", "pilgrimB", "device"}
	type row struct {
		method, path, body string
		want               map[string]int // by role; missing roles must get `others`
		others             int            // 0 means 403
	}
	all := func(code int) map[string]int {
		m := map[string]int{}
		for _, r := range roles {
			m[r] = code
		}
		return m
	}
	people := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok, "pilgrimA": ok, "pilgrimB": ok}
	pilgrimA := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "pilgrimA": ok}
	staffAndGuides := map[string]int{"admin": ok, "operator": ok, "guideA": ok, "guideB": ok}
	adminOnly := map[string]int{"admin": ok}
	rows := []row{
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
	for _, r := range rows {
		for _, role := range append(roles, "") {
			want, listed := r.want[role]
			switch {
			case role == "":
				want = http.StatusUnauthorized
			case !listed && r.others != 0:
				want = r.others
			case !listed:
				want = no
			}
			code, body := f.do(r.method, r.path, role, r.body)
			if code != want {
				t.Errorf("%s %s as %q: got %d, want %d (%s)", r.method, r.path, role, code, want, body)
			}
			if code >= 400 && r.path != "/v1/pings" { // ingest answers devices in text
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("%s %s as %q: error body %q is not {\"error\":…}", r.method, r.path, role, body)
				}
			}
		}
	}

	if st, ok := f.srv.Engine().Device("ph-a1"); !ok || st.Position.Accuracy != 5 {
		t.Errorf("the device's ping did not reach the engine: %+v", st)
	}

	// Revoking: only admin; each call needs a token to revoke.
	for _, role := range append(roles, "") {
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
