package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// speak makes the tab's browser speak languages (an Accept-Language list):
// navigator.languages follows, which is what the pages choose by.
func speak(languages string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		ua, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`))
		if err != nil {
			return err
		}
		_, err = chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: strings.Replace(ua, "HeadlessChrome", "Chrome", 1), AcceptLanguage: languages,
		})
		return err
	})
}

var (
	arabicDigits  = regexp.MustCompile(`[\x{0660}-\x{0669}]`)
	bengaliDigits = regexp.MustCompile(`[\x{09E6}-\x{09EF}]`)
	asciiDigits   = regexp.MustCompile(`[0-9]`)
)

// An Arabic-speaking operator gets the console in Arabic, right to left, with
// the panel on the right and numbers in Arabic-Indic digits, and can search
// for a pilgrim and work a lost case from open to closed in Arabic. The
// choice can be changed and is remembered.
func TestConsoleInArabic(t *testing.T) {
	chromiumPath(t)
	d := startDalil(t)
	operator := d.mint("operator", "desk-ar")
	p := d.findDemoPilgrim(operator)

	ctx, errs := newBrowser(t, 1400, 880)
	do(t, ctx, "open the console in an Arabic browser",
		chromedp.Navigate("about:blank"),
		speak("ar-SA,ar;q=0.9,en;q=0.5"),
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-token")),
	)
	if got := eval[[]string](t, ctx, "document language", `[document.documentElement.lang, document.documentElement.dir, getComputedStyle(document.body).direction]`); strings.Join(got, " ") != "ar rtl rtl" {
		t.Fatalf("sign-in page: lang, dir, direction = %v, want ar rtl rtl", got)
	}
	if got := textOf(t, ctx, "#signin-form h1"); got != "تسجيل الدخول إلى دليل" {
		t.Errorf("sign-in title %q", got)
	}
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#signin-token"), operator),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
	)
	waitJS(t, ctx, "console ready", `document.body.dataset.ready === "1" && window.dalil.map.camps.size > 0`, 60*time.Second)

	// The panel sits on the right of the map, the tabs read in Arabic.
	side := eval[[]float64](t, ctx, "panel and map boxes", `(() => { const a = document.querySelector('.side').getBoundingClientRect();
		const m = document.querySelector('.mapwrap').getBoundingClientRect(); return [a.left, a.right, m.left, m.right]; })()`)
	if side[0] < side[3]-1 {
		t.Errorf("panel at x %.0f–%.0f, map at %.0f–%.0f: the panel is not on the right", side[0], side[1], side[2], side[3])
	}
	if got := textOf(t, ctx, "[data-tab=cases] [data-i18n]"); got != "البلاغات" {
		t.Errorf("cases tab reads %q", got)
	}
	if got := textOf(t, ctx, "#whoami"); !strings.Contains(got, "موظف") {
		t.Errorf("whoami %q, want the role in Arabic", got)
	}
	// Counts in Arabic-Indic digits: the live dots in view.
	waitJS(t, ctx, "live dots counted", `document.getElementById('map-count').textContent !== ''`, 30*time.Second)
	if got := textOf(t, ctx, "#map-count"); !arabicDigits.MatchString(got) || asciiDigits.MatchString(got) {
		t.Errorf("map count %q, want Arabic-Indic digits only", got)
	}
	// Camp numbers show at the operator's first zoom (the whole of Mina).
	if n := eval[int](t, ctx, "camp labels", `document.querySelectorAll('.camp-label').length`); n < 10 {
		t.Errorf("%d camp numbers at the first zoom, want them visible", n)
	}
	if got := eval[string](t, ctx, "a camp label", `document.querySelector('.camp-label').textContent`); !arabicDigits.MatchString(got) {
		t.Errorf("camp label %q, want Arabic-Indic digits", got)
	}
	// The demo has put lost pilgrims on the desk (sim.SeedIncidents) and
	// spread its crowd over Mina's camps, not two camps by the bridge.
	waitJS(t, ctx, "the demo's lost-pilgrim cases", `document.querySelectorAll('#cases li.case-item').length >= 4`, 60*time.Second)
	if got := contentOf(t, ctx, "#cases-count"); !arabicDigits.MatchString(got) {
		t.Errorf("cases count %q, want Arabic-Indic digits", got)
	}
	time.Sleep(time.Second) // the map's dots settle after the live snapshot
	screenshot(t, ctx, "console-ar.png")

	// Search in Arabic.
	do(t, ctx, "search",
		chromedp.SetValue(chromedp.CSS("#search-q"), p.PID),
		chromedp.Click(chromedp.CSS("#search-form button[type=submit]")),
	)
	waitJS(t, ctx, "search result", fmt.Sprintf(`document.querySelector('#results li[data-pid=%q]')`, p.PID), 15*time.Second)
	if got := contentOf(t, ctx, "#results-summary"); !strings.Contains(got, "نتيجة") {
		t.Errorf("search summary %q, want Arabic", got)
	}
	eval[bool](t, ctx, "open the pilgrim", fmt.Sprintf(`(() => {
		if (document.getElementById('pilgrim').dataset.pid !== %q) document.querySelector('#results li[data-pid=%q] button').click();
		return true; })()`, p.PID, p.PID))
	waitJS(t, ctx, "pilgrim panel", fmt.Sprintf(`document.getElementById('pilgrim').dataset.pid === %q && document.getElementById('p-live').dataset.lat`, p.PID), 15*time.Second)
	// The name stays in the script the registry holds.
	if got := textOf(t, ctx, "#p-name"); got != p.Name {
		t.Errorf("pilgrim name %q, want the registry's %q", got, p.Name)
	}
	if got := textOf(t, ctx, "#p-seen"); !strings.Contains(got, "منذ") {
		t.Errorf("last seen %q, want Arabic", got)
	}
	screenshot(t, ctx, "console-ar-pilgrim.png")

	// A lost case worked from open to closed with the Arabic buttons.
	clickJS(t, ctx, "report lost", "#p-open-case", 10*time.Second)
	waitJS(t, ctx, "case open", `!document.getElementById('case').hidden && document.getElementById('case').dataset.state === 'open'`, 15*time.Second)
	if got := textOf(t, ctx, "#c-state"); got != "مفتوح" {
		t.Errorf("case state reads %q, want مفتوح", got)
	}
	wantButton := map[string]string{"located": "حُدد مكانه", "escorted": "يُرافَق إلى خيمته", "reunited": "عاد إلى مجموعته", "closed": "أغلق البلاغ"}
	for _, to := range []string{"located", "escorted", "reunited", "closed"} {
		sel := fmt.Sprintf(`#c-actions button[data-to=%q]`, to)
		waitJS(t, ctx, "button to "+to, fmt.Sprintf(`document.querySelector(%q)`, sel), 10*time.Second)
		if got := textOf(t, ctx, sel); got != wantButton[to] {
			t.Errorf("button to %s reads %q, want %q", to, got, wantButton[to])
		}
		clickJS(t, ctx, "case → "+to, sel, 10*time.Second)
		waitJS(t, ctx, "case "+to, fmt.Sprintf(`document.getElementById('case').dataset.state === %q`, to), 15*time.Second)
	}
	if got := textOf(t, ctx, "#c-timeline"); !strings.Contains(got, "مغلق") || !arabicDigits.MatchString(got) {
		t.Errorf("timeline %q, want Arabic states and times", got)
	}
	errs.check(t)

	// Switch to English: left to right at once; the choice is remembered.
	eval[bool](t, ctx, "pick English", `(() => { const s = document.getElementById('lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); return true; })()`)
	waitJS(t, ctx, "English, left to right", `document.documentElement.dir === 'ltr' && document.querySelector('[data-tab=cases] [data-i18n]').textContent === 'Cases'`, 5*time.Second)
	if got := contentOf(t, ctx, "#c-state"); got != "closed" {
		t.Errorf("after switching, case state %q, want closed", got)
	}
	do(t, ctx, "reload", chromedp.Reload())
	waitJS(t, ctx, "still English after a reload", `document.body.dataset.ready === "1" && document.documentElement.lang === 'en'`, 60*time.Second)
	eval[bool](t, ctx, "back to Arabic", `(() => { const s = document.getElementById('lang'); s.value = 'ar'; s.dispatchEvent(new Event('change')); return true; })()`)
	waitJS(t, ctx, "Arabic again", `document.documentElement.dir === 'rtl'`, 5*time.Second)
	errs.check(t)
}

