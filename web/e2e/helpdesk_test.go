package e2e_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHelpdeskScreens walks the console's helpdesk screens against a real
// server: "Found a pilgrim" (by passport, by name, a refused wristband scan,
// and a scan at the desk that records the visit), a sighting from the
// pilgrim panel that moves the pilgrim, a sighting from the case view that
// shows in the case's timeline, and assigning the case.
func TestHelpdeskScreens(t *testing.T) {
	chromiumPath(t) // skip before building anything when there is no browser
	d := startDalil(t)
	operator := d.mint("operator", "e2e-desk")
	p := d.findDemoPilgrim(operator)
	var pv struct {
		Pilgrim struct {
			Passport   string `json:"passport"`
			TrackingNo string `json:"tracking_no"`
			Phone      string `json:"phone"`
		} `json:"pilgrim"`
		Guide *struct {
			Name  string `json:"name_en"`
			Phone string `json:"phone"`
		} `json:"guide"`
	}
	d.call(operator, http.MethodGet, "/v1/pilgrims/"+p.PID, nil, http.StatusOK, &pv)
	t.Logf("demo pilgrim %s (%s), tent %s, device %s, passport %q", p.PID, p.Name, p.Tent, p.Device, pv.Pilgrim.Passport)

	ctx, errs := newBrowser(t, 1400, 880)
	signIn(t, ctx, d.url, operator)
	waitJS(t, ctx, "live feed connected", `document.getElementById('live-status').dataset.state === 'live'`, 20*time.Second)

	// Places away from the pilgrim, in other camps: the desk, where staff see
	// the pilgrim, and where a scan finds them while the case is open.
	places := eval[[][]float64](t, ctx, "camps away from the pilgrim", fmt.Sprintf(`(() => {
		const here = L.latLng(%g, %g);
		return [...window.dalil.map.camps.values()]
			.filter((c) => c.id.startsWith('mina-'))
			.map((c) => [c.centre.lat, c.centre.lon, here.distanceTo([c.centre.lat, c.centre.lon])])
			.filter((c) => c[2] > 300 && c[2] < 4000)
			.sort((a, b) => a[2] - b[2])
			.reduce((kept, c) => kept.every((o) => L.latLng(o[0], o[1]).distanceTo([c[0], c[1]]) > 250) ? [...kept, c] : kept, [])
			.slice(0, 3); })()`, p.Lat, p.Lon))
	if len(places) < 3 {
		t.Fatalf("only %d camps 300–4000 m from the pilgrim at %.5f,%.5f", len(places), p.Lat, p.Lon)
	}
	desk, seen, scanned := places[0], places[1], places[2]

	// --- Found a pilgrim: by passport (or another number the pilgrim carries).
	tentNo := p.Tent[strings.LastIndex(p.Tent, "/")+1:]
	if n, err := strconv.Atoi(tentNo); err == nil {
		tentNo = strconv.Itoa(n)
	}
	campNo := strings.TrimLeft(strings.TrimPrefix(p.Camp, "mina-"), "0")
	ident := firstNonEmpty(pv.Pilgrim.Passport, pv.Pilgrim.TrackingNo, pv.Pilgrim.Phone, p.PID)
	do(t, ctx, "found tab", chromedp.Click(chromedp.CSS("[data-tab=found]")))
	foundLookup(t, ctx, "q", ident)
	waitJS(t, ctx, "found-person answer", fmt.Sprintf(`!document.getElementById('fp-answer').hidden &&
		document.getElementById('fp-answer').dataset.pid === %q`, p.PID), 15*time.Second)
	if got := textOf(t, ctx, "#fp-tent"); got != "Tent "+tentNo {
		t.Errorf("found a pilgrim by %q shows %q, want %q", ident, got, "Tent "+tentNo)
	}
	if got := eval[string](t, ctx, "tent id", `document.getElementById('fp-tent').dataset.tent`); got != p.Tent {
		t.Errorf("found a pilgrim: tent %q, want %q", got, p.Tent)
	}
	if got := textOf(t, ctx, "#fp-camp"); !strings.Contains(got, "camp "+campNo) {
		t.Errorf("found a pilgrim: camp %q, want camp %s", got, campNo)
	}
	if pv.Guide != nil && pv.Guide.Phone != "" {
		link := eval[[]string](t, ctx, "guide's phone", `(() => { const a = document.querySelector('#fp-guide a');
			return a ? [a.getAttribute('href'), a.textContent, document.getElementById('fp-guide').textContent] : []; })()`)
		if len(link) != 3 || link[0] != "tel:"+telDigits(pv.Guide.Phone) || link[1] != pv.Guide.Phone || !strings.Contains(link[2], pv.Guide.Name) {
			t.Errorf("guide shown as %q, want %s with a tel: link to %s", link, pv.Guide.Name, pv.Guide.Phone)
		}
	}
	waitJS(t, ctx, "walk home drawn on the map", `+document.getElementById('fp-walk').dataset.route > 1 &&
		document.querySelector('path.found-route')`, 5*time.Second)
	if walk := textOf(t, ctx, "#fp-walk"); !strings.Contains(walk, " m") || !strings.Contains(walk, "tent "+tentNo) {
		t.Errorf("walk %q: want a length and the tent", walk)
	}

	// By name: one answer, or several namesakes to choose from.
	foundLookup(t, ctx, "q", p.Name)
	waitJS(t, ctx, "found by name", `!document.getElementById('fp-answer').hidden || !document.getElementById('fp-candidates').hidden ||
		document.getElementById('fp-error').textContent`, 15*time.Second)
	if e := textOf(t, ctx, "#fp-error"); e != "" {
		t.Fatalf("found a pilgrim by name %q: %s", p.Name, e)
	}
	byName := fmt.Sprintf(`document.getElementById('fp-answer').dataset.pid === %q && document.getElementById('fp-tent').dataset.tent === %q`, p.PID, p.Tent)
	if eval[bool](t, ctx, "namesakes?", `!document.getElementById('fp-candidates').hidden`) {
		pick := fmt.Sprintf(`#fp-candidate-list li[data-pid=%q] button`, p.PID)
		if eval[bool](t, ctx, "candidate listed", fmt.Sprintf(`!!document.querySelector(%q)`, pick)) {
			clickJS(t, ctx, "choose the pilgrim among the namesakes", pick, 5*time.Second)
			waitJS(t, ctx, "the chosen namesake's tent", byName, 15*time.Second)
		} else {
			t.Logf("more than ten pilgrims are called %q; %s is not among the candidates", p.Name, p.PID)
		}
	} else if !eval[bool](t, ctx, "found by name: the pilgrim's tent", byName) {
		t.Errorf("found by name %q: answer for %q, want %s in %s", p.Name,
			eval[string](t, ctx, "answer pid", `document.getElementById('fp-answer').dataset.pid || ''`), p.PID, p.Tent)
	}

	// A scan of a band nobody wears: the API's error, naming the field.
	foundLookup(t, ctx, "wristband", "no-such-band-e2e")
	waitJS(t, ctx, "unknown band refused", `document.getElementById('fp-error').textContent`, 15*time.Second)
	if got := textOf(t, ctx, "#fp-error"); got != "wristband: no pilgrim wears device no-such-band-e2e" {
		t.Errorf("unknown band: error %q", got)
	}
	if !eval[bool](t, ctx, "no answer", `document.getElementById('fp-answer').hidden`) {
		t.Error("an answer is still shown after a refused scan")
	}

	// The pilgrim's own band, scanned at the desk: the operator clicks the
	// desk's place on the map and records the visit. The walk starts there.
	deskLat, deskLon := clickMapNear(t, ctx, desk[0], desk[1])
	waitJS(t, ctx, "desk pinned", fmt.Sprintf(`document.getElementById('fp-at').dataset.pinned === '1' &&
		Math.abs(+document.getElementById('fp-at').dataset.lat - %g) < 1e-9`, deskLat), 5*time.Second)
	eval[bool](t, ctx, "record the visit", `document.getElementById('fp-here').checked = true`)
	foundLookup(t, ctx, "wristband", p.Device)
	waitJS(t, ctx, "scan answered with the visit recorded", fmt.Sprintf(`document.getElementById('fp-answer').dataset.pid === %q &&
		document.getElementById('fp-visit').textContent.startsWith('Visit recorded')`, p.PID), 15*time.Second)
	if got := eval[string](t, ctx, "tent after scan", `document.getElementById('fp-tent').dataset.tent`); got != p.Tent {
		t.Errorf("scan of %s: tent %q, want %q", p.Device, got, p.Tent)
	}
	if walk := textOf(t, ctx, "#fp-walk"); !strings.Contains(walk, "from the desk") {
		t.Errorf("walk after a recorded visit: %q, want it from the desk", walk)
	}
	start := eval[[]float64](t, ctx, "route start", `(() => { const ll = window.dalil.found.routeLayer.getLatLngs()[0]; return [ll.lat, ll.lng]; })()`)
	if m := metresBetween(start[0], start[1], deskLat, deskLon); m > 40 {
		t.Errorf("the walk starts %.0f m from the desk", m)
	}
	errs.check(t)

	// --- A sighting from the pilgrim panel, at the map centre: the pilgrim's
	// dot moves there.
	do(t, ctx, "open the pilgrim", chromedp.Click(chromedp.CSS("#fp-open")))
	waitJS(t, ctx, "pilgrim panel", fmt.Sprintf(`document.getElementById('pilgrim').dataset.pid === %q &&
		!document.getElementById('tab-pilgrim').hidden`, p.PID), 15*time.Second)
	eval[bool](t, ctx, "watch the live position", `(() => { window.__seen = []; const e = document.getElementById('p-live');
		new MutationObserver(() => window.__seen.push([+e.dataset.lat, +e.dataset.lon]))
			.observe(e, {attributes: true, childList: true, characterData: true, subtree: true});
		document.getElementById('p-sighting-box').open = true; return true; })()`)
	// The desk's pin is still down: go back to the map centre.
	clickJS(t, ctx, "use the map centre", "#p-sighting .pick button", 5*time.Second)
	centre := eval[[]float64](t, ctx, "centre the map", fmt.Sprintf(`(() => { window.dalil.map.map.setView([%g, %g], 18, {animate: false});
		const e = document.querySelector('#p-sighting .pick'); return e.dataset.pinned ? [] : [+e.dataset.lat, +e.dataset.lon]; })()`, seen[0], seen[1]))
	if len(centre) != 2 {
		t.Fatal("the sighting form still uses the pin after 'use map centre'")
	}
	eval[bool](t, ctx, "fill the sighting", `(() => { const f = document.getElementById('p-sighting');
		f.elements.source.value = 'nfc'; f.elements.note.value = 'e2e: seen by a scout'; f.requestSubmit(); return true; })()`)
	waitJS(t, ctx, "sighting recorded", fmt.Sprintf(`document.getElementById('p-sighting').dataset.sighting &&
		document.querySelector('#p-sighting .status').textContent.startsWith('Sighting of %s recorded')`, p.PID), 15*time.Second)
	waitJS(t, ctx, "the pilgrim's dot moves to the sighting", fmt.Sprintf(
		`window.__seen.some(([a, b]) => Math.abs(a - %g) < 1e-6 && Math.abs(b - %g) < 1e-6)`, centre[0], centre[1]), 15*time.Second)

	// --- Report lost, then a scan elsewhere, recorded from the case view at
	// a place clicked on the map, appears in the case's timeline.
	do(t, ctx, "report lost", chromedp.Click(chromedp.CSS("#p-open-case")))
	waitJS(t, ctx, "case view", `document.getElementById('case').dataset.id && !document.getElementById('tab-cases').hidden`, 15*time.Second)
	caseID := eval[string](t, ctx, "case id", `document.getElementById('case').dataset.id`)
	eval[bool](t, ctx, "open the sighting form", `document.getElementById('c-sighting-box').open = true`)
	sLat, sLon := clickMapNear(t, ctx, scanned[0], scanned[1])
	waitJS(t, ctx, "scan place pinned", fmt.Sprintf(`document.querySelector('#c-sighting .pick').dataset.pinned === '1' &&
		Math.abs(+document.querySelector('#c-sighting .pick').dataset.lat - %g) < 1e-9`, sLat), 5*time.Second)
	if !eval[bool](t, ctx, "still the case view", fmt.Sprintf(`!document.getElementById('tab-cases').hidden && document.getElementById('case').dataset.id === %q`, caseID)) {
		t.Fatal("clicking the map left the case view")
	}
	eval[bool](t, ctx, "record the scan", `(() => { const f = document.getElementById('c-sighting');
		f.elements.source.value = 'qr_scan'; f.elements.note.value = 'e2e: wristband scanned at a gate'; f.requestSubmit(); return true; })()`)
	waitJS(t, ctx, "scan recorded", `document.getElementById('c-sighting').dataset.sighting`, 15*time.Second)
	waitJS(t, ctx, "the scan is in the case's timeline", `document.querySelector('#c-timeline li[data-by="system:sighting"]')`, 20*time.Second)
	var c struct {
		State    string `json:"state"`
		Assignee string `json:"assignee"`
		Timeline []struct {
			By     string `json:"by"`
			Action string `json:"action"`
			Note   string `json:"note"`
			Place  *struct {
				Lat   float64 `json:"lat"`
				Lon   float64 `json:"lon"`
				Where string  `json:"where"`
			} `json:"place"`
		} `json:"timeline"`
	}
	d.call(operator, http.MethodGet, "/v1/cases/"+caseID, nil, http.StatusOK, &c)
	where := ""
	for _, e := range c.Timeline {
		if e.By == "system:sighting" && e.Place != nil && math.Abs(e.Place.Lat-sLat) < 1e-6 && math.Abs(e.Place.Lon-sLon) < 1e-6 {
			where = e.Place.Where
		}
	}
	if where == "" {
		t.Fatalf("case %s has no timeline entry at the scanned place %.6f,%.6f: %+v", caseID, sLat, sLon, c.Timeline)
	}
	shown := eval[string](t, ctx, "timeline entry", `[...document.querySelectorAll('#c-timeline li[data-by="system:sighting"]')].map((li) => li.textContent).join('\n')`)
	if !strings.Contains(shown, where) {
		t.Errorf("the timeline shows %q, want the place %q", shown, where)
	}
	if c.State != "located" {
		t.Errorf("case %s after the scan: state %q, want located", caseID, c.State)
	}

	// --- Assignment: to me, to a named desk (which a colleague's console
	// shows), and back to nobody.
	item := fmt.Sprintf(`#cases li[data-id=%q]`, caseID)
	clickJS(t, ctx, "assign to me", "#c-assign-me", 5*time.Second)
	waitJS(t, ctx, "assigned to me", fmt.Sprintf(`document.getElementById('c-assignee').textContent === 'e2e-desk' &&
		document.querySelector('%s[data-assignee="e2e-desk"]') &&
		document.querySelector('%s .assignee').textContent === 'assigned to e2e-desk'`, item, item), 10*time.Second)
	eval[bool](t, ctx, "assign to desk-7", `(() => { document.getElementById('c-assign-to').value = 'desk-7';
		document.getElementById('c-assign-form').requestSubmit(); return true; })()`)
	waitJS(t, ctx, "assigned to desk-7", fmt.Sprintf(`document.getElementById('c-assignee').textContent === 'desk-7' &&
		document.querySelector('%s .assignee').textContent === 'assigned to desk-7' &&
		[...document.querySelectorAll('#c-timeline li[data-action=assigned]')].some((li) => li.textContent.includes('assigned to desk-7'))`, item), 10*time.Second)
	d.call(operator, http.MethodGet, "/v1/cases/"+caseID, nil, http.StatusOK, &c)
	if c.Assignee != "desk-7" {
		t.Errorf("case %s assignee %q after assigning in the console, want desk-7", caseID, c.Assignee)
	}
	colleague := newTab(t, ctx, errs)
	signIn(t, colleague, d.url, d.mint("operator", "e2e-desk-2"))
	do(t, colleague, "colleague's cases", chromedp.Click(chromedp.CSS("[data-tab=cases]")))
	waitJS(t, colleague, "the colleague sees who has the case", fmt.Sprintf(`document.querySelector('%s .assignee') &&
		document.querySelector('%s .assignee').textContent === 'assigned to desk-7'`, item, item), 15*time.Second)
	clickJS(t, ctx, "unassign", "#c-unassign", 5*time.Second)
	waitJS(t, ctx, "unassigned", fmt.Sprintf(`document.getElementById('c-assignee').dataset.assignee === '' &&
		document.querySelector('%s .assignee').textContent === 'unassigned'`, item), 10*time.Second)
	waitJS(t, colleague, "the colleague sees it unassigned", fmt.Sprintf(`document.querySelector('%s .assignee').textContent === 'unassigned'`, item), 15*time.Second)
	errs.check(t)
}

