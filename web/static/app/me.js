// The pilgrim's tent finder (/me): opened from the QR code on the pilgrim's
// card (/me?token=…). Shows the tent and camp in large type, uses the phone's
// location for the distance, a direction arrow and the walking route, and
// has an SOS button that opens a lost case for the pilgrim. In the pilgrims'
// languages (en, ar, bn, ur, id, tr, fr; right to left for Arabic and Urdu),
// each catalogue loaded only when chosen. No map library: the route is a
// small SVG, so the page loads fast on a weak phone; a service worker
// (/me-sw.js) keeps it, and the pilgrim's last answers, for use offline.

import { API, APIError, LiveFeed, bearingDeg, distanceM, flattenPosition, positionsOf, ringCentroid, routeLine } from './common.js';
import { I18n, nativeNames, pickLanguage } from './i18n.js';
import { compassWord, finderLanguages } from './me_i18n.js';
import en from './i18n/me.en.js';

const TOKEN_KEY = 'dalil.me.token';
const LANG_KEY = 'dalil.me.lang';
const $ = (id) => document.getElementById(id);

class Finder {
  constructor() {
    // The pilgrim's last choice, else the phone's languages, else English.
    this.i18n = new I18n({ en });
    this.lang = pickLanguage(localStorage.getItem(LANG_KEY), navigator.languages || [navigator.language], finderLanguages);
    this.api = new API(() => localStorage.getItem(TOKEN_KEY) || '');
    this.here = null; // {lat, lon, acc, source: 'phone'|'server'}
    this.heading = null; // compass heading of the phone, degrees
    this.route = null;
    this.tentCentre = null;
    this.caseID = '';
  }

  t(key, vars) {
    return this.i18n.t(key, vars);
  }