// contentOf is an element's text even while its tab is hidden.
func contentOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(eval[string](t, ctx, "text of "+sel, fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
}

// byteCounter is a reverse proxy in front of dalil that counts the bytes the
// server sends (status line and headers approximated, bodies exact), and can
// play a phone with no connection.
type byteCounter struct {
	srv     *httptest.Server
	bytes   atomic.Int64
	offline atomic.Bool
	mu      sync.Mutex
	byPath  map[string]int64 // since the last reset, for the test's log
}

// reset starts a new count.
func (b *byteCounter) reset() {
	b.mu.Lock()
	b.byPath = map[string]int64{}
	b.mu.Unlock()
	b.bytes.Store(0)
}

// breakdown lists the bytes per path since the last reset, largest first.
func (b *byteCounter) breakdown() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	paths := make([]string, 0, len(b.byPath))
	for p := range b.byPath {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return b.byPath[paths[i]] > b.byPath[paths[j]] })
	var sb strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&sb, "\n  %7d %s", b.byPath[p], p)
	}
	return sb.String()
}

func newByteCounter(t *testing.T, target string) *byteCounter {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	b := &byteCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.offline.Load() {
			// No network: the connection drops, as on a phone out of signal.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		cw := &countingWriter{ResponseWriter: w, n: &b.bytes}
		proxy.ServeHTTP(cw, r)
		b.mu.Lock()
		if b.byPath != nil {
			b.byPath[r.URL.Path] += cw.own
		}
		b.mu.Unlock()
	}))
	t.Cleanup(b.srv.Close)
	return b
}

