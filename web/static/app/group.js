// GroupPanel is the guide view: the guide's group on the map (topic
// group:<GID>), each member's distance from the guide and last-seen time, and
// the separated members highlighted. "Separated" is the server's word (an
// active separation alert, which has hysteresis and a grace time); members
// merely far from the guide are marked "far" so the guide can look early.

/* global L */

import { distanceM, el, flattenPosition } from './common.js';
import { ago, metres, placeLabel, whereLabel } from './format.js';
import { t } from './lang.js';

const $ = (id) => document.getElementById(id);
const FAR_M = 300; // the server's default separation distance

export class GroupPanel {
  constructor(app) {
    this.app = app;
    this.gid = app.me.subject;
    this.members = new Map(); // pid -> {p, pos, distance, separated}
    this.separated = new Set();
    this.guidePID = '';
    app.onLive((msg, positions) => {
      let changed = false;
      for (const pos of positions) {
        const m = this.members.get(pos.pilgrim);
        if (m) {
          m.pos = pos;
          changed = true;
        }
      }
      if (changed) this.render();
    });
    setInterval(() => this.render(), 15000);
  }

  async start() {
    $('g-title').textContent = t('groupTitle', { group: this.gid });
    let ans;
    try {
      ans = await this.app.api.get(`/v1/groups/${encodeURIComponent(this.gid)}`);
    } catch (e) {
      $('g-error').textContent = t('groupFailed', { err: e.message });
      return;
    }
    const g = ans.group || ans;
    if (g.name) $('g-title').textContent = `${g.name} (${this.gid})`;
    this.guidePID = (ans.guide && ans.guide.pid) || g.guide_pid || '';
    // api.GroupView: the guide apart, members as people with a flat position.
    const people = (ans.guide ? [ans.guide] : []).concat(ans.members || []);
    for (const raw of people) {
      const pos = raw.position ? flattenPosition(raw.position) : null;
      if (pos && !pos.pilgrim) pos.pilgrim = raw.pid;
      this.members.set(raw.pid, { p: raw, pos: pos && pos.lat !== undefined ? pos : null, serverDistance: raw.distance_m });
      if (raw.separated) this.separated.add(raw.pid);
    }
    const seed = [...this.members.values()].filter((m) => m.pos).map((m) => m.pos);
    for (const pos of seed) this.app.live.pending.set(pos.pilgrim, pos);
    this.app.feed.subscribe(`group:${this.gid}`);
    this.render();
    const pts = seed.map((p) => [p.lat, p.lon]);
    if (pts.length) this.app.map.map.fitBounds(L.latLngBounds(pts), { padding: [40, 40], maxZoom: 18, animate: false });
  }

  guidePos() {
    const g = this.members.get(this.guidePID);
    return g && g.pos;
  }

  isSeparated(pid) {
    return this.separated.has(pid);
  }

  isFar(pid) {
    const m = this.members.get(pid);
    return !!m && this.distanceOf(m) > FAR_M;
  }

  markSeparated(pid, on) {
    if (on) this.separated.add(pid);
    else this.separated.delete(pid);
    this.app.live.restyle(pid);
    this.render();
  }

  distanceOf(m) {
    const g = this.guidePos();
    if (m.p.pid === this.guidePID) return 0;
    if (g && m.pos) return distanceM(g, m.pos);
    return m.serverDistance;
  }

  // relabel redraws the group in the console's language.
  relabel() {
    this.render();
  }

  render() {
    const rows = [...this.members.values()].map((m) => ({ m, d: this.distanceOf(m) }));
    rows.sort((a, b) => (this.isSeparated(b.m.p.pid) - this.isSeparated(a.m.p.pid)) || ((b.d ?? -1) - (a.d ?? -1)));
    const sep = rows.filter((r) => this.isSeparated(r.m.p.pid)).length;
    const seen = rows.filter((r) => r.m.pos).length;
    $('g-summary').textContent = [t('members', { count: rows.length }), t('withPosition', { count: seen }), t('separatedN', { count: sep })].join(' · ');
    $('g-members').replaceChildren(...rows.map(({ m, d }) => el('tr', {
      class: this.isSeparated(m.p.pid) ? 'separated' : '', dataset: { pid: m.p.pid },
    },
    el('td', {}, el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); this.app.pilgrim.show(m.p.pid); } }, m.p.name_en || m.p.pid),
      m.p.pid === this.guidePID ? ` (${t('role_guide')})` : '',
      m.pos && m.pos.camp ? el('div', { class: 'muted' }, whereLabel(m.pos)) : ''),
    el('td', {}, m.p.pid === this.guidePID ? '–' : metres(d)),
    el('td', {}, m.pos ? ago(m.pos.ts) : t('never')))));
  }
}
