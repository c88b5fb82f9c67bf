// SearchPanel runs GET /v1/search?q= from the header's search box and lists
// the hits; choosing one opens the pilgrim panel.

import { el } from './common.js';
import { ago, placeLabel, whereLabel } from './format.js';
import { t } from './lang.js';

const $ = (id) => document.getElementById(id);

// hitsOf reads a search answer: an array, or an object holding the hits
// under "results"/"hits"/"pilgrims".
export function hitsOf(ans) {
  if (Array.isArray(ans)) return ans;
  if (!ans) return [];
  return ans.results || ans.hits || ans.pilgrims || ans.items || [];
}

export class SearchPanel {
  constructor(app) {
    this.app = app;
    this.seq = 0;
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.run($('search-q').value.trim());
    });
  }

  async run(q) {
    this.app.showTab('results');
    const list = $('results');
    if (!q) {
      list.replaceChildren();
      $('results-summary').textContent = t('searchType');
      return;
    }
    const seq = ++this.seq;
    $('results-summary').textContent = t('searching', { q });
    let hits;
    try {
      hits = hitsOf(await this.app.api.get(`/v1/search?q=${encodeURIComponent(q)}`));
    } catch (e) {
      if (seq === this.seq) $('results-summary').textContent = t('searchFailed', { err: e.message });
      return;
    }
    if (seq !== this.seq) return; // a newer search is under way
    this.last = { q, hits };
    this.relabel();
    if (hits.length === 1) this.app.pilgrim.show(pidOf(h0(hits)));
  }

  // relabel redraws the last answer in the console's language.
  relabel() {
    if (!this.last) return;
    const { q, hits } = this.last;
    $('results-summary').textContent = hits.length ? t('results', { count: hits.length, q }) : t('noMatch', { q });
    $('results').replaceChildren(...hits.map((h) => this.item(h)));
  }

  item(h) {
    const p = h.pilgrim && typeof h.pilgrim === 'object' ? Object.assign({}, h.pilgrim, h) : h;
    const pid = pidOf(h);
    const seen = p.last_seen || p.last_seen_at || (p.live && p.live.ts) || '';
    const seenAt = whereLabel({ camp: p.seen_camp, tent: p.seen_tent, tentP: p.seen_tent_p });
    const where = placeLabel(p.tent || p.camp) ? t('assignedAt', { place: placeLabel(p.tent || p.camp) }) : '';
    return el('li', { class: 'hit', dataset: { pid } },
      el('button', { type: 'button', class: 'hit-open', onclick: () => this.app.pilgrim.show(pid) },
        el('strong', { dir: 'auto' }, p.name_en || p.name || pid),
        p.name_bn ? el('span', { class: 'bn', lang: 'bn' }, ` ${p.name_bn}`) : '',
        el('br'),
        el('span', { class: 'muted' }, [pid, p.group && t('groupN', { group: p.group }), p.agency].filter(Boolean).join(' · ')),
        el('br'),
        el('span', { class: 'muted' }, [where, seen ? (seenAt ? t('seenAgoIn', { ago: ago(seen), where: seenAt }) : t('seenAgo', { ago: ago(seen) })) : t('notSeen')].filter(Boolean).join(' · '))));
  }
}

function h0(hits) {
  return hits[0];
}

function pidOf(h) {
  if (h.pid) return h.pid;
  if (h.pilgrim && typeof h.pilgrim === 'object') return h.pilgrim.pid;
  return h.pilgrim || h.id || '';
}
