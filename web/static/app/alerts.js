// AlertsPanel lists alerts as they arrive on the events topic: group
// separations (and their clearing), pilgrims outside their camp at night,
// and case changes such as "located". Camp and tent enter/exit events are
// routine movement, not alerts, and are left out.

import { el } from './common.js';
import { placeLabel } from './format.js';
import { i18n, t } from './lang.js';

const $ = (id) => document.getElementById(id);
const MAX = 200;

// titles names the alert kinds shown; the words are in the console's catalogues (alert_<kind>).
const titles = { separation: true, separation_clear: true, outside_camp_night: true, case: true };

export class AlertsPanel {
  constructor(app) {
    this.app = app;
    this.unseen = 0;
    $('alerts-clear').addEventListener('click', () => {
      $('alerts').replaceChildren();
      this.unseen = 0;
      $('alerts-count').textContent = '';
    });
    app.onLive((msg) => {
      if (msg.type === 'event' && titles[msg.kind]) this.add(msg);
      if (msg.type === 'alert') this.add(Object.assign({ kind: msg.kind || 'alert' }, msg));
    });
    // Staff follow every event; the server narrows a guide's events to
    // their own group.
    app.feed.subscribe('events');
    this.load();
  }

  // load shows the alerts already active when the console opens.
  async load() {
    try {
      const ans = await this.app.api.get('/v1/alerts');
      for (const a of ans.alerts || []) this.add({ ...a, ts: a.since });
    } catch (e) {
      // The live feed still brings new alerts; say why the old ones are missing.
      this.app.toast(`Active alerts did not load: ${e.message}`);
    }
  }

  add(ev) {
    const list = $('alerts');
    const who = ev.pilgrim ? el('a', { href: '#', onclick: (e) => { e.preventDefault(); this.app.pilgrim.show(ev.pilgrim); } }, ev.pilgrim) : '';
    const where = placeLabel(ev.tent || ev.camp);
    const item = el('li', { class: `alert kind-${ev.kind}`, dataset: { kind: ev.kind } },
      el('strong', {}, titles[ev.kind] ? t(`alert_${ev.kind}`) : ev.kind), ' ', who,
      ev.case ? el('span', {}, ` case ${ev.case}`) : '',
      el('br'),
      el('span', { class: 'muted' }, [new Date(ev.ts || Date.now()).toLocaleTimeString(), ev.group && `group ${ev.group}`, where, ev.detail].filter(Boolean).join(' · ')));
    list.prepend(item);
    while (list.children.length > MAX) list.lastChild.remove();
    this.unseen++;
    $('alerts-count').textContent = i18n.num(this.unseen);
    if (ev.kind === 'separation' && this.app.group) this.app.group.markSeparated(ev.pilgrim, true);
    if (ev.kind === 'separation_clear' && this.app.group) this.app.group.markSeparated(ev.pilgrim, false);
  }
}
