// lang is the console's language: one I18n over the console catalogues,
// chosen from the operator's remembered choice, else the browser's
// languages (navigator.languages), else English. Panels import t() from here;
// console.js calls setLanguage() when the operator picks another language.
// Outside a browser (the Node unit tests) it stays English.

import { I18n, pickLanguage } from './i18n.js';
import en from './i18n/console.en.js';
import ar from './i18n/console.ar.js';
import bn from './i18n/console.bn.js';

export const LANG_KEY = 'dalil.console.lang';

export const i18n = new I18n({ en, ar, bn });

function stored() {
  try {
    return typeof localStorage === 'undefined' ? '' : localStorage.getItem(LANG_KEY) || '';
  } catch (e) {
    return ''; // storage blocked: the browser's languages decide
  }
}

if (typeof navigator !== 'undefined' && typeof document !== 'undefined') {
  i18n.use(pickLanguage(stored(), navigator.languages || [navigator.language], i18n.languages));
}

// t renders a message of the console's catalogue in the current language.
export const t = (key, vars) => i18n.t(key, vars);

// setLanguage switches the console to lang, remembers the choice and
// translates the page's static words.
export function setLanguage(lang) {
  i18n.use(lang);
  try {
    localStorage.setItem(LANG_KEY, i18n.lang);
  } catch (e) {
    // not remembered; the page still switches
  }
  i18n.apply(document);
}
