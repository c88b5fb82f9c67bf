// Formatting for the console in the operator's language: times ago, ages,
// distances and place names ("Mina camp 94, tent 3"). Kept apart from
// common.js so that the tent finder, which has its own small catalogues,
// does not load the console's.

import { i18n, t as tr } from './lang.js';

// ago says how long ago an RFC 3339 time was, in words a helpdesk reads
// fast, in the console's language ("5 min ago", "منذ ٥ دقائق").
export function ago(ts, now = Date.now()) {
  const t = typeof ts === 'number' ? ts : Date.parse(ts);
  if (!t) return tr('never');
  return span(Math.max(0, Math.round((now - t) / 1000)), 'ago');
}

// age is like ago without "ago", for durations such as a case's age.
export function age(ts, now = Date.now()) {
  const t = typeof ts === 'number' ? ts : Date.parse(ts);
  if (!t) return tr('never');
  return span(Math.max(0, Math.round((now - t) / 1000)), 'age');
}

function span(s, kind) {
  if (s < 60) return tr(`${kind}S`, { count: s });
  if (s < 3600) return tr(`${kind}Min`, { count: Math.floor(s / 60) });
  if (s < 86400) return tr(`${kind}HM`, { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return tr(`${kind}D`, { count: Math.floor(s / 86400) });
}

// metres formats a distance.
export function metres(m) {
  if (m === undefined || m === null || Number.isNaN(m)) return '–';
  if (m < 1000) return tr('metres', { n: i18n.num(Math.round(m), { useGrouping: false }) });
  const d = m < 10000 ? 2 : 1;
  return tr('km', { n: i18n.num(m / 1000, { minimumFractionDigits: d, maximumFractionDigits: d }) });
}

// whereLabel says where a live position puts a pilgrim, never a bare tent:
// "near Mina camp 12, probably tent 34 (62 %)"; '' without a camp.
export function whereLabel(p) {
  if (!p || !p.camp) return '';
  const m = /\/(\d+)$/.exec(p.tent || '');
  const tp = p.tentP ?? p.tent_p; // a flattened position or a PositionView
  if (m && tp) return tr('nearCampTent', { camp: placeLabel(p.camp), t: Number(m[1]), p: pct(tp) });
  return tr('nearCamp', { camp: placeLabel(p.camp) });
}

// pct is a probability as a whole percentage: "62 %" in English (the
// console's style), the language's own percent format elsewhere.
export function pct(x) {
  return i18n.lang === 'en' ? `${Math.round(x * 100)} %` : i18n.percent(Math.round(x * 100) / 100);
}

// placeLabel turns "mina-094" into "Mina camp 94" and "mina-094/3" into
// "Mina camp 94, tent 3", in the console's language.
export function placeLabel(id, number) {
  if (!id) return '';
  const m = /^([a-z]+)-0*(\d+)(?:\/(\d+))?$/.exec(id);
  if (!m) return number ? `${id} (${number})` : id;
  const site = i18n.has(m[1]) ? tr(m[1]) : m[1].charAt(0).toUpperCase() + m[1].slice(1);
  return m[3] ? tr('campTentOf', { site, n: Number(m[2]), t: Number(m[3]) }) : tr('campOf', { site, n: Number(m[2]) });
}