  async boot() {
    // Take the token out of the address bar at once: it must not stay in
    // history, screenshots or a shared link.
    const url = new URL(location.href);
    const fromURL = url.searchParams.get('token');
    if (fromURL) {
      localStorage.setItem(TOKEN_KEY, fromURL);
      url.searchParams.delete('token');
      history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
    const pick = $('lang');
    pick.replaceChildren(...finderLanguages.map((l) => {
      const o = document.createElement('option');
      o.value = l;
      o.lang = l;
      o.textContent = nativeNames[l];
      return o;
    }));
    pick.addEventListener('change', () => this.setLang(pick.value));
    $('forget').addEventListener('click', async () => {
      localStorage.removeItem(TOKEN_KEY);
      // The saved answers are this pilgrim's: they go with the token.
      if ('caches' in window) await caches.delete('dalil-me-api').catch(() => {});
      location.replace('/me');
    });
    this.registerWorker();
    $('sos').addEventListener('click', () => {
      if (this.caseID) return;
      $('sos-confirm').hidden = false;
      $('sos').hidden = true;
    });
    $('sos-no').addEventListener('click', () => {
      $('sos-confirm').hidden = true;
      $('sos').hidden = false;
    });
    $('sos-yes').addEventListener('click', () => this.sos());
    await this.setLang(this.lang);
    if (!localStorage.getItem(TOKEN_KEY)) {
      $('no-token').hidden = false;
      return;
    }
    try {
      await this.load();
    } catch (e) {
      $('no-token').hidden = false;
      $('finder').hidden = true;
      $('token-error').textContent = e instanceof APIError && (e.status === 401 || e.status === 403) ? this.t('badToken') : e.message;
      return;
    }
    document.body.dataset.ready = '1';
  }

  // setLang switches the page to lang, loading its catalogue (a couple of
  // kilobytes) the first time, and remembers the choice.
  async setLang(lang) {
    if (!finderLanguages.includes(lang)) lang = 'en';
    if (!this.i18n.catalogues[lang]) {
      try {
        this.i18n.catalogues[lang] = (await import(`./i18n/me.${lang}.js`)).default;
      } catch (e) {
        lang = 'en'; // not loaded (offline before it was ever cached): English
      }
    }
    this.lang = lang;
    this.i18n.use(lang);
    localStorage.setItem(LANG_KEY, lang);
    document.documentElement.lang = lang;
    document.documentElement.dir = this.i18n.dir;
    $('lang').value = lang;
    $('lang').setAttribute('aria-label', this.t('language'));
    for (const e of document.querySelectorAll('[data-t]')) e.textContent = this.t(e.dataset.t);
    $('north').textContent = this.t('northShort');
    this.renderTent();
    this.renderDirection();
    this.renderSOS();
  }

  // registerWorker installs the service worker that keeps the page and the
  // pilgrim's last answers for a phone that loses its connection.
  registerWorker() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/me-sw.js', { scope: '/me' }).catch(() => {
      // No offline copy (e.g. plain http on a LAN address): the page still works online.
    });
    // Once it runs, hand it the files this visit loaded before it was in
    // control (this language's words, its font), so that they are kept too.
    navigator.serviceWorker.ready.then((reg) => {
      setTimeout(() => {
        const keep = performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.includes('/static/'));
        if (reg.active) reg.active.postMessage({ keep });
        document.body.dataset.offlineReady = '1';
      }, 1000);
    });
  }

  async load() {
    const me = await this.api.get('/v1/me');
    if (me.role !== 'pilgrim') {
      // Staff opened /me: the console is their page.
      throw new APIError(403, this.t('notPilgrim'));
    }
    this.pid = me.subject;
    // GET /v1/me carries the pilgrim's own view; older servers need the second call.
    const ans = me.pilgrim || await this.api.get(`/v1/pilgrims/${encodeURIComponent(this.pid)}`);
    this.profile = ans.pilgrim || ans;
    this.guide = ans.guide && typeof ans.guide === 'object' ? ans.guide : null;
    if (ans.position) this.serverFix(flattenPosition(ans.position));
    $('finder').hidden = false;
    $('finder').dataset.pid = this.pid;
    if (this.guide && this.guide.phone) {
      $('call-guide').href = `tel:${this.guide.phone}`;
      $('call-guide').hidden = false;
    }
    this.renderTent();
    await this.loadTent();
    this.watchPosition();
    this.watchCompass();
    this.feed = new LiveFeed(() => localStorage.getItem(TOKEN_KEY) || '', (m) => this.onLive(m), () => {});
    this.feed.subscribe(`pilgrim:${this.pid}`);
    await this.loadRoute();
  }

  async loadTent() {
    const tentID = this.profile.tent;
    if (!tentID) return;
    try {
      const t = await this.api.get(`/v1/tents/${encodeURIComponent(tentID)}`);
      this.tent = t;
      this.tentCentre = tentCentreOf(t);
    } catch (e) {
      this.tentCentre = null; // the route's last point stands in
    }
  }

  // loadRoute asks for the walking route. With the phone's own fix the route
  // starts there (from=lat,lon); else the server routes from the newest
  // position it has for the pilgrim.
  async loadRoute() {
    let path = `/v1/pilgrims/${encodeURIComponent(this.pid)}/route`;
    if (this.here && this.here.source === 'phone') {
      path += `?lat=${this.here.lat.toFixed(6)}&lon=${this.here.lon.toFixed(6)}`;
    }
    try {
      this.route = routeLine(await this.api.get(path));
      this.routeFrom = this.here ? { lat: this.here.lat, lon: this.here.lon } : null;
    } catch (e) {
      this.route = null;
    }
    if (!this.tentCentre && this.route && this.route.coords.length) {
      const last = this.route.coords[this.route.coords.length - 1];
      this.tentCentre = { lat: last[0], lon: last[1] };
    }
    this.renderDirection();
    this.renderRoute();
  }

  serverFix(p) {
    if (p.lat === undefined) return;
    if (this.here && this.here.source === 'phone') return; // the phone's own fix is fresher
    this.here = { lat: p.lat, lon: p.lon, acc: p.acc, source: 'server', ts: p.ts };
  }

  onLive(msg) {
    for (const p of positionsOf(msg)) {
      if (p.pilgrim === this.pid) {
        this.serverFix(p);
        this.renderDirection();
      }
    }
    if (this.caseID && (msg.type === 'event' || msg.type === 'case') && (msg.case === this.caseID || (msg.case && msg.case.id === this.caseID))) {
      // A case event's detail reads "<what>: <state>[ at <where>]".
      const m = /:\s*([a-z]+)/.exec(msg.detail || '');
      this.caseState = msg.state || (msg.case && msg.case.state) || (m && m[1]) || this.caseState;
      this.renderSOS();
    }
  }

  watchPosition() {
    if (!('geolocation' in navigator)) {
      this.geoStatus = 'noGeo';
      this.renderDirection();
      return;
    }
    this.geoStatus = 'locating';
    navigator.geolocation.watchPosition((pos) => {
      const first = !this.here || this.here.source !== 'phone';
      this.here = { lat: pos.coords.latitude, lon: pos.coords.longitude, acc: pos.coords.accuracy, source: 'phone' };
      if (typeof pos.coords.heading === 'number' && !Number.isNaN(pos.coords.heading) && pos.coords.speed > 0.5 && this.heading === null) {
        this.courseHeading = pos.coords.heading;
      }
      this.geoStatus = '';
      this.renderDirection();
      // Re-route when the walker has left the route's start far behind.
      if (first || !this.routeFrom || distanceM(this.routeFrom, this.here) > 40) this.loadRoute();
      else this.renderRoute();
    }, (err) => {
      this.geoStatus = err.code === 1 ? 'noGeo' : 'geoFail';
      this.renderDirection();
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
  }

  watchCompass() {
    const onOrient = (ev) => {
      let h = null;
      if (typeof ev.webkitCompassHeading === 'number') h = ev.webkitCompassHeading;
      else if (ev.absolute && typeof ev.alpha === 'number') h = (360 - ev.alpha) % 360;
      if (h === null) return;
      this.heading = h;
      this.renderArrow();
    };
    if ('ondeviceorientationabsolute' in window) window.addEventListener('deviceorientationabsolute', onOrient);
    else window.addEventListener('deviceorientation', onOrient);
  }

  renderTent() {
    if (!this.profile) return;
    const p = this.profile;
    const tentNo = p.tent ? p.tent.split('/')[1] : '';
    const m = /^([a-z]+)-0*(\d+)/.exec(p.camp || p.tent || '');
    $('tent').textContent = tentNo ? this.t('tentN', { n: Number(tentNo) }) : this.t('noTent');
    const parts = [];
    if (m) parts.push(this.t('campN', { n: Number(m[2]) }));
    if (m) parts.push(this.t(m[1]));
    if (this.tent && this.tent.zone) parts.push(this.t('zoneN', { n: this.tent.zone }));
    $('camp').textContent = parts.join(' · ');
    $('name').textContent = this.lang === 'bn' && p.name_bn ? p.name_bn : (p.name_en || '');
  }

  // target is where the arrow points: the next turn of the route that is
  // not right underfoot, else the tent itself.
  target() {
    if (!this.here) return null;
    if (this.route && this.route.coords.length > 1) {
      for (const [lat, lon] of this.route.coords.slice(1)) {
        if (distanceM(this.here, { lat, lon }) > 15) return { lat, lon };
      }
    }
    return this.tentCentre;
  }

  renderDirection() {
    if (!this.profile) return;
    const status = $('geo-status');
    const messages = [];
    if (this.geoStatus) messages.push(this.t(this.geoStatus));
    if (!navigator.onLine) messages.push(this.t('offline'));
    if (this.here && this.here.source === 'server') messages.push(this.t('serverFix'));
    status.textContent = messages.join(' ');
    const goal = this.tentCentre;
    if (!this.here || !goal) {
      $('distance').textContent = '–';
      $('walk').textContent = '';
      $('heading').textContent = '';
      this.bearing = null;
      this.renderArrow();
      return;
    }
    const straight = distanceM(this.here, goal);
    $('distance').dataset.m = String(Math.round(straight));
    if (straight < 12) {
      $('distance').textContent = this.t('arrived');
      $('walk').textContent = '';
      $('heading').textContent = '';
      this.bearing = null;
      this.renderArrow();
      return;
    }
    // Walking distance: the route's length when it starts near here.
    // Walking distance and time: the route's when it starts near here
    // (the server knows the pace), else the straight line at 1 m/s.
    let walkM = straight;
    let walkS = straight;
    if (this.route && this.route.lengthM && this.routeFrom && distanceM(this.routeFrom, this.here) < 40) {
      walkM = this.route.lengthM;
      walkS = this.route.walkS || walkM;
    }
    $('distance').textContent = this.t('away', { d: this.dist(walkM) });
    $('walk').textContent = this.t('walk', { count: Math.max(1, Math.round(walkS / 60)) });
    const tgt = this.target() || goal;
    this.bearing = bearingDeg(this.here, tgt);
    $('heading').textContent = this.t('go', { dir: compassWord((this.i18n.catalogues[this.i18n.lang] || en).compass, this.bearing) });
    this.renderArrow();
  }

  dist(m) {
    if (m < 1000) return this.t('metres', { n: Math.round(m / 5) * 5 || Math.round(m) });
    return this.t('km', { n: Math.round(m / 100) / 10 });
  }

  renderArrow() {
    const needle = $('arrow-needle');
    const north = $('north');
    if (this.bearing === null || this.bearing === undefined) {
      needle.setAttribute('opacity', '0.25');
      needle.setAttribute('transform', 'rotate(0)');
      return;
    }
    needle.setAttribute('opacity', '1');
    const facing = this.heading !== null ? this.heading : 0;
    const rot = (this.bearing - facing + 360) % 360;
    needle.setAttribute('transform', `rotate(${rot.toFixed(1)})`);
    $('arrow').dataset.bearing = this.bearing.toFixed(0);
    // With a compass the dial turns so that N stays north; without one, north is up.
    north.setAttribute('transform', `rotate(${(-facing).toFixed(1)})`);
  }

  // renderRoute draws the route, the walker and the tent in a small SVG,
  // north up, scaled to fit.
  renderRoute() {
    const svg = $('route');
    const pts = this.route ? this.route.coords.map(([lat, lon]) => ({ lat, lon })) : [];
    const extra = [];
    if (this.here) extra.push(this.here);
    if (this.tentCentre) extra.push(this.tentCentre);
    const all = pts.concat(extra);
    svg.replaceChildren();
    if (all.length < 2) return;
    const W = 300;
    const H = 200;
    const pad = 18;
    const lat0 = all.reduce((s, p) => s + p.lat, 0) / all.length;
    const kx = Math.cos((lat0 * Math.PI) / 180);
    const xs = all.map((p) => p.lon * kx);
    const ys = all.map((p) => p.lat);
    const minX = Math.min(...xs);
    const maxX = Math.max(...xs);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    const s = Math.min((W - 2 * pad) / Math.max(maxX - minX, 1e-6), (H - 2 * pad) / Math.max(maxY - minY, 1e-6));
    const ox = (W - (maxX - minX) * s) / 2;
    const oy = (H - (maxY - minY) * s) / 2;
    const X = (p) => (ox + (p.lon * kx - minX) * s).toFixed(1);
    const Y = (p) => (H - oy - (p.lat - minY) * s).toFixed(1);
    const ns = 'http://www.w3.org/2000/svg';
    const add = (tag, attrs) => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      svg.append(e);
      return e;
    };
    add('rect', { x: 0, y: 0, width: W, height: H, fill: '#f3ead7' });
    if (pts.length > 1) {
      add('polyline', { points: pts.map((p) => `${X(p)},${Y(p)}`).join(' '), fill: 'none', stroke: '#d50000', 'stroke-width': 5, 'stroke-linejoin': 'round', 'stroke-linecap': 'round', class: 'route-line' });
    }
    if (this.tentCentre) {
      add('rect', { x: X(this.tentCentre) - 8, y: Y(this.tentCentre) - 8, width: 16, height: 16, fill: '#004d40', rx: 2 });
      const label = add('text', { x: X(this.tentCentre), y: Y(this.tentCentre) - 12, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 700, fill: '#004d40' });
      label.textContent = this.t('tentShort');
    }
    if (this.here) {
      add('circle', { cx: X(this.here), cy: Y(this.here), r: 8, fill: '#1565c0', stroke: '#fff', 'stroke-width': 3, class: 'you' });
      const label = add('text', { x: X(this.here), y: Number(Y(this.here)) + 24, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 700, fill: '#1565c0' });
      label.textContent = this.t('you');
    }
    add('text', { x: W - 12, y: 18, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 700, fill: '#004d40' }).textContent = this.t('northShort');
  }

  async sos() {
    if (this.caseID) return;
    $('sos-confirm').hidden = true;
    $('sos').hidden = false;
    const where = this.here ? `${this.here.lat.toFixed(6)},${this.here.lon.toFixed(6)}` : '';
    $('sos').disabled = true;
    try {
      const body = {
        kind: 'sos',
        pilgrim: this.pid,
        reported_by: 'pilgrim (SOS)',
        last_seen_place: where,
        note: `SOS from the tent finder${this.here ? ` (${this.here.source} fix ±${Math.round(this.here.acc || 0)} m)` : ''}`,
      };
      const ans = await this.api.post('/v1/cases', body);
      const c = ans.case && typeof ans.case === 'object' ? ans.case : ans;
      this.caseID = c.id || '?';
      this.caseState = c.state || 'open';
      this.feed.subscribe(`case:${this.caseID}`);
    } catch (e) {
      $('sos').disabled = false;
      this.sosError = e.message;
    }
    this.renderSOS();
  }

  renderSOS() {
    const st = $('sos-status');
    if (!st) return;
    if (this.caseID) {
      $('sos').disabled = true;
      st.dataset.case = this.caseID;
      st.textContent = this.t('sosSent', { id: this.caseID }) + (this.caseState && this.caseState !== 'open' ? ` (${this.t(`state_${this.caseState}`)})` : '');
    } else if (this.sosError) {
      st.textContent = this.t('sosFailed', { err: this.sosError });
    }
  }
}

// tentCentreOf reads GET /v1/tents/{id}: a GeoJSON Feature, an object with a
// polygon (GeoJSON ring or [{lat, lon}]) or with a centre.
export function tentCentreOf(t) {
  if (!t) return null;
  const c = t.centre || t.center || t.centroid;
  if (c && c.lat !== undefined) return { lat: c.lat, lon: c.lon };
  const g = t.geometry || (t.feature && t.feature.geometry);
  if (g && g.type === 'Polygon') return ringCentroid(g.coordinates[0]);
  const poly = t.polygon || t.Polygon;
  if (Array.isArray(poly) && poly.length) {
    if (Array.isArray(poly[0])) return ringCentroid(Array.isArray(poly[0][0]) ? poly[0] : poly);
    return ringCentroid(poly.map((p) => [p.lon, p.lat]));
  }
  return null;
}

const finder = new Finder();
window.dalilMe = finder;
finder.boot();
