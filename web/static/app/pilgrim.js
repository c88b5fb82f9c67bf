// PilgrimPanel shows one pilgrim: profile, guide contact, live position with
// camp/tent and the tent probability, trail, and the walking route to the
// assigned tent drawn on the map, and a sighting form. The live dot follows
// the pilgrim:<PID> topic.

/* global L */

import { el, flattenPosition, routeLine } from './common.js';
import { ago, metres, pct, placeLabel, whereLabel } from './format.js';
import { i18n, t } from './lang.js';
import { SightingForm } from './sighting.js';

const $ = (id) => document.getElementById(id);

// profileOf normalises GET /v1/pilgrims/{pid} (api.PilgrimView): the
// profile under "pilgrim", the best live position under "position" (null
// when never seen), the guide as a person with their own position.
export function profileOf(ans) {
  const p = ans.pilgrim && typeof ans.pilgrim === 'object' ? ans.pilgrim : ans;
  const liveRaw = ans.position || ans.live || null;
  const live = liveRaw ? flattenPosition(liveRaw) : null;
  if (live && !live.pilgrim) live.pilgrim = p.pid;
  const guide = ans.guide && typeof ans.guide === 'object' ? ans.guide : null;
  const group = ans.group && typeof ans.group === 'object' ? ans.group : null;
  return { p, live, guide, group, devices: ans.devices || p.devices || [], assigned: ans.assigned || {} };
}

export class PilgrimPanel {
  constructor(app) {
    this.app = app;
    this.pid = '';
    this.dot = null;
    this.routeLayer = null;
    this.trailLayer = null;
    $('p-route').addEventListener('click', () => this.showRoute());
    $('p-trail').addEventListener('click', () => this.showTrail());
    $('p-open-case').addEventListener('click', () => this.reportLost());
    this.sighting = new SightingForm(app, $('p-sighting'), () => this.pid);
    // The open pilgrim's dot follows every update at once, unbatched: it is
    // one marker, and the helpdesk is watching it.
    app.onLive((msg, positions) => this.onPositions(positions));
  }

  // show opens pilgrim pid in the panel (and brings the panel forward,
  // unless quiet: a redraw after a change of language stays where it is).
  async show(pid, quiet = false) {
    if (!quiet) this.app.showTab('pilgrim');
    $('p-error').textContent = '';
    let ans;
    try {
      ans = await this.app.api.get(`/v1/pilgrims/${encodeURIComponent(pid)}`);
    } catch (e) {
      $('p-error').textContent = t('cannotOpen', { pid, err: e.message });
      return;
    }
    if (this.pid && this.pid !== pid) this.app.feed.unsubscribe(`pilgrim:${this.pid}`);
    if (this.pid !== pid) this.sighting.reset();
    this.clearLines();
    this.pid = pid;
    const { p, live, guide, group, devices } = profileOf(ans);
    this.profile = p;
    $('pilgrim-empty').hidden = true;
    $('pilgrim').hidden = false;
    $('pilgrim').dataset.pid = pid;
    $('p-name').textContent = p.name_en || pid;
    $('p-name-bn').textContent = p.name_bn || '';
    $('p-pid').textContent = p.pid || pid;
    $('p-tracking').textContent = p.tracking_no || '–';
    $('p-passport').textContent = p.passport || '–';
    $('p-phone').replaceChildren(p.phone ? el('a', { href: `tel:${p.phone}` }, p.phone) : '–');
    $('p-born').textContent = [p.birth_year ? i18n.num(p.birth_year, { useGrouping: false }) : '', p.gender === 'F' ? t('female') : p.gender === 'M' ? t('male') : ''].filter(Boolean).join(' · ') || '–';
    $('p-agency').textContent = p.agency || (group && group.agency) || '–';
    $('p-group').textContent = (group && (group.name || group.id)) || p.group || '–';
    const gPhone = guide && guide.phone;
    $('p-guide').replaceChildren(
      guide ? `${guide.name_en || guide.name || guide.pid || ''} ` : (p.guide_pid || '–'),
      gPhone ? el('a', { href: `tel:${gPhone}`, class: 'phone' }, gPhone) : '',
    );
    $('p-assigned').textContent = placeLabel(p.tent || p.camp) || '–';
    $('p-devices').textContent = (devices || []).map((d) => (typeof d === 'string' ? d : `${d.id} (${d.kind})`)).join(', ') || '–';
    this.assignedCentre = p.tent ? this.app.map.highlightTent(p.tent) : null;
    this.setLive(live || this.app.live.position(pid));
    this.app.feed.subscribe(`pilgrim:${pid}`);
    const at = this.live || this.assignedCentre;
    if (at && !quiet) this.app.map.map.setView([at.lat, at.lon], Math.max(this.app.map.map.getZoom(), 17), { animate: false });
  }

