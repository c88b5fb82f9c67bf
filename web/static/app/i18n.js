// i18n: Dalil's pages in the reader's language, on the browser's own Intl
// (plural rules, number, date and relative-time formats, all in CLDR) and
// message catalogues per language (app/i18n/*.js). No library: Intl does the
// hard part, and what is left is a key lookup and {placeholder} filling.
//
// A catalogue maps a key to a string, or to plural forms chosen by
// Intl.PluralRules on the "count" variable: {one: '…', other: '…'} (Arabic
// has zero, one, two, few, many, other). Numbers in a message are formatted
// for the language (Arabic-Indic digits in Arabic, Bengali digits in Bangla);
// an ID such as BD-000123 is a string and stays as the registry holds it.

// rtl lists the languages written right to left.
export const rtl = new Set(['ar', 'ur', 'fa', 'he']);

// locales names the CLDR locale each language formats numbers and dates
// with. Saudi operators read Arabic-Indic digits (the -u-nu-arab extension
// says so whatever the CLDR default for "ar" is this year).
export const locales = {
  en: 'en-GB', ar: 'ar-SA-u-nu-arab', bn: 'bn-BD', ur: 'ur-PK', id: 'id-ID', tr: 'tr-TR', fr: 'fr-FR',
};

// nativeNames are the languages' names in their own script, for pickers.
export const nativeNames = {
  en: 'English', ar: 'العربية', bn: 'বাংলা', ur: 'اردو', id: 'Bahasa Indonesia', tr: 'Türkçe', fr: 'Français',
};

// pickLanguage chooses the page's language: the reader's remembered choice,
// else the first of the browser's languages that is supported (by its
// primary subtag: "ar-EG" is "ar"), else the fallback.
export function pickLanguage(stored, preferred, supported, fallback = 'en') {
  if (stored && supported.includes(stored)) return stored;
  for (const tag of preferred || []) {
    const primary = String(tag).toLowerCase().split(/[-_]/)[0];
    if (supported.includes(primary)) return primary;
  }
  return fallback;
}

export class I18n {
  // catalogues: {lang: {key: message}}; the fallback language's catalogue
  // must hold every key.
  constructor(catalogues, fallback = 'en') {
    this.catalogues = catalogues;
    this.fallback = fallback;
    this.use(fallback);
  }

  get languages() {
    return Object.keys(this.catalogues);
  }

  // use switches the formatters to lang (unknown languages fall back).
  use(lang) {
    if (!this.catalogues[lang]) lang = this.fallback;
    this.lang = lang;
    this.locale = locales[lang] || lang;
    this.dir = rtl.has(lang) ? 'rtl' : 'ltr';
    this.plural = new Intl.PluralRules(this.locale);
    this.numbers = new Intl.NumberFormat(this.locale);
    this.relative = new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto', style: 'long' });
    this.dateTime = new Intl.DateTimeFormat(this.locale, { dateStyle: 'medium', timeStyle: 'short' });
    this.timeOnly = new Intl.DateTimeFormat(this.locale, { hour: '2-digit', minute: '2-digit' });
    return this;
  }

  // has says whether the current language (or the fallback) has key.
  has(key) {
    return key in (this.catalogues[this.lang] || {}) || key in this.catalogues[this.fallback];
  }

  // t renders key with vars. Plural messages choose their form by
  // vars.count. A missing key renders as the key itself, so that a gap shows
  // on screen instead of an empty label.
  t(key, vars = {}) {
    let msg = (this.catalogues[this.lang] || {})[key];
    if (msg === undefined) msg = this.catalogues[this.fallback][key];
    if (msg === undefined) return key;
    if (typeof msg === 'object') {
      const n = Number(vars.count);
      const form = Number.isFinite(n) ? this.plural.select(n) : 'other';
      msg = msg[form] !== undefined ? msg[form] : msg.other;
    }
    return msg.replace(/\{(\w+)\}/g, (whole, name) => {
      if (!(name in vars)) return whole;
      const v = vars[name];
      return typeof v === 'number' ? this.num(v) : String(v);
    });
  }

  num(n, opts) {
    return opts ? new Intl.NumberFormat(this.locale, opts).format(n) : this.numbers.format(n);
  }

  percent(x) {
    return new Intl.NumberFormat(this.locale, { style: 'percent', maximumFractionDigits: 0 }).format(x);
  }

  date(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? '' : this.dateTime.format(d);
  }

  time(ts) {
    const d = new Date(ts);
    return Number.isNaN(d.getTime()) ? '' : this.timeOnly.format(d);
  }

  // ago says how long ago ts was ("5 minutes ago", "قبل ٥ دقائق").
  ago(ts, now = Date.now()) {
    const t = typeof ts === 'number' ? ts : Date.parse(ts);
    if (!t) return this.t('never');
    const s = Math.round((now - t) / 1000);
    if (s < 10) return this.relative.format(0, 'second');
    if (s < 60) return this.relative.format(-s, 'second');
    if (s < 3600) return this.relative.format(-Math.floor(s / 60), 'minute');
    if (s < 86400) return this.relative.format(-Math.floor(s / 3600), 'hour');
    return this.relative.format(-Math.floor(s / 86400), 'day');
  }

  // duration is an age without "ago": "12 min", "2 h 5 min".
  duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const unit = (n, u) => new Intl.NumberFormat(this.locale, { style: 'unit', unit: u, unitDisplay: 'short' }).format(n);
    if (s < 60) return unit(s, 'second');
    if (s < 3600) return unit(Math.floor(s / 60), 'minute');
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m ? `${unit(h, 'hour')} ${unit(m, 'minute')}` : unit(h, 'hour');
  }

  // apply translates a document: lang and dir on <html>, then every element
  // with data-i18n (text), data-i18n-placeholder, -title or -aria-label.
  apply(doc) {
    const html = doc.documentElement;
    html.lang = this.lang;
    html.dir = this.dir;
    for (const e of doc.querySelectorAll('[data-i18n]')) e.textContent = this.t(e.dataset.i18n);
    for (const attr of ['placeholder', 'title', 'aria-label']) {
      const data = `data-i18n-${attr}`;
      for (const e of doc.querySelectorAll(`[${data}]`)) e.setAttribute(attr, this.t(e.getAttribute(data)));
    }
  }
}
