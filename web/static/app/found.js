// FoundPanel is "Found a pilgrim": a lost pilgrim is at the desk, the
// operator types what they carry (PID, tracking or passport number, phone,
// name) or scans their wristband or card, and POST /v1/found-person answers
// with the camp, tent, guide's phone and the walk home in one go. With "the
// pilgrim is at the desk" the desk's place (the map pin, else the map centre)
// goes along: the visit is recorded as a sighting, which locates any open
// case, and the walk starts at the desk.

/* global L */

import { el, errorText, routeLine } from './common.js';
import { ago, metres, placeLabel, whereLabel } from './format.js';
import { i18n, t } from './lang.js';

const $ = (id) => document.getElementById(id);

// foundRequest builds the body of POST /v1/found-person from what was entered
// ("q" for anything typed, "wristband" for a scanned device ID, "pid") and,
// when the visit is recorded, the desk's place.
export function foundRequest(by, value, at) {
  const v = String(value || '').trim();
  const body = by === 'wristband' ? { wristband: v } : by === 'pid' ? { pid: v } : { q: v };
  if (at) {
    body.lat = at.lat;
    body.lon = at.lon;
  }
  return body;
}

// tentNumber is a tent's number in its camp: "mina-094/3" → "3".
export function tentNumber(id) {
  const m = /\/0*(\d+)$/.exec(id || '');
  return m ? m[1] : '';
}

// telHref is a tel: link for a phone number as the registry writes it.
export function telHref(phone) {
  return `tel:${String(phone || '').replace(/[^\d+]/g, '')}`;
}

// foundFacts reads a found-person answer into what the panel shows.
export function foundFacts(ans) {
  const p = ans.pilgrim || {};
  const camp = ans.camp || p.camp || '';
  const tent = ans.tent || p.tent || '';
  const route = ans.route ? routeLine(ans.route) : null;
  const pos = ans.position || null;
  let walk = t('fpNoRouteNoTent');
  if (route) {
    const vars = { dist: metres(route.lengthM), place: placeLabel(route.tent || tent) };
    const from = ans.sighting ? 'Desk' : 'Seen';
    walk = route.walkS ? t(`fpWalkMin${from}`, { ...vars, count: Math.max(1, Math.round(route.walkS / 60)) }) : t(`fpWalk${from}`, vars);
  } else if (ans.route_error) {
    walk = t('fpNoRouteErr', { err: ans.route_error });
  } else if (tent) {
    walk = t('fpNoRouteNotSeen');
  }
  return {
    pid: p.pid || '',
    name: p.name_en || p.pid || '',
    nameBn: p.name_bn || '',
    who: [p.pid, p.group && t('groupN', { group: p.group }), p.agency].filter(Boolean).join(' · '),
    camp,
    campText: camp ? (ans.zone ? t('fpCampZone', { camp: placeLabel(camp), zone: ans.zone }) : placeLabel(camp)) : t('fpNoCamp'),
    tent,
    tentText: tent ? (tentNumber(tent) ? t('fpTent', { n: Number(tentNumber(tent)) }) : tent) : t('fpNoTent'),
    guide: ans.guide || null,
    mahram: ans.mahram || null,
    seen: pos ? `${whereLabel(pos) || (pos.site ? t('inStreet', { site: i18n.has(pos.site) ? t(pos.site) : pos.site }) : t('outsideCamps'))} · ${ago(pos.ts)}` : t('noPosition'),
    route,
    walk,
    cases: ans.cases || [],
    sighting: ans.sighting || null,
  };
}