  // relabel redraws the open pilgrim in the console's language.
  relabel() {
    if (this.pid) this.show(this.pid, true);
  }

  // onPositions takes live updates; those of the open pilgrim move the dot.
  onPositions(batch) {
    if (!this.pid) return;
    for (const p of batch) if (p.pilgrim === this.pid) this.setLive(p);
  }

  setLive(pos) {
    this.live = pos && pos.lat !== undefined ? pos : null;
    const liveEl = $('p-live');
    if (!this.live) {
      liveEl.textContent = t('noPosition');
      delete liveEl.dataset.lat;
      delete liveEl.dataset.lon;
      $('p-seen').textContent = '–';
      $('p-place').textContent = '–';
      $('p-tent-prob').textContent = '–';
      if (this.dot) this.dot.remove();
      this.dot = null;
      return;
    }
    const { lat, lon, acc } = this.live;
    liveEl.textContent = `${lat.toFixed(5)}, ${lon.toFixed(5)}${acc ? ` ±${Math.round(acc)} m` : ''}`;
    liveEl.dataset.lat = String(lat);
    liveEl.dataset.lon = String(lon);
    $('p-seen').textContent = `${ago(this.live.ts)}${this.live.stale ? ` ${t('stale')}` : ''}`;
    $('p-seen').dataset.ts = this.live.ts;
    $('p-place').textContent = this.live.camp ? whereLabel(this.live) : (this.live.site ? t('inStreet', { site: siteName(this.live.site) }) : t('outsideCamps'));
    $('p-tent-prob').textContent = tentProbability(this.live, this.profile);
    if (!this.dot) {
      this.dot = L.marker([lat, lon], {
        icon: L.divIcon({ className: 'live-dot', iconSize: [22, 22] }),
        zIndexOffset: 1000,
        keyboard: false,
      }).addTo(this.app.map.map);
      this.dot.bindTooltip(() => `${this.profile.name_en || this.pid} · ${ago(this.live.ts)}`);
    } else {
      this.dot.setLatLng([lat, lon]);
    }
    this.dot.getElement().dataset.pid = this.pid;
  }

  clearLines() {
    if (this.routeLayer) this.routeLayer.remove();
    if (this.trailLayer) this.trailLayer.remove();
    this.routeLayer = null;
    this.trailLayer = null;
    $('p-route-info').textContent = '';
  }

  async showRoute() {
    if (!this.pid) return;
    $('p-error').textContent = '';
    let r;
    try {
      r = routeLine(await this.app.api.get(`/v1/pilgrims/${encodeURIComponent(this.pid)}/route`));
    } catch (e) {
      $('p-error').textContent = t('noRoute', { err: e.message });
      return;
    }
    if (!r) {
      $('p-error').textContent = t('noRouteAnswer');
      return;
    }
    if (this.routeLayer) this.routeLayer.remove();
    this.routeLayer = L.polyline(r.coords, { ...this.app.map.focus, color: '#d50000', weight: 5, opacity: 0.85, dashArray: '8 6', className: 'route-line' }).addTo(this.app.map.map);
    this.app.map.map.fitBounds(this.routeLayer.getBounds(), { padding: [40, 40], maxZoom: 18, animate: false });
    const mins = r.walkS ? Math.max(1, Math.round(r.walkS / 60)) : null;
    const place = placeLabel(r.tent || this.profile.tent);
    $('p-route-info').textContent = mins ? t('walkInfoMin', { dist: metres(r.lengthM), count: mins, place }) : t('walkInfo', { dist: metres(r.lengthM), place });
    $('p-route-info').dataset.route = String(r.coords.length);
  }

