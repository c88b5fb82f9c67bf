// CasesPanel is the lost-case queue: open cases with age and state, one
// case's detail and timeline, and the buttons that move it along
// open → located → escorted → reunited → closed (or cancelled), who works
// it (assignment, staff only), and a sighting of its pilgrim.

/* global L */

import { el, routeLine } from './common.js';
import { age, ago, placeLabel } from './format.js';
import { i18n, t } from './lang.js';
import { AssignControl, assigneeText } from './assign.js';
import { SightingForm } from './sighting.js';

const $ = (id) => document.getElementById(id);

export const nextState = { open: 'located', located: 'escorted', escorted: 'reunited', reunited: 'closed' };
const finished = new Set(['closed', 'cancelled']);
const verb = (to) => t(`verb_${to}`);
// stateName is a case state in the console's language.
const stateName = (s) => (i18n.has(`st_${s}`) ? t(`st_${s}`) : s);

// casesOf reads a case list answer: an array or {cases:[…]}.
export function casesOf(ans) {
  if (Array.isArray(ans)) return ans;
  return (ans && (ans.cases || ans.items || ans.results)) || [];
}

// caseOf unwraps {case:{…}} when the API wraps a single case.
export function caseOf(ans) {
  return ans && ans.case && typeof ans.case === 'object' ? ans.case : ans;
}

export const openedAt = (c) => c.opened || c.opened_at || c.created || c.created_at || c.ts || '';
const timelineOf = (c) => c.timeline || c.events || c.history || [];

// placeText says where a case place is: its own words, else camp/tent, else coordinates.
function placeText(p) {
  if (!p) return '';
  return p.where || placeLabel(p.tent || p.camp) || (p.lat !== undefined ? `${(+p.lat).toFixed(5)}, ${(+p.lon).toFixed(5)}` : '');
}

