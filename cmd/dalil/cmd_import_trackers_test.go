package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `dalil import trackers` posts the file to the server with the admin
// token and prints the server's verdict: a count, or every bad line as
// FILE:LINE, column: reason.
func TestImportTrackersCommand(t *testing.T) {
	var got struct{ auth, ctype, body, query string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.auth, got.ctype, got.body, got.query = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b), r.URL.RawQuery
		if r.URL.Path != "/v1/trackers/import" {
			http.NotFound(w, r)
			return
		}
		if strings.Contains(string(b), "bad") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"x","errors":[{"line":3,"column":"imei","reason":"digits only"},{"line":5,"reason":"no trackers"}]}`)
			return
		}
		io.WriteString(w, `{"imported":2,"pilgrims":1,"bags":1}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(good, []byte("imei,pilgrim\n356209100000014,a1\n"), 0o600)
	os.WriteFile(bad, []byte("imei,pilgrim\nbad,a1\n"), 0o600)

	var out, errOut bytes.Buffer
	err := runImport(context.Background(), []string{"trackers", good, "--server", srv.URL, "--token", "admin-secret"}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "2 trackers imported: 1 on pilgrims, 1 on bags") {
		t.Fatalf("good file: %v %q %q", err, out.String(), errOut.String())
	}
	if got.auth != "Bearer admin-secret" || got.ctype != "text/csv" || !strings.HasPrefix(got.body, "imei,pilgrim") || got.query != "" {
		t.Fatalf("request %+v", got)
	}
	out.Reset()
	err = runImport(context.Background(), []string{"trackers", "--dry-run", bad, "--server", srv.URL, "--token", "admin-secret"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 problem(s), nothing was imported") || got.query != "dry_run=1" {
		t.Fatalf("bad file: %v (query %q)", err, got.query)
	}
	if !strings.Contains(errOut.String(), bad+":3, column imei: digits only") || !strings.Contains(errOut.String(), bad+":5: no trackers") {
		t.Fatalf("stderr %q", errOut.String())
	}
	t.Setenv("DALIL_ADMIN_TOKEN", "")
	if err := runImport(context.Background(), []string{"trackers", good, "--server", srv.URL}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("no token: %v", err)
	}
}