  async showTrail() {
    if (!this.pid) return;
    $('p-error').textContent = '';
    const since = new Date(Date.now() - 6 * 3600 * 1000).toISOString();
    let ans;
    try {
      ans = await this.app.api.get(`/v1/pilgrims/${encodeURIComponent(this.pid)}/trail?since=${encodeURIComponent(since)}`);
    } catch (e) {
      $('p-error').textContent = t('noTrail', { err: e.message });
      return;
    }
    const coords = trailCoords(ans);
    if (this.trailLayer) this.trailLayer.remove();
    if (coords.length === 0) {
      $('p-route-info').textContent = t('noTrail6h');
      return;
    }
    this.trailLayer = L.polyline(coords, { ...this.app.map.focus, color: '#00838f', weight: 3, opacity: 0.9 }).addTo(this.app.map.map);
    this.app.map.map.fitBounds(this.trailLayer.getBounds(), { padding: [40, 40], maxZoom: 18, animate: false });
    $('p-route-info').textContent = t('trailInfo', { count: coords.length });
  }

  async reportLost() {
    if (!this.pid) return;
    const place = this.live ? (whereLabel(this.live) || `${this.live.lat.toFixed(5)},${this.live.lon.toFixed(5)}`) : '';
    try {
      const c = await this.app.api.post('/v1/cases', {
        kind: 'lost_pilgrim',
        pilgrim: this.pid,
        reported_by: this.app.me.role === 'guide' ? `guide of ${this.app.me.subject}` : `helpdesk ${this.app.me.subject || this.app.me.role}`,
        last_seen_place: place,
        note: 'reported from the console',
      });
      this.app.toast(t('caseOpened', { id: caseID(c), pid: this.pid }));
      if (this.app.cases) {
        await this.app.cases.refresh();
        this.app.showTab('cases');
        this.app.cases.open(caseID(c));
      }
    } catch (e) {
      $('p-error').textContent = t('caseFailed', { err: e.message });
    }
  }
}

function caseID(c) {
  return (c && (c.id || (c.case && c.case.id))) || '';
}

// tentProbability says how sure the fix is of the tent, e.g. "tent 3: 62%
// (assigned tent)".
function tentProbability(live, profile) {
  const cands = live.candidates || [];
  if (cands.length) {
    const best = cands[0];
    const own = profile && profile.tent ? cands.find((c) => c.tent === profile.tent) : null;
    let s = `${placeLabel(best.tent)}: ${pct(best.probability)}`;
    if (own && own !== best) s += `; ${t('assignedTentP', { p: pct(own.probability) })}`;
    else if (own) s += ` ${t('assignedTent')}`;
    return s;
  }
  if (live.tent) {
    const p = live.tentP ? `: ${pct(live.tentP)}` : '';
    return `${placeLabel(live.tent)}${p}${profile && live.tent === profile.tent ? ` ${t('assignedTent')}` : ''}`;
  }
  return t('notInTent');
}

// trailCoords reads a trail answer: a LineString Feature, a FeatureCollection
// of Points or of one LineString, or a plain array of positions.
export function trailCoords(ans) {
  if (!ans) return [];
  if (Array.isArray(ans)) return ans.filter((p) => p.lat !== undefined).map((p) => [p.lat, p.lon]);
  if (Array.isArray(ans.positions)) return trailCoords(ans.positions);
  const feats = ans.type === 'FeatureCollection' ? ans.features : [ans];
  const out = [];
  for (const f of feats || []) {
    const g = f && (f.geometry || f);
    if (!g) continue;
    if (g.type === 'LineString') for (const [lon, lat] of g.coordinates) out.push([lat, lon]);
    if (g.type === 'Point') out.push([g.coordinates[1], g.coordinates[0]]);
  }
  return out;
}

// siteName is a site in the console's language ("mina" → "منى").
function siteName(site) {
  return i18n.has(site) ? t(site) : site;
}