export class CasesPanel {
  constructor(app) {
    this.app = app;
    this.cases = [];
    this.current = '';
    $('cases-refresh').addEventListener('click', () => this.refresh());
    if (app.staff()) {
      this.assign = new AssignControl(app, () => this.current, async (c) => {
        if (c && c.id === this.current) this.show(c);
        await this.refresh();
      });
    }
    this.sighting = new SightingForm(app, $('c-sighting'), () => (this.shown && this.shown.pilgrim) || '');
    app.onLive((msg) => {
      if (msg.type !== 'event' && msg.type !== 'case') return;
      if (msg.type === 'event' && msg.kind !== 'case') return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.refresh();
        if (this.current && (msg.case === this.current || (msg.case && msg.case.id === this.current))) this.open(this.current);
      }, 300);
    });
    app.feed.subscribe('events'); // a guide's events are narrowed to their group
    this.refresh();
    setInterval(() => this.renderList(), 30000); // ages tick
  }

  // refresh reloads the queue. Staff read the shift handover (every active
  // case with the pilgrim's name and what it needs next); a guide lists the
  // active cases of their group.
  async refresh() {
    try {
      if (this.app.staff()) {
        const ans = await this.app.api.get('/v1/cases/handover');
        this.cases = (ans.items || []).map((it) => ({
          id: it.case, pilgrim: it.pilgrim, pilgrim_name: it.name, state: it.state, opened: it.opened,
          assignee: it.assignee, next: it.next, place: it.place,
        }));
      } else {
        this.cases = casesOf(await this.app.api.get('/v1/cases?active=true'));
      }
    } catch (e) {
      $('c-error').textContent = t('casesFailed', { err: e.message });
      return;
    }
    this.renderList();
  }

  renderList() {
    const list = $('cases');
    const open = this.cases.filter((c) => !finished.has(c.state));
    open.sort((a, b) => Date.parse(openedAt(a)) - Date.parse(openedAt(b)));
    $('cases-count').textContent = open.length ? i18n.num(open.length) : '';
    if (!open.length) {
      list.replaceChildren(el('li', { class: 'muted' }, t('noOpenCases')));
      return;
    }
    list.replaceChildren(...open.map((c) => el('li', { class: `case-item state-${c.state}`, dataset: { id: c.id, state: c.state, assignee: c.assignee || '' } },
      el('button', { type: 'button', onclick: () => this.open(c.id) },
        el('strong', { dir: 'auto' }, c.pilgrim_name || c.pilgrim || c.luggage || c.id),
        ' ', el('span', { class: `badge state-${c.state}` }, stateName(c.state)),
        el('br'),
        el('span', { class: 'muted' }, `${c.id} · ${t('openFor', { age: age(openedAt(c)) })} · `),
        el('span', { class: c.assignee ? 'assignee' : 'assignee none' }, assigneeText(c.assignee)),
        c.next ? el('div', { class: 'next' }, c.next) : ''))));
  }

  // relabel redraws the queue and the open case in the console's language.
  relabel() {
    this.renderList();
    if (this.shown) this.show(this.shown);
  }

  async open(id) {
    if (!id) return;
    this.current = id;
    $('c-error').textContent = '';
    let c;
    try {
      c = caseOf(await this.app.api.get(`/v1/cases/${encodeURIComponent(id)}`));
    } catch (e) {
      $('c-error').textContent = `${t('caseN', { id })}: ${e.message}`;
      return;
    }
    this.show(c);
    this.app.feed.subscribe(`case:${id}`);
  }

  show(c) {
    if ($('case').dataset.id !== c.id) this.sighting.reset();
    this.shown = c;
    $('case').hidden = false;
    $('case').dataset.id = c.id;
    $('case').dataset.state = c.state;
    $('c-title').textContent = t('caseN', { id: c.id });
    $('c-state').textContent = stateName(c.state);
    $('c-state').dataset.state = c.state;
    const pid = c.pilgrim || '';
    $('c-pilgrim').replaceChildren(pid ? el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); this.app.pilgrim.show(pid); } }, c.pilgrim_name ? `${c.pilgrim_name} (${pid})` : pid) : (c.luggage || '–'));
    $('c-opened').textContent = openedAt(c) ? `${i18n.date(openedAt(c))} (${ago(openedAt(c))})` : '–';
    $('c-reporter').textContent = c.reported_by || '–';
    $('c-assignee').textContent = c.assignee || t('nobodyYet');
    $('c-assignee').dataset.assignee = c.assignee || '';
    if (this.assign) this.assign.show(c, finished.has(c.state));
    $('c-sighting-box').hidden = finished.has(c.state) || !pid;
    const loc = c.place || null;
    const hint = c.last_known ? t('notYetLastKnown', { place: placeText(c.last_known), ago: ago(c.last_known.ts) }) :
      (c.last_seen_place ? t('notYetLastSeen', { place: c.last_seen_place }) : t('notYet'));
    $('c-located').textContent = loc ? `${placeText(loc)} · ${ago(loc.ts)}` : hint;
    $('c-located').dataset.located = loc ? '1' : '';
    this.drawRoute(c);
    $('c-next').textContent = c.next || c.next_step || (nextState[c.state] ? `→ ${stateName(nextState[c.state])}` : t('finishedNothing'));
    const actions = [];
    if (nextState[c.state]) {
      const to = nextState[c.state];
      actions.push(el('button', { type: 'button', class: 'primary', dataset: { to }, onclick: () => this.transition(c.id, to) }, verb(to)));
    }
    // A pilgrim who walks back alone skips the middle steps.
    if (c.state === 'open' || c.state === 'located') {
      actions.push(el('button', { type: 'button', dataset: { to: 'reunited' }, onclick: () => this.transition(c.id, 'reunited') }, t('reunitedAlready')));
    }
    if (!finished.has(c.state)) {
      actions.push(el('button', { type: 'button', class: 'danger', dataset: { to: 'cancelled' }, onclick: () => this.transition(c.id, 'cancelled') }, t('cancel')));
    }
    $('c-actions').replaceChildren(...actions);
    $('c-timeline').replaceChildren(...timelineOf(c).map((ev) => el('li', { dataset: { action: ev.action || '', state: ev.state || '', by: ev.by || '' } },
      el('strong', {}, ev.action === 'transition' ? `${stateName(ev.from || '')} → ${stateName(ev.state)}` : (ev.action || stateName(ev.state || ''))),
      ' ', el('span', { class: 'muted' }, [ev.ts ? i18n.time(ev.ts) : '', ev.by || ''].filter(Boolean).join(' · ')),
      ev.note ? el('div', {}, ev.note) : '',
      ev.place ? el('div', { class: 'muted' }, placeText(ev.place)) : '')));
  }

  // drawRoute shows where the case's pilgrim was found and the walk from
  // there to their tent.
  drawRoute(c) {
    const map = this.app.map;
    if (this.layer) this.layer.remove();
    this.layer = null;
    const r = c.route ? routeLine(c.route) : null;
    const parts = [];
    if (r) parts.push(L.polyline(r.coords, { ...map.focus, color: '#f57f17', weight: 5, opacity: 0.9, dashArray: '6 6' }));
    if (c.place) parts.push(L.circleMarker([c.place.lat, c.place.lon], { ...map.focus, radius: 9, color: '#f57f17', weight: 3, fillOpacity: 0.2 }).bindTooltip(t('foundAt', { place: placeText(c.place) })));
    if (!parts.length) return;
    this.layer = L.featureGroup(parts).addTo(map.map);
  }

  async transition(id, state) {
    $('c-error').textContent = '';
    const note = $('c-note').value.trim();
    let c;
    try {
      c = caseOf(await this.app.api.post(`/v1/cases/${encodeURIComponent(id)}/transition`, { to: state, note }));
    } catch (e) {
      $('c-error').textContent = t('transitionFailed', { id, state: stateName(state), err: e.message });
      return;
    }
    $('c-note').value = '';
    if (c && c.id) this.show(c);
    else await this.open(id);
    await this.refresh();
  }
}