export class FoundPanel {
  constructor(app) {
    this.app = app;
    this.seq = 0;
    this.routeLayer = null;
    this.facts = null;
    app.pick.watch($('fp-at'));
    $('fp-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.lookup(foundRequest($('fp-by').value, $('fp-value').value, this.visitAt()));
    });
    $('fp-open').addEventListener('click', () => {
      if (this.facts) this.app.pilgrim.show(this.facts.pid);
    });
    $('fp-route').addEventListener('click', () => this.fitRoute());
  }

  // visitAt is the desk's place when the visit is to be recorded.
  visitAt() {
    if (!$('fp-here').checked) return null;
    const { lat, lon } = this.app.pick.position();
    return { lat, lon };
  }

  clear() {
    $('fp-error').textContent = '';
    $('fp-value').removeAttribute('aria-invalid');
    $('fp-candidates').hidden = true;
    $('fp-answer').hidden = true;
    delete $('fp-answer').dataset.pid;
    if (this.routeLayer) this.routeLayer.remove();
    this.routeLayer = null;
    this.facts = null;
  }

  async lookup(body) {
    this.clear();
    if (!(body.q || body.pid || body.wristband)) {
      $('fp-error').textContent = t('fpTypeSomething');
      return;
    }
    const seq = ++this.seq;
    $('fp-form').dataset.busy = '1';
    let ans;
    try {
      ans = await this.app.api.post('/v1/found-person', body);
    } catch (e) {
      if (seq !== this.seq) return;
      $('fp-error').textContent = errorText(e);
      if (['q', 'pid', 'wristband'].includes(e.field)) $('fp-value').setAttribute('aria-invalid', 'true');
      return;
    } finally {
      if (seq === this.seq) delete $('fp-form').dataset.busy;
    }
    if (seq !== this.seq) return; // a newer lookup is under way
    if (ans.candidates && ans.candidates.length) this.candidates(ans.candidates, body);
    else this.show(ans);
  }

  // candidates lists the pilgrims a name matched about equally; choosing one
  // asks again by PID (with the same desk place).
  candidates(hits, body) {
    const at = body.lat !== undefined ? { lat: body.lat, lon: body.lon } : null;
    $('fp-candidates').hidden = false;
    $('fp-candidate-list').replaceChildren(...hits.map((h) => el('li', { class: 'hit', dataset: { pid: h.pid } },
      el('button', { type: 'button', class: 'hit-open', onclick: () => this.lookup(foundRequest('pid', h.pid, at)) },
        el('strong', {}, h.name_en || h.pid),
        h.name_bn ? el('span', { class: 'bn', lang: 'bn' }, ` ${h.name_bn}`) : '',
        el('br'),
        el('span', { class: 'muted' }, [h.pid, h.group && `group ${h.group}`, placeLabel(h.tent || h.camp)].filter(Boolean).join(' · '))))));
  }

  show(ans) {
    const f = foundFacts(ans);
    this.facts = f;
    $('fp-answer').hidden = false;
    $('fp-answer').dataset.pid = f.pid;
    $('fp-name').textContent = f.name;
    $('fp-name-bn').textContent = f.nameBn;
    $('fp-who').textContent = f.who;
    $('fp-camp').textContent = f.campText;
    $('fp-camp').dataset.camp = f.camp;
    $('fp-tent').textContent = f.tentText;
    $('fp-tent').dataset.tent = f.tent;
    $('fp-guide').replaceChildren(...contact(f.guide));
    $('fp-mahram').replaceChildren(...contact(f.mahram));
    $('fp-seen').textContent = f.seen;
    $('fp-walk').textContent = f.walk;
    $('fp-walk').dataset.route = f.route ? String(f.route.coords.length) : '';
    $('fp-cases').replaceChildren(...(f.cases.length ? f.cases.map((c, i) => [i ? ', ' : '',
      el('a', { href: '#', dataset: { case: c.id }, onclick: (ev) => { ev.preventDefault(); this.openCase(c.id); } },
        `${c.id} (${i18n.has(`st_${c.state}`) ? t(`st_${c.state}`) : c.state})`)]).flat() : [t('none')]));
    $('fp-visit').textContent = f.sighting ?
      t(f.cases.length ? 'fpVisitCase' : 'fpVisit', { at: `${f.sighting.lat.toFixed(5)}, ${f.sighting.lon.toFixed(5)}` }) : '';
    this.drawRoute(f);
  }

  drawRoute(f) {
    const map = this.app.map;
    const centre = f.tent ? map.highlightTent(f.tent) : null;
    if (f.route && f.route.coords.length > 1) {
      this.routeLayer = L.polyline(f.route.coords, {
        ...map.focus, color: '#6a1b9a', weight: 5, opacity: 0.9, dashArray: '8 6', className: 'found-route',
      }).addTo(map.map);
      this.fitRoute();
    } else if (centre) {
      map.map.setView([centre.lat, centre.lon], Math.max(map.map.getZoom(), 17), { animate: false });
    }
  }

  fitRoute() {
    if (this.routeLayer) this.app.map.map.fitBounds(this.routeLayer.getBounds(), { padding: [40, 40], maxZoom: 18, animate: false });
  }

  openCase(id) {
    if (!this.app.cases) return;
    this.app.showTab('cases');
    this.app.cases.open(id);
  }
}

// contact is a person's name and their phone as a tel: link.
function contact(c) {
  if (!c) return ['–'];
  return [c.name || c.pid || '', c.phone ? ' ' : '', c.phone ? el('a', { href: telHref(c.phone), class: 'phone' }, c.phone) : ''];
}
