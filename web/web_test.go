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

// Every catalogue of a page (i18n/<page>.<lang>.js) has the English one's
// keys, every word the page's HTML asks for is in English, the tent finder
// has its seven languages, and the scripts that must be Arabic or Bengali
// are. (jstest/i18n.test.js checks the placeholders and plural forms.)
func TestTranslationsComplete(t *testing.T) {
	root, _ := fs.Sub(embedded, "static")
	keyRE := regexp.MustCompile(`(?m)^  (\w+):`)
	keys := func(name string) []string {
		src, err := fs.ReadFile(root, name)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, m := range keyRE.FindAllStringSubmatch(string(src), -1) {
			ks = append(ks, m[1])
		}
		slices.Sort(ks)
		return ks
	}
	script := map[string]*regexp.Regexp{
		"ar": regexp.MustCompile(`[\x{0600}-\x{06FF}]`),
		"ur": regexp.MustCompile(`[\x{0600}-\x{06FF}]`),
		"bn": regexp.MustCompile(`[\x{0980}-\x{09FF}]`),
	}
	for _, c := range []struct {
		page, html string
		attr       *regexp.Regexp
		langs      []string
	}{
		{"console", "index.html", regexp.MustCompile(`data-i18n(?:-[a-z-]+)?="(\w+)"`), []string{"en", "ar", "bn"}},
		{"me", "me.html", regexp.MustCompile(`data-t="(\w+)"`), []string{"en", "ar", "bn", "ur", "id", "tr", "fr"}},
	} {
		en := keys("app/i18n/" + c.page + ".en.js")
		if len(en) < 30 {
			t.Fatalf("%s: English catalogue has only %d keys", c.page, len(en))
		}
		files, _ := fs.Glob(root, "app/i18n/"+c.page+".*.js")
		var langs []string
		for _, f := range files {
			lang := strings.Split(path.Base(f), ".")[1]
			langs = append(langs, lang)
			if got := keys(f); !slices.Equal(got, en) {
				t.Errorf("%s: keys differ from English:\n got %v\nwant %v", f, got, en)
			}
			if re := script[lang]; re != nil {
				src, _ := fs.ReadFile(root, f)
				if n := len(re.FindAllString(string(src), -1)); n < 200 {
					t.Errorf("%s: only %d letters of its script", f, n)
				}
			}
		}
		for _, want := range c.langs {
			if !slices.Contains(langs, want) {
				t.Errorf("%s: no %s catalogue (have %v)", c.page, want, langs)
			}
		}
		page, _ := fs.ReadFile(root, c.html)
		for _, m := range c.attr.FindAllStringSubmatch(string(page), -1) {
			if !slices.Contains(en, m[1]) {
				t.Errorf("%s asks for %q, missing from the %s catalogues", c.html, m[1], c.page)
			}
		}
	}
}

// The tent finder's service worker is served at /me-sw.js with a version
// that is the build's: another file's change changes the worker, which is
// what makes phones replace their offline copy.
func TestServiceWorkerVersionFollowsTheBuild(t *testing.T) {
	site := fakeSite(true)
	site[workerFile] = &fstest.MapFile{Data: []byte("const VERSION = '__DALIL_VERSION__';\n")}
	rec := get(t, newHandler(site), "/me-sw.js")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("GET /me-sw.js: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	first := rec.Body.String()
	if strings.Contains(first, "__DALIL_VERSION__") || !regexp.MustCompile(`VERSION = '[0-9a-f]{16}'`).MatchString(first) {
		t.Fatalf("worker version not filled in: %q", first)
	}
	if again := get(t, newHandler(site), "/me-sw.js").Body.String(); again != first {
		t.Errorf("same files, different worker: %q vs %q", first, again)
	}
	site["app/console.js"] = &fstest.MapFile{Data: []byte("export const x = 2;\n")}
	if changed := get(t, newHandler(site), "/me-sw.js").Body.String(); changed == first {
		t.Error("a changed file left the worker's version as it was")
	}
	if rec := get(t, newHandler(fakeSite(true)), "/me-sw.js"); rec.Code != http.StatusNotFound {
		t.Errorf("without a worker file: %d, want 404", rec.Code)
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
