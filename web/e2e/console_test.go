// Package e2e_test drives the console, the guide view and the tent finder in
// headless Chromium against a real `dalil serve --demo`.
//
//	make web && DALIL_TEST_CHROMIUM=/usr/bin/chromium go test ./web/e2e/
//
// DALIL_UPDATE_SCREENSHOTS=1 also writes docs/console.png and docs/tent-finder.png.
package e2e_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestConsoleTentFinderAndGuideView(t *testing.T) {
	chromiumPath(t) // skip before building anything when there is no browser
	d := startDalil(t)
	operator := d.mint("operator", "e2e-desk")
	p := d.findDemoPilgrim(operator)
	t.Logf("demo pilgrim %s (%s), tent %s, device %s", p.PID, p.Name, p.Tent, p.Device)

	ctx, errs := newBrowser(t, 1400, 880)

	// Sign in with an operator token.
	do(t, ctx, "open the console",
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-token")),
		chromedp.SendKeys(chromedp.CSS("#signin-token"), operator),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
	)
	waitJS(t, ctx, "console signed in and the layout drawn",
		`document.body.dataset.ready === "1" && window.dalil.map.camps.size > 0`, 60*time.Second)
	if who := textOf(t, ctx, "#whoami"); !strings.Contains(who, "operator") {
		t.Errorf("whoami shows %q, want the operator role", who)
	}
	// The operator sees search, cases and luggage; not the guide's group tab.
	waitJS(t, ctx, "operator UI", `!document.getElementById('search-form').hidden &&
		!document.querySelector('[data-tab=cases]').hidden && !document.querySelector('[data-tab=luggage]').hidden &&
		document.querySelector('[data-tab=group]').hidden`, 5*time.Second)
	waitJS(t, ctx, "live feed connected", `document.getElementById('live-status').dataset.state === 'live'`, 20*time.Second)
	waitJS(t, ctx, "live positions in view", `window.dalil.live.markers.size > 0`, 30*time.Second)

	// Search the demo pilgrim by PID and open the panel.
	do(t, ctx, "search",
		chromedp.SetValue(chromedp.CSS("#search-q"), p.PID),
		chromedp.Click(chromedp.CSS("#search-form button[type=submit]")),
	)
	hit := fmt.Sprintf(`#results li[data-pid=%q] button`, p.PID)
	waitJS(t, ctx, "search result", fmt.Sprintf(`document.querySelector(%q)`, hit), 15*time.Second)
	// A search with one hit opens the pilgrim by itself; otherwise choose it.
	eval[bool](t, ctx, "open the pilgrim", fmt.Sprintf(`(() => {
		if (document.getElementById('pilgrim').dataset.pid !== %q) document.querySelector(%q).click();
		return true; })()`, p.PID, hit))
	waitJS(t, ctx, "pilgrim panel", fmt.Sprintf(`document.getElementById('pilgrim').dataset.pid === %q &&
		!document.getElementById('pilgrim').hidden && document.getElementById('p-live').dataset.lat`, p.PID), 15*time.Second)
	if name := textOf(t, ctx, "#p-name"); name != p.Name {
		t.Errorf("pilgrim panel shows %q, want %q", name, p.Name)
	}

	// The live dot moves when a ping arrives. Record every position the panel
	// shows, post a ping 80 m north of where the pilgrim is (so that the route
	// home has some length), and expect it.
	cur := eval[[]float64](t, ctx, "read the live position",
		`(() => { window.__seen = []; const e = document.getElementById('p-live');
		  new MutationObserver(() => { const ll = window.dalil.pilgrim.dot.getLatLng();
		    window.__seen.push([+e.dataset.lat, +e.dataset.lon, ll.lat, ll.lng]); })
		    .observe(e, {attributes: true, childList: true, characterData: true, subtree: true});
		  return [+e.dataset.lat, +e.dataset.lon]; })()`)
	lat, lon := cur[0]+80.0/111320, cur[1]
	device := d.mint("device", p.Device)
	d.ping(device, p.Device, lat, lon)
	waitJS(t, ctx, "live dot moved to the posted ping", fmt.Sprintf(
		`window.__seen.some(([a, b, ma, mb]) => Math.abs(a - %f) < 1e-6 && Math.abs(b - %f) < 1e-6 &&
		  Math.abs(ma - %f) < 1e-6 && Math.abs(mb - %f) < 1e-6)`, lat, lon, lat, lon), 15*time.Second)

	// The walking route to the tent is drawn.
	do(t, ctx, "route", chromedp.Click(chromedp.CSS("#p-route")))
	waitJS(t, ctx, "route drawn", `+document.getElementById('p-route-info').dataset.route > 1`, 15*time.Second)
	if info := textOf(t, ctx, "#p-route-info"); !strings.Contains(info, "Walk") {
		t.Errorf("route info %q", info)
	}
	time.Sleep(500 * time.Millisecond) // let the map settle for the picture
	screenshot(t, ctx, "console.png")

	// Open a case for the pilgrim and walk it to closed.
	do(t, ctx, "report lost", chromedp.Click(chromedp.CSS("#p-open-case")))
	waitJS(t, ctx, "case opened", `document.getElementById('case').dataset.id &&
		document.getElementById('case').dataset.state === 'open' && !document.getElementById('tab-cases').hidden`, 15*time.Second)
	caseID := eval[string](t, ctx, "case id", `document.getElementById('case').dataset.id`)
	waitJS(t, ctx, "case in the queue", fmt.Sprintf(`document.querySelector('#cases li[data-id=%q]')`, caseID), 10*time.Second)
	for _, to := range []string{"located", "escorted", "reunited", "closed"} {
		if to == "located" {
			// A ping of the pilgrim's own device may locate the case first
			// (auto-locate); then there is no button to press.
			waitJS(t, ctx, "case → located", `(() => {
				if (document.getElementById('case').dataset.state === 'located') return true;
				const e = document.querySelector('#c-actions button[data-to="located"]');
				if (!e || e.disabled) return false; e.click(); return true; })()`, 10*time.Second)
		} else {
			clickJS(t, ctx, "case → "+to, fmt.Sprintf(`#c-actions button[data-to=%q]`, to), 10*time.Second)
		}
		waitJS(t, ctx, "case is "+to, fmt.Sprintf(`document.getElementById('case').dataset.state === %q`, to), 10*time.Second)
	}
	var c struct {
		State    string `json:"state"`
		Pilgrim  string `json:"pilgrim"`
		Timeline []struct {
			State string `json:"state"`
		} `json:"timeline"`
	}
	d.call(operator, http.MethodGet, "/v1/cases/"+caseID, nil, http.StatusOK, &c)
	if c.State != "closed" || c.Pilgrim != p.PID || len(c.Timeline) < 5 {
		t.Errorf("case %s after closing in the console: state %q pilgrim %q, %d timeline entries; want closed, %s, ≥5",
			caseID, c.State, c.Pilgrim, len(c.Timeline), p.PID)
	}
	waitJS(t, ctx, "closed case leaves the queue", fmt.Sprintf(`!document.querySelector('#cases li[data-id=%q]')`, caseID), 10*time.Second)
	waitJS(t, ctx, "timeline shows the steps", `document.querySelectorAll('#c-timeline li').length >= 5`, 5*time.Second)
	errs.check(t)

	// Lost luggage: report a bag lost, record a found item with its tag,
	// match the suggestion and hand the bag over.
	tag := fmt.Sprintf("E2E%06d", time.Now().UnixNano()%1000000)
	do(t, ctx, "luggage tab", chromedp.Click(chromedp.CSS("[data-tab=luggage]")))
	eval[bool](t, ctx, "report a bag lost", fmt.Sprintf(`(() => { const f = document.getElementById('lost-form');
		f.tag.value = %q; f.owner.value = %q; f.description.value = 'green suitcase with a red ribbon'; f.place.value = 'gate of camp 1';
		f.requestSubmit(); return true; })()`, tag, p.PID))
	bag := fmt.Sprintf(`#luggage-lost li[data-tag=%q]`, tag)
	waitJS(t, ctx, "bag listed as lost", fmt.Sprintf(`document.querySelector('%s.status-lost')`, bag), 10*time.Second)
	eval[bool](t, ctx, "record a found item", fmt.Sprintf(`(() => { const f = document.getElementById('found-form');
		f.description.value = 'green suitcase, red ribbon'; f.where.value = 'helpdesk 2'; f.tag.value = %q;
		f.requestSubmit(); return true; })()`, tag))
	match := fmt.Sprintf(`[...document.querySelectorAll('#luggage-found .match')].find((m) => m.textContent.includes(%q))`, tag)
	waitJS(t, ctx, "the found item suggests the bag", match, 10*time.Second)
	eval[bool](t, ctx, "match", match+`.querySelector('button').click() || true`)
	waitJS(t, ctx, "bag at the desk", fmt.Sprintf(`document.querySelector('%s.status-found button')`, bag), 10*time.Second)
	eval[bool](t, ctx, "hand over", fmt.Sprintf(`(() => { const li = document.querySelector('%s.status-found');
		li.querySelector('input[name=signature]').value = 'passport checked'; li.querySelector('button').click(); return true; })()`, bag))
	waitJS(t, ctx, "bag handed over", fmt.Sprintf(`!document.querySelector('%s')`, bag), 10*time.Second)
	var bagState struct {
		Status string `json:"status"`
	}
	d.call(operator, http.MethodGet, "/v1/luggage/"+tag, nil, http.StatusOK, &bagState)
	if bagState.Status != "returned" {
		t.Errorf("bag %s after the hand-over: status %q, want returned", tag, bagState.Status)
	}
	errs.check(t)

	// The guide of the pilgrim's group sees the group with distances.
	if p.Group != "" {
		guideTab := newTab(t, ctx, errs)
		do(t, guideTab, "guide signs in",
			chromedp.Navigate(d.url+"/"),
			chromedp.WaitVisible(chromedp.CSS("#signin-token")),
			chromedp.SendKeys(chromedp.CSS("#signin-token"), d.mint("guide", p.Group)),
			chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		)
		waitJS(t, guideTab, "group view", fmt.Sprintf(`document.body.dataset.ready === "1" &&
			!document.getElementById('tab-group').hidden && document.querySelector('#g-members tr[data-pid=%q]')`, p.PID), 30*time.Second)
		waitJS(t, guideTab, "guide UI: group cases, no search or luggage", `document.getElementById('search-form').hidden &&
			!document.querySelector('[data-tab=cases]').hidden && document.querySelector('[data-tab=luggage]').hidden`, 5*time.Second)
		waitJS(t, guideTab, "members on the map", `window.dalil.live.markers.size > 0`, 15*time.Second)
		errs.check(t)
	}

	// The pilgrim's tent finder on a phone-sized screen, with the phone's
	// location pinned 200 m south of the tent.
	var tent struct {
		Geometry struct {
			Coordinates [][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	d.call(operator, http.MethodGet, "/v1/tents/"+p.Tent, nil, http.StatusOK, &tent)
	tLat, tLon := centroid(tent.Geometry.Coordinates[0])
	phoneLat, phoneLon := tLat-200.0/111320, tLon
	pilgrim := d.mint("pilgrim", p.PID)
	me := newTab(t, ctx, errs)
	do(t, me, "open the tent finder",
		phone(d.url, phoneLat, phoneLon),
		chromedp.Navigate(d.url+"/me?token="+pilgrim),
	)
	waitJS(t, me, "tent finder ready", `document.body.dataset.ready === "1"`, 30*time.Second)
	search := eval[string](t, me, "address bar", `location.search`)
	if strings.Contains(search, "token") {
		t.Errorf("the token stayed in the address bar: %q", search)
	}
	tentNo := p.Tent[strings.LastIndex(p.Tent, "/")+1:]
	if n, _ := strconv.Atoi(tentNo); n > 0 {
		tentNo = strconv.Itoa(n)
	}
	if got := textOf(t, me, "#tent"); got != "Tent "+tentNo {
		t.Errorf("tent finder shows %q, want %q", got, "Tent "+tentNo)
	}
	waitJS(t, me, "distance from the phone's location", `+document.getElementById('distance').dataset.m > 150 &&
		+document.getElementById('distance').dataset.m < 260`, 20*time.Second)
	waitJS(t, me, "route drawn", `document.querySelector('#route polyline.route-line') && document.querySelector('#route circle.you')`, 20*time.Second)
	waitJS(t, me, "arrow points the way", `document.getElementById('arrow').dataset.bearing !== undefined`, 5*time.Second)
	time.Sleep(600 * time.Millisecond) // the arrow's rotation animates
	screenshot(t, me, "tent-finder.png")

	eval[bool](t, me, "switch to Bangla", `(() => { const s = document.getElementById('lang'); s.value = 'bn'; s.dispatchEvent(new Event('change')); return true; })()`)
	waitJS(t, me, "the tent in Bangla", `document.getElementById('tent').textContent.includes('তাঁবু')`, 5*time.Second)

	// SOS opens a case for the pilgrim.
	do(t, me, "SOS", chromedp.Click(chromedp.CSS("#sos")), chromedp.WaitVisible(chromedp.CSS("#sos-yes")), chromedp.Click(chromedp.CSS("#sos-yes")))
	waitJS(t, me, "SOS answered with a case", `document.getElementById('sos-status').dataset.case`, 15*time.Second)
	sosID := eval[string](t, me, "SOS case id", `document.getElementById('sos-status').dataset.case`)
	var sc struct {
		Pilgrim string `json:"pilgrim"`
		State   string `json:"state"`
	}
	d.call(operator, http.MethodGet, "/v1/cases/"+sosID, nil, http.StatusOK, &sc)
	if sc.Pilgrim != p.PID || sc.State == "" {
		t.Errorf("SOS case %s: pilgrim %q state %q, want %s", sosID, sc.Pilgrim, sc.State, p.PID)
	}
	errs.check(t)

	// A bad token and a device token cannot sign in to the console.
	refused := newTab(t, ctx, errs)
	for _, tc := range []struct{ token, want string }{
		{"not-a-token", "not valid"},
		{device, "device token"},
	} {
		do(t, refused, "sign in with "+tc.want,
			chromedp.Navigate(d.url+"/"),
			chromedp.WaitVisible(chromedp.CSS("#signin-token")),
			chromedp.SendKeys(chromedp.CSS("#signin-token"), tc.token),
			chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		)
		waitJS(t, refused, "refused: "+tc.want, fmt.Sprintf(`document.getElementById('signin-error').textContent.includes(%q) &&
			document.getElementById('app').hidden`, tc.want), 10*time.Second)
	}
	errs.check(t)
}

func centroid(ring [][2]float64) (lat, lon float64) {
	n := len(ring)
	if n > 1 && ring[0] == ring[n-1] {
		n--
	}
	for _, c := range ring[:n] {
		lon += c[0]
		lat += c[1]
	}
	return lat / float64(n), lon / float64(n)
}