type countingWriter struct {
	http.ResponseWriter
	n     *atomic.Int64
	own   int64
	wrote bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wrote {
		c.wrote = true
		n := len("HTTP/1.1 200 OK\r\n\r\n")
		for k, vs := range c.Header() {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		c.n.Add(int64(n))
		c.own += int64(n)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	c.n.Add(int64(len(p)))
	c.own += int64(len(p))
	return c.ResponseWriter.Write(p)
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// finderWords are words each language's tent finder must show: the tent,
// and the digits its numbers are written in.
var finderWords = []struct {
	lang, tent, sos string
	digits          *regexp.Regexp
	rtl             bool
}{
	{"en", "Tent", "SOS – I am lost", asciiDigits, false},
	{"ar", "خيمة", "نجدة – أنا تائه", arabicDigits, true},
	{"bn", "তাঁবু", "SOS – আমি হারিয়ে গেছি", bengaliDigits, false},
	{"ur", "خیمہ", "SOS – میں گم ہو گیا ہوں", nil, true},
	{"id", "Tenda", "SOS – Saya tersesat", asciiDigits, false},
	{"tr", "Çadır", "SOS – Kayboldum", asciiDigits, false},
	{"fr", "Tente", "SOS – Je suis perdu", asciiDigits, false},
}

// The tent finder on a phone: in each of its languages (right to left for
// Arabic and Urdu), chosen by the phone's language or the picker; the page
// weight on a first visit and a repeat visit; and the page still showing the
// tent with no connection at all.
func TestTentFinderLanguagesWeightAndOffline(t *testing.T) {
	chromiumPath(t)
	d := startDalil(t)
	operator := d.mint("operator", "desk-me")
	p := d.findDemoPilgrim(operator)
	pilgrim := d.mint("pilgrim", p.PID)
	net := newByteCounter(t, d.url)
	tentNo, _ := strconv.Atoi(p.Tent[strings.LastIndex(p.Tent, "/")+1:])

	// First and repeat visits, each in a fresh phone, in three languages.
	for _, lang := range []string{"en", "ar", "bn"} {
		t.Run("weight-"+lang, func(t *testing.T) {
			ctx, errs := newBrowser(t, 412, 915)
			do(t, ctx, "phone", chromedp.Navigate("about:blank"), speak(lang), phone(net.srv.URL, p.Lat, p.Lon))
			net.reset()
			do(t, ctx, "first visit", chromedp.Navigate(net.srv.URL+"/me?token="+pilgrim))
			waitJS(t, ctx, "ready and kept for offline", `document.body.dataset.ready === "1" && document.body.dataset.offlineReady === "1" &&
				navigator.serviceWorker.controller`, 30*time.Second)
			time.Sleep(2 * time.Second) // the worker keeps the files the page loaded
			if got := eval[string](t, ctx, "language", `document.documentElement.lang`); got != lang {
				t.Fatalf("phone speaking %s got the page in %q", lang, got)
			}
			first := net.bytes.Load()
			t.Logf("first visit in %s, bytes by path:%s", lang, net.breakdown())
			net.reset()
			do(t, ctx, "repeat visit", chromedp.Navigate(net.srv.URL+"/me"))
			waitJS(t, ctx, "ready again", `document.body.dataset.ready === "1"`, 30*time.Second)
			time.Sleep(time.Second)
			again := net.bytes.Load()
			t.Logf("repeat visit in %s, bytes by path:%s", lang, net.breakdown())
			t.Logf("tent finder in %s: first visit %d bytes, repeat visit %d bytes (live feed websocket not counted)", lang, first, again)
			if first > 200_000 {
				t.Errorf("first visit in %s: %d bytes, want under 200 kB", lang, first)
			}
			if again*4 > first {
				t.Errorf("repeat visit in %s: %d bytes of %d: the page is not served from the phone's copy", lang, again, first)
			}
			if lang == "ar" {
				// No connection at all: the page, the tent and the way still show.
				net.offline.Store(true)
				do(t, ctx, "offline visit", chromedp.Navigate(net.srv.URL+"/me"))
				waitJS(t, ctx, "the tent offline", fmt.Sprintf(`document.getElementById('tent').textContent.includes(%q)`, "خيمة"), 30*time.Second)
				net.offline.Store(false)
				return // the live feed's failed reconnects are expected offline
			}
			errs.check(t)
		})
	}

	// Every language by the picker, with screenshots of three.
	ctx, errs := newBrowser(t, 412, 915)
	do(t, ctx, "open the tent finder", chromedp.Navigate("about:blank"), speak("en"), phone(d.url, p.Lat-150.0/111320, p.Lon),
		chromedp.Navigate(d.url+"/me?token="+pilgrim))
	waitJS(t, ctx, "tent finder ready", `document.body.dataset.ready === "1"`, 30*time.Second)
	for _, w := range finderWords {
		eval[bool](t, ctx, "pick "+w.lang, fmt.Sprintf(`(() => { const s = document.getElementById('lang'); s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`, w.lang))
		waitJS(t, ctx, w.lang+" shown", fmt.Sprintf(`document.documentElement.lang === %q && document.getElementById('tent').textContent.includes(%q)`, w.lang, w.tent), 10*time.Second)
		dir := eval[string](t, ctx, "direction", `getComputedStyle(document.body).direction`)
		if (dir == "rtl") != w.rtl {
			t.Errorf("%s: direction %s", w.lang, dir)
		}
		tent := textOf(t, ctx, "#tent")
		if w.digits != nil && !w.digits.MatchString(tent) {
			t.Errorf("%s: tent %q, want its number in the language's digits", w.lang, tent)
		}
		if w.digits == asciiDigits && !strings.Contains(tent, strconv.Itoa(tentNo)) {
			t.Errorf("%s: tent %q, want number %d", w.lang, tent, tentNo)
		}
		if got := textOf(t, ctx, "#sos"); got != w.sos {
			t.Errorf("%s: SOS button %q, want %q", w.lang, got, w.sos)
		}
		// Nothing left untranslated: no element shows its own key.
		if bad := eval[string](t, ctx, "keys on screen", `[...document.querySelectorAll('[data-t]')].filter((e) => e.textContent === e.dataset.t).map((e) => e.dataset.t).join(',')`); bad != "" {
			t.Errorf("%s: untranslated %s", w.lang, bad)
		}
		waitJS(t, ctx, w.lang+" distance", `document.getElementById('distance').textContent !== '–'`, 20*time.Second)
		if w.lang == "ar" || w.lang == "bn" || w.lang == "id" {
			time.Sleep(700 * time.Millisecond) // fonts swap in, the arrow turns
			screenshot(t, ctx, "tent-finder-"+w.lang+".png")
		}
	}
	// The choice is remembered.
	do(t, ctx, "reload", chromedp.Reload())
	waitJS(t, ctx, "still French", `document.body.dataset.ready === "1" && document.documentElement.lang === 'fr'`, 30*time.Second)
	errs.check(t)
}
