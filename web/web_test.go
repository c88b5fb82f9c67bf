package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// fakeSite is a minimal static tree, with or without the vendored map library.
func fakeSite(vendored bool) fstest.MapFS {
	m := fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>console</title><div id=map></div>")},
		"me.html":           {Data: []byte("<!doctype html><title>me</title>")},
		"app/console.js":    {Data: []byte("export const x = 1;\n")},
		"app/favicon.svg":   {Data: []byte("<svg/>")},
		"vendor/.stamp":     {Data: []byte("")},
		"vendor/notes.html": {Data: []byte("<p>x</p>")},
	}
	if vendored {
		m[vendorProbe] = &fstest.MapFile{Data: []byte("window.L = {};")}
	}
	return m
}

func TestPagesAndAssets(t *testing.T) {
	h := newHandler(fakeSite(true))
	cases := []struct {
		target, wantType string
		wantCode         int
	}{
		{"/", "text/html", 200},
		{"/index.html", "text/html", 200},
		{"/me", "text/html", 200},
		{"/me/", "text/html", 200},
		{"/static/app/console.js", "javascript", 200},
		{"/static/" + vendorProbe, "javascript", 200},
		{"/favicon.ico", "image/svg+xml", 200},
		{"/static/app/missing.js", "", 404},
		{"/static/index.html", "", 404},        // pages only at their routes, with their headers
		{"/static/vendor/notes.html", "", 404}, // no HTML from under /static at all
		{"/static/vendor/.stamp", "", 404},     // build stamps stay hidden
		{"/static/../web.go", "", 404},         // no escaping the tree
		{"/static/app//console.js", "", 404},   // exact names only
		{"/v1/nothing", "", 404},               // the API's paths are not ours
		{"/mystery", "", 404},
	}
	for _, c := range cases {
		rec := get(t, h, c.target)
		if rec.Code != c.wantCode {
			t.Errorf("GET %s: status %d, want %d", c.target, rec.Code, c.wantCode)
			continue
		}
		if c.wantType != "" && !strings.Contains(rec.Header().Get("Content-Type"), c.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %q", c.target, rec.Header().Get("Content-Type"), c.wantType)
		}
	}
}

func TestUnknownAPIPathsAnswerJSON(t *testing.T) {
	h := newHandler(fakeSite(true))
	rec := get(t, h, "/v1/no\"where<x>")
	var body struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "no such endpoint") {
		t.Errorf("GET /v1/… unknown: %d %q (%v), want a JSON error naming the endpoint", rec.Code, rec.Body.String(), err)
	}
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	h := newHandler(fakeSite(true))
	for _, p := range []string{"/", "/me"} {
		rec := get(t, h, p)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
			}
		}
		// /me is opened with ?token=…: the token must not leak through Referer.
		if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q, want no-referrer", p, got)
		}
	}
}

func TestWithoutVendorTheConsoleSaysRunMakeWeb(t *testing.T) {
	h := newHandler(fakeSite(false))
	rec := get(t, h, "/")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET / without vendor files: status %d, want 503", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "make web") {
		t.Errorf("GET / without vendor files does not say to run make web:\n%s", rec.Body.String())
	}
	// The tent finder needs no map library and keeps working.
	if rec := get(t, h, "/me"); rec.Code != http.StatusOK {
		t.Errorf("GET /me without vendor files: status %d, want 200", rec.Code)
	}
}

func TestETagRevalidation(t *testing.T) {
	h := newHandler(fakeSite(true))
	first := get(t, h, "/static/app/console.js")
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on an asset")
	}
	if again := get(t, h, "/static/app/console.js", "If-None-Match", etag); again.Code != http.StatusNotModified {
		t.Errorf("repeat request with the ETag: status %d, want 304", again.Code)
	}
	if other := get(t, h, "/static/"+vendorProbe); other.Header().Get("ETag") == etag {
		t.Error("two different files share an ETag")
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	h := newHandler(fakeSite(true))
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /: status %d, want 405", m, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/me", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD /me: status %d, want 200", rec.Code)
	}
}

