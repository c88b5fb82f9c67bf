package api

import (
	"bytes"
	"net/http"
	"testing"
)

// The profiler is for admins: anyone else is refused before any profile is
// taken, and an admin gets the index and a heap profile.
func TestPprofAdminOnly(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/cmdline"} {
		if code, _ := f.do("GET", path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", path, code)
		}
		for _, who := range []string{"operator", "guideA", "pilgrimA", "device"} {
			if code, _ := f.do("GET", path, who, ""); code != http.StatusForbidden {
				t.Errorf("%s as %s: %d, want 403", path, who, code)
			}
		}
	}
	code, body := f.do("GET", "/debug/pprof/", "admin", "")
	if code != http.StatusOK || !bytes.Contains(body, []byte("goroutine")) {
		t.Fatalf("index as admin: %d %.200s", code, body)
	}
	code, body = f.do("GET", "/debug/pprof/heap", "admin", "")
	if code != http.StatusOK || len(body) == 0 {
		t.Fatalf("heap profile as admin: %d, %d bytes", code, len(body))
	}
}
