// LuggagePanel: report lost bags, record found ones, see the matches between
// them (same tag or same owner) and hand a matched bag over.

import { ago, el } from './common.js';

const $ = (id) => document.getElementById(id);

const listOf = (ans, ...keys) => {
  if (Array.isArray(ans)) return ans;
  for (const k of keys) if (ans && Array.isArray(ans[k])) return ans[k];
  return [];
};

export class LuggagePanel {
  constructor(app) {
    this.app = app;
    $('luggage-refresh').addEventListener('click', () => this.refresh());
    $('lost-form').addEventListener('submit', (ev) => this.submit(ev, 'lost'));
    $('found-form').addEventListener('submit', (ev) => this.submit(ev, 'found'));
    this.refresh();
  }

  async refresh() {
    $('l-error').textContent = '';
    try {
      const [lost, found] = await Promise.all([
        this.app.api.get('/v1/luggage?state=lost'),
        this.app.api.get('/v1/luggage/found'),
      ]);
      this.render($('luggage-lost'), listOf(lost, 'luggage', 'items', 'bags'), 'lost');
      this.render($('luggage-found'), listOf(found, 'found', 'items', 'bags'), 'found');
    } catch (e) {
      $('l-error').textContent = `Luggage did not load: ${e.message}`;
    }
  }

  render(list, items, kind) {
    if (!items.length) {
      list.replaceChildren(el('li', { class: 'muted' }, kind === 'lost' ? 'No bags reported lost.' : 'No found bags waiting.'));
      return;
    }
    list.replaceChildren(...items.map((b) => {
      const matches = b.matches || b.candidates || [];
      return el('li', { class: 'bag', dataset: { id: b.id } },
        el('strong', {}, b.tag || b.id), ' ', el('span', {}, b.description || ''),
        el('br'),
        el('span', { class: 'muted' }, [b.owner && `owner ${b.owner}`, b.place || b.where, b.state,
          (b.reported || b.found_at || b.created) && ago(b.reported || b.found_at || b.created)].filter(Boolean).join(' · ')),
        matches.length ? el('div', { class: 'match' }, `Matches: ${matches.map((m) => (typeof m === 'string' ? m : `${m.id || m.luggage}${m.reason ? ` (${m.reason})` : ''}`)).join(', ')}`) : '');
    }));
  }

  async submit(ev, kind) {
    ev.preventDefault();
    const form = ev.target;
    const body = Object.fromEntries([...new FormData(form)].filter(([, v]) => String(v).trim() !== '').map(([k, v]) => [k, String(v).trim()]));
    $('l-error').textContent = '';
    try {
      await this.app.api.post(kind === 'lost' ? '/v1/luggage' : '/v1/luggage/found', body);
      form.reset();
      this.app.toast(kind === 'lost' ? 'Lost bag reported.' : 'Found bag recorded.');
      await this.refresh();
    } catch (e) {
      $('l-error').textContent = `${e.field ? `${e.field}: ` : ''}${e.message}`;
    }
  }
}