// signIn opens the console and signs in with token.
func signIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	do(t, ctx, "open the console",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-token")),
		chromedp.SendKeys(chromedp.CSS("#signin-token"), token),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
	)
	waitJS(t, ctx, "console signed in and the layout drawn",
		`document.body.dataset.ready === "1" && window.dalil.map.camps.size > 0`, 60*time.Second)
}

// foundLookup types value into "Found a pilgrim" as kind ("q" or
// "wristband") and submits, as a keyboard or a scanner would.
func foundLookup(t *testing.T, ctx context.Context, kind, value string) {
	t.Helper()
	eval[bool](t, ctx, "clear the found form", fmt.Sprintf(`(() => { document.getElementById('fp-by').value = %q;
		document.getElementById('fp-value').value = ''; return true; })()`, kind))
	do(t, ctx, "look up "+value,
		chromedp.SendKeys(chromedp.CSS("#fp-value"), value+"\r"),
	)
}

// clickMapNear centres the map near lat, lon and clicks it with the mouse
// at the spot nearest to that place that is clear of live dots, markers and
// controls, and checks that the click dropped the place pin there. It
// returns the pin's place.
func clickMapNear(t *testing.T, ctx context.Context, lat, lon float64) (float64, float64) {
	t.Helper()
	eval[bool](t, ctx, "zoom in", fmt.Sprintf(`window.dalil.map.map.setView([%g, %g], 19, {animate: false}) && true`, lat, lon))
	time.Sleep(1500 * time.Millisecond) // the live dots of the new view arrive
	xy := eval[[]float64](t, ctx, "find a clear spot", fmt.Sprintf(`(() => {
		const m = window.dalil.map.map;
		const box = m.getContainer().getBoundingClientRect();
		const c = m.latLngToContainerPoint([%g, %g]);
		const dots = [...window.dalil.live.markers.values()].map((v) => m.latLngToContainerPoint(v.marker.getLatLng()));
		for (let r = 0; r <= 240; r += 20) {
			for (let a = 0; a < 360; a += 30) {
				const x = Math.round(c.x + r * Math.cos(a * Math.PI / 180));
				const y = Math.round(c.y + r * Math.sin(a * Math.PI / 180));
				if (x < 40 || y < 60 || x > box.width - 40 || y > box.height - 60) continue;
				if (dots.some((d) => Math.hypot(d.x - x, d.y - y) < 30)) continue;
				const e = document.elementFromPoint(box.left + x, box.top + y);
				if (!e || !m.getContainer().contains(e) || e.closest('.leaflet-marker-icon, .leaflet-control, .leaflet-tooltip')) continue;
				const ll = m.containerPointToLatLng([x, y]);
				return [box.left + x, box.top + y, ll.lat, ll.lng];
			}
		}
		return [];
	})()`, lat, lon))
	if len(xy) != 4 {
		t.Fatalf("no clear spot on the map near %.5f,%.5f", lat, lon)
	}
	do(t, ctx, "click the map", chromedp.MouseClickXY(xy[0], xy[1]))
	// The pin is where the click landed (to a pixel).
	var pin []float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		pin = eval[[]float64](t, ctx, "read the pin", `(() => { const p = window.dalil.pick.position(); return p.pinned ? [p.lat, p.lon] : []; })()`)
		if len(pin) == 2 && metresBetween(pin[0], pin[1], xy[2], xy[3]) < 2 {
			return pin[0], pin[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("clicked the map at %.6f,%.6f; the pin is at %v", xy[2], xy[3], pin)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// telDigits is what a tel: link keeps of a phone number.
func telDigits(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r == '+' || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func metresBetween(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}
