// Package web serves Dalil's browser pages: the helpdesk console and guide view
// at "/" and the pilgrim's tent finder at "/me".
//
// The pages are plain HTML, CSS and JavaScript committed under static/ and
// embedded into the binary, so the console works with no internet: the map is
// the layout itself (GET /v1/layout) drawn with Leaflet on a plain background,
// without remote tiles, fonts or CDNs. Leaflet and leaflet.markercluster come
// from the npm registry: `make web` installs them with `npm ci` and copies their
// dist files into static/vendor/ (gitignored), where the next build embeds them.
// A binary built without `make web` still serves every page; the console then
// explains that its map library is missing instead of failing in the browser.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:embed all:static
var embedded embed.FS

// vendorProbe is the file whose presence says `make web` ran before the build.
const vendorProbe = "vendor/leaflet/leaflet.js"

// Handler serves the console at "/", the tent finder at "/me" and their assets
// under "/static/". Anything else is 404 (as JSON under /v1/ and /ingest/),
// so that it can be mounted at "/" beside the API.
func Handler() http.Handler {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		// The embed pattern guarantees the directory; reaching this is a build bug.
		panic("web: embedded static directory missing: " + err.Error())
	}
	return newHandler(static)
}

// newHandler serves the files of root; tests pass their own file systems.
// Every file is read and hashed once here: the set is small (a few hundred
// kilobytes) and never changes while the process runs.
func newHandler(root fs.FS) http.Handler {
	h := &handler{files: make(map[string]file)}
	_ = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // an unreadable entry is simply not served
		}
		data, err := fs.ReadFile(root, name)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(data)
		h.files[name] = file{data: string(data), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	_, h.vendored = h.files[vendorProbe]
	h.worker = finderWorker(h.files)
	return h
}

// workerFile is the tent finder's service worker, served at /me-sw.js so that
// it may control /me.
const workerFile = "app/me-sw.js"

// finderWorker fills the service worker's VERSION with a hash of every
// other file: a new build changes the worker, and a changed worker is what
// makes phones drop the old cached page and fetch the new one.
func finderWorker(files map[string]file) file {
	src, ok := files[workerFile]
	if !ok {
		return file{}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if n != workerFile {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	sum := sha256.New()
	for _, n := range names {
		io.WriteString(sum, n+"\x00"+files[n].etag+"\x00")
	}
	version := hex.EncodeToString(sum.Sum(nil)[:8])
	data := strings.Replace(src.data, "__DALIL_VERSION__", version, 1)
	tag := sha256.Sum256([]byte(data))
	return file{data: data, etag: `"` + hex.EncodeToString(tag[:12]) + `"`}
}

type file struct {
	data string
	etag string
}

type handler struct {
	files    map[string]file // read-only after newHandler
	vendored bool
	worker   file // the tent finder's service worker, versioned by the build
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		h.page(w, r, "index.html", true)
	case p == "/me" || p == "/me/":
		h.page(w, r, "me.html", false)
	case strings.HasPrefix(p, "/static/"):
		h.asset(w, r, strings.TrimPrefix(p, "/static/"))
	case p == "/me-sw.js" && h.worker.data != "":
		h.serveWorker(w, r)
	case p == "/favicon.ico":
		h.serveFile(w, r, "app/favicon.svg")
	case strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/ingest/"):
		// Mounted at "/", the console also receives the API's unknown paths:
		// answer them in the API's error shape, not with an HTML page.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"no such endpoint: `+r.Method+` `+jsonSafe(p)+`"}`+"\n")
	default:
		http.NotFound(w, r)
	}
}

// jsonSafe keeps a path printable inside a JSON string: anything but plain
// ASCII letters, digits and a few URL characters becomes '?'.
func jsonSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-_.~%:@,+=", c) >= 0
		if !ok {
			b[i] = '?'
		}
	}
	return string(b)
}

// page serves an HTML page. Pages that need the map library get the "run make
// web" page instead when the build did not embed it.
func (h *handler) page(w http.ResponseWriter, r *http.Request, name string, needsMap bool) {
	setSecurityHeaders(w.Header())
	if needsMap && !h.vendored {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, missingVendorPage)
		return
	}
	h.serveFile(w, r, name)
}

// asset serves a file under /static/. Pages are reachable at their own routes
// only (so their security headers always apply), and build stamps are hidden.
func (h *handler) asset(w http.ResponseWriter, r *http.Request, name string) {
	if strings.HasSuffix(name, ".html") || strings.HasPrefix(path.Base(name), ".") {
		http.NotFound(w, r)
		return
	}
	h.serveFile(w, r, name)
}

func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := h.files[name] // exact names only: "../x" or "a//b" never match
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		hdr.Set("Content-Type", ct)
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Revalidate every time: the files change with each build and are small;
	// the ETag turns a repeat visit into 304s.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(f.data))
}

// serveWorker serves the tent finder's service worker. It is revalidated on
// every visit (browsers also check it at most daily by themselves), so a new
// build reaches the phones on their next visit with a connection.
func (h *handler) serveWorker(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", h.worker.etag)
	http.ServeContent(w, r, "me-sw.js", time.Time{}, strings.NewReader(h.worker.data))
}

// setSecurityHeaders locks the pages to their own origin: no remote scripts,
// styles, fonts or tiles, no framing, and no token leaking through Referer
// (the tent finder is opened with ?token=).
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
}

const missingVendorPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dalil: run make web</title>
<style>body{font:18px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}code{background:#eee;padding:0 .3em}</style>
</head><body>
<h1>The console's map library is not installed</h1>
<p>This dalil binary was built without the console's npm packages (Leaflet and leaflet.markercluster).
Run <code>make web</code> in the repository, then rebuild (<code>make build</code>) or start with <code>make run</code>.</p>
<p>The API, the live feed and the pilgrim tent finder at <a href="/me">/me</a> work without it.</p>
</body></html>
`
