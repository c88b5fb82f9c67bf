// The helpdesk console and guide view: sign-in, role-scoped UI, the layout
// map with live positions, and the panels (search, found a pilgrim, pilgrim,
// group, cases, luggage, alerts), each in its own module.

import { API, APIError, LiveFeed, positionsOf } from './common.js';
import { LayoutMap } from './layoutmap.js';
import { MapPick } from './mappick.js';
import { LiveLayer } from './live.js';
import { PilgrimPanel } from './pilgrim.js';
import { SearchPanel } from './search.js';
import { FoundPanel } from './found.js';
import { CasesPanel } from './cases.js';
import { LuggagePanel } from './luggage.js';
import { AlertsPanel } from './alerts.js';
import { GroupPanel } from './group.js';
import { EnrolBox } from './enrol.js';
import { i18n, setLanguage, t } from './lang.js';
import { nativeNames } from './i18n.js';

const TOKEN_KEY = 'dalil.console.token';
const $ = (id) => document.getElementById(id);

// Console is the page's state; panels get it to reach the API, the map and
// each other. window.dalil exposes it for the browser tests and the curious.
class Console {
  constructor() {
    this.api = new API(() => sessionStorage.getItem(TOKEN_KEY) || '');
    this.me = null;
    this.feed = null;
    this.handlers = []; // live-message handlers registered by panels
  }

  async boot() {
    this.languagePicker();
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.signIn($('signin-token').value.trim());
    });
    $('sign-out').addEventListener('click', () => this.signOut());
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      this.showSignIn('');
      return;
    }
    await this.start();
  }

  showSignIn(message) {
    $('app').hidden = true;
    $('search-form').hidden = true;
    $('sign-out').hidden = true;
    $('whoami').textContent = '';
    $('signin').hidden = false;
    $('signin-error').textContent = message;
    $('signin-token').focus();
  }

  async signIn(token) {
    if (!token) {
      $('signin-error').textContent = t('enterToken');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    await this.start();
  }

  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  }

  async start() {
    try {
      this.me = await this.api.get('/v1/me');
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      this.showSignIn(e instanceof APIError && e.status === 401 ?
        t('badTokenSignin') : t('cannotSignIn', { err: e.message }));
      return;
    }
    const role = this.me.role;
    if (role === 'pilgrim') {
      // A pilgrim's page is the tent finder; hand the token over.
      localStorage.setItem('dalil.me.token', sessionStorage.getItem(TOKEN_KEY));
      sessionStorage.removeItem(TOKEN_KEY);
      location.replace('/me');
      return;
    }
    if (role === 'device') {
      sessionStorage.removeItem(TOKEN_KEY);
      this.showSignIn(t('deviceToken'));
      return;
    }
    $('signin').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    this.whoami();
    document.body.dataset.role = role;
    this.applyRole(role);

    this.map = new LayoutMap('map');
    for (const b of document.querySelectorAll('.jump button')) {
      b.addEventListener('click', () => this.map.fitSite(b.dataset.site));
    }
    this.pick = new MapPick(this);
    this.live = new LiveLayer(this);
    this.feed = new LiveFeed(() => sessionStorage.getItem(TOKEN_KEY) || '', (m) => this.dispatch(m), (s) => this.liveStatus(s));
    this.pilgrim = new PilgrimPanel(this);
    if (this.staff()) this.enrol = new EnrolBox(this, $('p-sighting-box'), () => this.pilgrim.pid);
    this.alerts = new AlertsPanel(this);
    if (this.staff() || role === 'guide') this.cases = new CasesPanel(this);
    if (this.staff()) {
      this.search = new SearchPanel(this);
      this.found = new FoundPanel(this);
      this.luggage = new LuggagePanel(this);
      this.showTab('results');
    }
    if (role === 'guide') {
      this.group = new GroupPanel(this);
      this.showTab('group');
    }
    try {
      this.map.load(await this.api.get('/v1/layout'));
    } catch (e) {
      this.toast(t('layoutFailed', { err: e.message }));
    }
    this.live.start();
    if (this.group) this.group.start();
    this.ready = true;
    document.body.dataset.ready = '1';
  }

  staff() {
    return this.me && (this.me.role === 'operator' || this.me.role === 'admin');
  }

  // applyRole hides every element whose data-roles does not name the role.
  applyRole(role) {
    for (const e of document.querySelectorAll('[data-roles]')) {
      e.hidden = !e.dataset.roles.split(' ').includes(role);
    }
    $('search-form').hidden = !(role === 'operator' || role === 'admin');
    for (const b of document.querySelectorAll('.tabs [data-tab]')) {
      b.addEventListener('click', () => this.showTab(b.dataset.tab));
    }
  }

  showTab(name) {
    for (const b of document.querySelectorAll('.tabs [data-tab]')) {
      b.setAttribute('aria-selected', String(b.dataset.tab === name));
    }
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== `tab-${name}`;
  }

  // onLive registers fn for every live-feed message.
  onLive(fn) {
    this.handlers.push(fn);
  }

  dispatch(msg) {
    if (msg.type === 'error') {
      this.toast(t('liveFeedError', { err: `${msg.error || msg.message || 'error'}${msg.topic ? ` (${msg.topic})` : ''}` }));
    }
    const positions = positionsOf(msg);
    for (const fn of this.handlers) fn(msg, positions);
  }

  liveStatus(s) {
    this.liveState = s;
    const e = $('live-status');
    const state = s.split(':')[0];
    e.textContent = i18n.has(`live_${state}`) ? t(`live_${state}`) + s.slice(state.length) : s;
    e.dataset.state = state;
  }

  whoami() {
    if (!this.me) return;
    const { role, subject } = this.me;
    const name = i18n.has(`role_${role}`) ? t(`role_${role}`) : role;
    $('whoami').textContent = role === 'guide' ? t('whoGuide', { group: subject }) : `${name}${subject ? ` · ${subject}` : ''}`;
  }

  // languagePicker fills the header's language menu and switches the page
  // when the operator picks one. Panels re-render what they show in words.
  languagePicker() {
    const pick = $('lang');
    pick.replaceChildren(...i18n.languages.map((l) => {
      const o = document.createElement('option');
      o.value = l;
      o.lang = l;
      o.textContent = nativeNames[l] || l;
      return o;
    }));
    pick.value = i18n.lang;
    i18n.apply(document);
    pick.addEventListener('change', () => this.setLanguage(pick.value));
  }

  setLanguage(lang) {
    setLanguage(lang);
    $('lang').value = i18n.lang;
    this.whoami();
    if (this.liveState) this.liveStatus(this.liveState);
    if (!this.ready) return;
    for (const p of [this.search, this.pilgrim, this.cases, this.group]) {
      if (p && typeof p.relabel === 'function') p.relabel();
    }
    this.map.relabel();
  }

  toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
  }
}

const app = new Console();
window.dalil = app;
app.boot();