// The real embedded pages: every file they reference is served, and every
// module import of the console's scripts resolves, so a renamed file cannot
// slip through without the browser tests.
func TestEmbeddedPagesReferenceServedFiles(t *testing.T) {
	h := Handler()
	root, _ := fs.Sub(embedded, "static")
	_, vendored := newHandler(root).(*handler).files[vendorProbe]
	refRE := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	for _, page := range []string{"index.html", "me.html"} {
		b, err := fs.ReadFile(root, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range refRE.FindAllStringSubmatch(string(b), -1) {
			if strings.HasPrefix(m[1], "/static/vendor/") && !vendored {
				continue // `make web` has not run; TestWithoutVendor… covers that case
			}
			if rec := get(t, h, m[1]); rec.Code != http.StatusOK {
				t.Errorf("%s references %s: status %d", page, m[1], rec.Code)
			}
		}
	}
	importRE := regexp.MustCompile(`(?m)^\s*import\s[^;]*?from\s+'(\./[^']+)'`)
	scripts, _ := fs.Glob(root, "app/*.js")
	if len(scripts) < 5 {
		t.Fatalf("only %d scripts under static/app", len(scripts))
	}
	for _, s := range scripts {
		b, _ := fs.ReadFile(root, s)
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			target := path.Join(path.Dir(s), m[1])
			if _, err := fs.Stat(root, target); err != nil {
				t.Errorf("%s imports %s, which does not exist", s, m[1])
			}
		}
	}
}

// The tent finder speaks English and Bangla: both dictionaries have the same
// keys, and every data-t key of the page is in them.
func TestTentFinderTranslationsComplete(t *testing.T) {
	src, err := fs.ReadFile(embedded, "static/app/me_i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	keys := func(lang string) []string {
		start := strings.Index(string(src), "\n  "+lang+": {")
		if start < 0 {
			t.Fatalf("no %s dictionary", lang)
		}
		body := string(src[start:])
		body = body[:strings.Index(body, "\n  },")]
		var ks []string
		for _, m := range regexp.MustCompile(`(?m)^\s{4}(\w+):`).FindAllStringSubmatch(body, -1) {
			ks = append(ks, m[1])
		}
		slices.Sort(ks)
		return ks
	}
	en, bn := keys("en"), keys("bn")
	if len(en) < 20 {
		t.Fatalf("English dictionary has only %d keys", len(en))
	}
	if !slices.Equal(en, bn) {
		t.Errorf("English and Bangla keys differ:\n en %v\n bn %v", en, bn)
	}
	page, _ := fs.ReadFile(embedded, "static/me.html")
	for _, m := range regexp.MustCompile(`data-t="(\w+)"`).FindAllStringSubmatch(string(page), -1) {
		if !slices.Contains(en, m[1]) {
			t.Errorf("me.html uses data-t=%q, missing from the dictionaries", m[1])
		}
	}
	// Bangla strings must really be Bangla (not English left untranslated),
	// except where the same word is used in both (SOS).
	bnBody := string(src[strings.Index(string(src), "\n  bn: {"):])
	if !regexp.MustCompile(`[\x{0980}-\x{09FF}]`).MatchString(bnBody) {
		t.Error("the Bangla dictionary has no Bengali script")
	}
}

// TestJavaScript checks every script for syntax errors and runs the unit
// tests of the pages' pure functions (jstest/) with Node.js, when it is
// installed (it is wherever `make web` runs; package.json makes the scripts
// ES modules for Node too).
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the browser tests in web/e2e run the scripts too")
	}
	files, _ := filepath.Glob("static/app/*.js")
	tests, _ := filepath.Glob("jstest/*.test.js")
	if len(files) < 5 || len(tests) == 0 {
		t.Fatalf("found %d scripts and %d test files", len(files), len(tests))
	}
	// One node process parses every script as a module without running it.
	const check = `const fs = require('fs'); const vm = require('vm'); let bad = 0;
for (const f of process.argv.slice(1)) {
  try { new vm.SourceTextModule(fs.readFileSync(f, 'utf8'), { identifier: f }); }
  catch (e) { bad++; console.log(f + ': ' + e); }
}
process.exitCode = bad ? 1 : 0;`
	args := append([]string{"--experimental-vm-modules", "--no-warnings", "-e", check}, files...)
	if out, err := exec.Command(node, args...).CombinedOutput(); err != nil {
		t.Errorf("syntax errors: %v\n%s", err, out)
	}
	if out, err := exec.Command(node, "--test", "jstest/").CombinedOutput(); err != nil {
		t.Errorf("node --test jstest/: %v\n%s", err, out)
	}
}
