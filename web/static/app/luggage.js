// LuggagePanel: lost bags, found items, and the matching between them.
// A bag is known by its tag (registered at departure); reporting it lost
// registers it first when the desk has never seen the tag. A found item
// gets suggestions (same tag, same owner, similar description); matching one
// puts the bag at the desk, and handing it over closes the loop with a
// custody record.

import { APIError, el } from './common.js';
import { ago } from './format.js';
import { i18n, t } from './lang.js';

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const listOf = (ans, ...keys) => {
  if (Array.isArray(ans)) return ans;
  for (const k of keys) if (ans && Array.isArray(ans[k])) return ans[k];
  return [];
};

// formBody reads a form's non-empty fields.
function formBody(form) {
  return Object.fromEntries([...new FormData(form)]
    .map(([k, v]) => [k, String(v).trim()])
    .filter(([, v]) => v !== ''));
}

export class LuggagePanel {
  constructor(app) {
    this.app = app;
    $('luggage-refresh').addEventListener('click', () => this.refresh());
    $('lost-form').addEventListener('submit', (ev) => this.reportLost(ev));
    $('found-form').addEventListener('submit', (ev) => this.recordFound(ev));
    this.refresh();
  }

  error(e) {
    $('l-error').textContent = e ? `${e.field ? `${e.field}: ` : ''}${e.message}` : '';
  }

  async refresh() {
    this.error(null);
    try {
      const [lost, atDesk, found] = await Promise.all([
        this.app.api.get('/v1/luggage?status=lost'),
        this.app.api.get('/v1/luggage?status=found'),
        this.app.api.get('/v1/found-items?status=unmatched'),
      ]);
      this.renderBags(listOf(lost, 'luggage').concat(listOf(atDesk, 'luggage')));
      this.renderFound(listOf(found, 'items', 'found'));
    } catch (e) {
      this.error(e);
    }
  }

  renderBags(bags) {
    const list = $('luggage-lost');
    if (!bags.length) {
      list.replaceChildren(el('li', { class: 'muted' }, t('noLostBags')));
      return;
    }
    list.replaceChildren(...bags.map((b) => el('li', { class: `bag status-${b.status}`, dataset: { tag: b.tag } },
      el('strong', {}, b.tag), ' ', el('span', { class: `badge state-${b.status}` }, i18n.has(`bag_${b.status}`) ? t(`bag_${b.status}`) : b.status),
      ' ', el('span', {}, b.description || ''),
      el('br'),
      el('span', { class: 'muted' }, [b.owner && t('bagOwner', { pid: b.owner }), b.lost_place && t('bagLostAt', { place: b.lost_place }),
        b.lost_at && ago(b.lost_at), b.tracker && `tracker ${b.tracker}`].filter(Boolean).join(' · ')),
      b.status === 'found' ? this.handoverForm(b) : '')));
  }

  // handoverForm asks how the receiver proved the bag is theirs: the custody
  // record needs it.
  handoverForm(b) {
    const proof = el('input', { name: 'signature', placeholder: t('bagProof') });
    return el('div', { class: 'actions handover' }, proof,
      el('button', { type: 'button', class: 'primary', onclick: () => this.handover(b, proof.value.trim()) }, t('bagHandOver', { owner: b.owner || t('bagOwnerWord') })));
  }

  renderFound(items) {
    const list = $('luggage-found');
    if (!items.length) {
      list.replaceChildren(el('li', { class: 'muted' }, t('noFoundWaiting')));
      return;
    }
    list.replaceChildren(...items.map((f) => {
      const sugg = el('div', { class: 'suggestions' });
      return el('li', { class: 'bag', dataset: { id: f.id } },
        el('strong', {}, f.tag || f.id), ' ', el('span', {}, f.description || ''),
        el('br'),
        el('span', { class: 'muted' }, [f.where && t('foundWhere', { place: f.where }), f.owner && t('foundLabel', { pid: f.owner }), f.ts && ago(f.ts)].filter(Boolean).join(' · ')),
        el('div', { class: 'actions' }, el('button', { type: 'button', class: 'small', onclick: () => this.suggest(f.id, sugg) }, t('findMatches'))),
        sugg);
    }));
  }

  // suggest lists the bags a found item may be, each with a Match button.
  async suggest(id, box, known) {
    let sug = known;
    if (!sug) {
      try {
        sug = listOf(await this.app.api.get(`/v1/found-items/${enc(id)}`), 'suggestions');
      } catch (e) {
        this.error(e);
        return;
      }
    }
    if (!sug.length) {
      box.replaceChildren(el('p', { class: 'muted' }, t('noMatches')));
      return;
    }
    box.replaceChildren(...sug.map((m) => el('div', { class: 'match' },
      `${m.tag} (${m.reason}${m.score ? `, ${Math.round(m.score * 100)}%` : ''}) ${m.owner ? `owner ${m.owner}` : ''} ${m.description || ''} `,
      el('button', { type: 'button', class: 'small', onclick: () => this.match(id, m.tag) }, t('match')))));
  }

  async match(id, tag) {
    this.error(null);
    try {
      await this.app.api.post(`/v1/found-items/${enc(id)}/match`, { tag });
      this.app.toast(t('matchedToast', { id, tag }));
      await this.refresh();
    } catch (e) {
      this.error(e);
    }
  }

  async handover(bag, signature) {
    this.error(null);
    if (!signature) {
      this.error(new APIError(400, 'say how the owner confirmed the bag is theirs', 'signature'));
      return;
    }
    try {
      await this.app.api.post(`/v1/luggage/${enc(bag.tag)}/handover`, { to: bag.owner || 'owner', signature, note: 'handed over at the helpdesk' });
      this.app.toast(t('handedToast', { tag: bag.tag }));
      await this.refresh();
    } catch (e) {
      this.error(e);
    }
  }

  // reportLost marks a bag lost, registering its tag first when the desk
  // does not know it yet.
  async reportLost(ev) {
    ev.preventDefault();
    const form = ev.target;
    const b = formBody(form);
    this.error(null);
    if (!b.tag) {
      this.error(new APIError(400, 'the tag number is required', 'tag'));
      return;
    }
    const lost = () => this.app.api.post(`/v1/luggage/${enc(b.tag)}/lost`, { place: b.place || '', note: b.description || '' });
    try {
      try {
        await lost();
      } catch (e) {
        if (!(e instanceof APIError) || e.status !== 404) throw e;
        await this.app.api.post('/v1/luggage', { tag: b.tag, owner: b.owner || '', description: b.description || '' });
        await lost();
      }
      form.reset();
      this.app.toast(t('lostToast', { tag: b.tag }));
      await this.refresh();
    } catch (e) {
      this.error(e);
    }
  }

  async recordFound(ev) {
    ev.preventDefault();
    const form = ev.target;
    const b = formBody(form);
    this.error(null);
    try {
      const ans = await this.app.api.post('/v1/found-items', b);
      form.reset();
      await this.refresh();
      const id = ans.found && ans.found.id;
      const box = id && document.querySelector(`#luggage-found li[data-id="${CSS.escape(id)}"] .suggestions`);
      if (box) this.suggest(id, box, listOf(ans, 'suggestions'));
      this.app.toast(ans.suggestions && ans.suggestions.length ? t('foundToastN', { count: ans.suggestions.length }) : t('foundToast'));
    } catch (e) {
      this.error(e);
    }
  }
}
