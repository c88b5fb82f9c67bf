// Unit tests of the pages' languages: every catalogue has every key with the
// same placeholders as English, plural forms are chosen by CLDR's rules, and
// numbers come out in the language's digits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';

import { I18n, pickLanguage, rtl } from '../static/app/i18n.js';
import { i18n } from '../static/app/lang.js';
import { placeLabel, whereLabel, metres, ago } from '../static/app/format.js';
import { finderLanguages } from '../static/app/me_i18n.js';

const dir = new URL('../static/app/i18n/', import.meta.url);
const load = async (name) => (await import(new URL(name, dir))).default;

const placeholders = (msg) => {
  const forms = typeof msg === 'string' ? [msg] : Array.isArray(msg) ? [] : Object.values(msg);
  return new Set(forms.flatMap((f) => [...f.matchAll(/\{(\w+)\}/g)].map((m) => m[1])));
};

const scripts = { ar: /[\u0600-\u06FF]/, ur: /[\u0600-\u06FF]/, bn: /[\u0980-\u09FF]/ };

for (const page of ['console', 'me']) {
  test(`${page}: every catalogue has English's keys and placeholders`, async () => {
    const files = readdirSync(dir).filter((f) => f.startsWith(`${page}.`));
    const en = await load(`${page}.en.js`);
    assert.ok(Object.keys(en).length > 30, 'English catalogue too small');
    if (page === 'me') assert.deepEqual(files.map((f) => f.split('.')[1]).sort(), [...finderLanguages].sort());
    for (const f of files) {
      const lang = f.split('.')[1];
      const cat = await load(f);
      assert.deepEqual(Object.keys(cat).sort(), Object.keys(en).sort(), `${f}: keys differ from English`);
      let native = 0;
      for (const [k, v] of Object.entries(cat)) {
        if (typeof v === 'object' && !Array.isArray(v)) assert.ok('other' in v, `${f} ${k}: plural without "other"`);
        const want = placeholders(en[k]);
        const got = placeholders(v);
        // A plural form may leave out {count} ("منذ دقيقة"), nothing else.
        for (const p of want) if (p !== 'count') assert.ok(got.has(p), `${f} ${k}: {${p}} missing`);
        for (const p of got) assert.ok(want.has(p) || p === 'count', `${f} ${k}: unknown {${p}}`);
        if (scripts[lang] && scripts[lang].test(JSON.stringify(v))) native++;
      }
      if (scripts[lang]) assert.ok(native > Object.keys(cat).length * 0.8, `${f}: only ${native} messages in its script`);
    }
  });
}

test('Arabic plurals, digits and direction', async () => {
  const l = new I18n({ en: await load('console.en.js'), ar: await load('console.ar.js') }).use('ar');
  assert.equal(l.dir, 'rtl');
  assert.equal(l.t('agoMin', { count: 1 }), 'منذ دقيقة');
  assert.equal(l.t('agoMin', { count: 2 }), 'منذ دقيقتين');
  assert.equal(l.t('agoMin', { count: 3 }), 'منذ ٣ دقائق');
  assert.equal(l.t('agoMin', { count: 11 }), 'منذ ١١ دقيقة');
  assert.equal(l.t('results', { count: 0, q: 'x' }), 'لا نتائج لـ«x»');
  assert.equal(l.num(1234), '١٬٢٣٤');
  assert.equal(l.t('no-such-key'), 'no-such-key');
});

test('Bangla digits, English plurals, fallback to English', async () => {
  const l = new I18n({ en: await load('console.en.js'), bn: await load('console.bn.js') });
  assert.equal(l.t('results', { count: 1, q: 'x' }), '1 result for “x”');
  assert.equal(l.t('results', { count: 2, q: 'x' }), '2 results for “x”');
  l.use('bn');
  assert.equal(l.dir, 'ltr');
  assert.equal(l.t('campN', { n: 94 }), 'ক্যাম্প ৯৪');
  l.use('xx');
  assert.equal(l.lang, 'en');
});

test('the language is the stored choice, else the browser\'s first supported one', () => {
  const langs = ['en', 'ar', 'bn'];
  assert.equal(pickLanguage('bn', ['ar-SA'], langs), 'bn');
  assert.equal(pickLanguage(null, ['de-DE', 'ar-EG', 'en'], langs), 'ar');
  assert.equal(pickLanguage('xx', ['bn_BD'], langs), 'bn');
  assert.equal(pickLanguage('', ['de'], langs), 'en');
  assert.ok(rtl.has('ur') && rtl.has('ar') && !rtl.has('bn'));
});

test('console places, distances and times in Arabic', () => {
  i18n.use('ar');
  try {
    assert.equal(placeLabel('mina-094/3'), 'منى مخيم ٩٤، خيمة ٣');
    assert.equal(whereLabel({ camp: 'mina-012', tent: 'mina-012/34', tent_p: 0.62 }), 'قرب منى مخيم ١٢، على الأرجح خيمة ٣٤ (٦٢٪؜)');
    assert.equal(metres(250), '٢٥٠ م');
    assert.equal(ago(Date.now() - 5 * 60 * 1000), 'منذ ٥ دقائق');
  } finally {
    i18n.use('en');
  }
});
