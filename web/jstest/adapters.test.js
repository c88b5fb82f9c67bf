// Unit tests of the pages' pure functions: the adapters that read the API's
// answers and the live feed, and the geometry and wording helpers. Run by
// `node --test jstest/` (TestJavaScriptUnits in web_test.go runs it too).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { positionsOf, flattenPosition, routeLine, ringCentroid, distanceM, bearingDeg, esc } from '../static/app/common.js';
import { placeLabel, whereLabel, ago, metres } from '../static/app/format.js';
import { kindOf } from '../static/app/layoutmap.js';
import { profileOf, trailCoords } from '../static/app/pilgrim.js';
import { casesOf, caseOf, nextState } from '../static/app/cases.js';
import { hitsOf } from '../static/app/search.js';
import { compassWord } from '../static/app/me_i18n.js';
import meEN from '../static/app/i18n/me.en.js';
import meBN from '../static/app/i18n/me.bn.js';

const livePosition = {
  type: 'position', pilgrim: 'BD-000123', device: 'ph-123', group: 'g-017', lat: 21.41331, lon: 39.89327,
  acc: 6, ts: '2025-06-05T10:00:00.123Z', site: 'mina', camp: 'mina-094', tent: 'mina-094/3', tent_p: 0.71, cell: '8d3f', batt: 64,
};

test('positionsOf reads a live position and a snapshot', () => {
  const [p] = positionsOf(livePosition);
  assert.equal(p.pilgrim, 'BD-000123');
  assert.equal(p.lat, 21.41331);
  assert.equal(p.tent, 'mina-094/3');
  assert.equal(p.tentP, 0.71);
  assert.equal(p.batt, 64);
  const snap = positionsOf({ type: 'snapshot', topic: 'group:g-017', positions: [livePosition, { ...livePosition, pilgrim: 'BD-2', lat: 21.5 }], truncated: false });
  assert.deepEqual(snap.map((x) => x.pilgrim), ['BD-000123', 'BD-2']);
  assert.deepEqual(positionsOf({ type: 'event', kind: 'camp_exit' }), []);
  assert.deepEqual(positionsOf({ type: 'error', error: 'no' }), []);
  assert.deepEqual(positionsOf(null), []);
});

test('flattenPosition reads the REST position view and the nested LiveState', () => {
  const view = { device: 'ph-1', pilgrim: 'P1', lat: 21.4, lon: 39.9, acc: 5, ts: 'T', stale: true, camp: 'mina-001', candidates: [{ tent: 'mina-001/2', probability: 0.6 }] };
  const a = flattenPosition(view);
  assert.equal(a.lat, 21.4);
  assert.equal(a.stale, true);
  assert.equal(a.candidates[0].tent, 'mina-001/2');
  const nested = flattenPosition({ device: 'ph-1', pilgrim: 'P1', position: { lat: 21.4, lon: 39.9, ts: 'T' }, location: { camp: 'mina-002', tent: 'mina-002/1' } });
  assert.equal(nested.camp, 'mina-002');
  assert.equal(nested.lon, 39.9);
});

test('routeLine reads a GeoJSON route and a case route', () => {
  const feature = {
    type: 'Feature', geometry: { type: 'LineString', coordinates: [[39.1, 21.1], [39.2, 21.2]] },
    properties: { length_m: 312.5, walk_s: 300, bearing_deg: 10, tent: 'mina-001/2', camp: 'mina-001' },
  };
  const r = routeLine(feature);
  assert.deepEqual(r.coords, [[21.1, 39.1], [21.2, 39.2]]);
  assert.equal(r.lengthM, 312.5);
  assert.equal(r.walkS, 300);
  assert.equal(r.tent, 'mina-001/2');
  const c = routeLine({ id: 'C1', route: { tent: 'mina-001/2', length_m: 40, walk_s: 35, path: [{ lat: 21.1, lon: 39.1 }, { lat: 21.2, lon: 39.2 }] } });
  assert.deepEqual(c.coords, [[21.1, 39.1], [21.2, 39.2]]);
  assert.equal(c.lengthM, 40);
  assert.equal(routeLine({ error: 'no route' }), null);
  assert.equal(routeLine(null), null);
});

test('kindOf classifies layout features', () => {
  assert.equal(kindOf({ properties: { kind: 'camp', id: 'mina-094' } }), 'camp');
  assert.equal(kindOf({ properties: { id: 'mina-094/3' } }), 'tent');
  assert.equal(kindOf({ properties: { id: 'arafat-012' } }), 'camp');
  assert.equal(kindOf({ properties: { kind: 'gate', camp: 'mina-094' }, geometry: { type: 'Point' } }), 'gate');
  assert.equal(kindOf({ properties: { id: 'jamarat', name: 'Jamarat bridge' }, geometry: { type: 'Polygon' } }), 'area');
});

test('profileOf reads the pilgrim view', () => {
  const ans = {
    pilgrim: { pid: 'P1', name_en: 'Md. Rahim', tent: 'mina-094/3', devices: ['ph-1'] },
    position: { device: 'ph-1', pilgrim: 'P1', lat: 21.4, lon: 39.9, ts: 'T', tent_p: 0.5 },
    assigned: { tent: 'mina-094/3', in_tent: true },
    guide: { pid: 'P0', name_en: 'Guide', phone: '+8801' },
    devices: [{ id: 'ph-1', kind: 'phone' }],
  };
  const v = profileOf(ans);
  assert.equal(v.p.name_en, 'Md. Rahim');
  assert.equal(v.live.lat, 21.4);
  assert.equal(v.guide.phone, '+8801');
  assert.equal(v.devices[0].kind, 'phone');
  assert.equal(profileOf({ pilgrim: { pid: 'P2' }, position: null }).live, null);
});

test('trailCoords reads a trail collection with lines and single points', () => {
  const fc = {
    type: 'FeatureCollection', features: [
      { type: 'Feature', geometry: { type: 'LineString', coordinates: [[39.1, 21.1], [39.2, 21.2]] } },
      { type: 'Feature', geometry: { type: 'Point', coordinates: [39.3, 21.3] } },
    ],
  };
  assert.deepEqual(trailCoords(fc), [[21.1, 39.1], [21.2, 39.2], [21.3, 39.3]]);
  assert.deepEqual(trailCoords({ type: 'FeatureCollection', features: [] }), []);
});

test('lists are read whether bare or wrapped', () => {
  assert.equal(casesOf({ cases: [{ id: 'C1' }] }).length, 1);
  assert.equal(casesOf([{ id: 'C1' }, { id: 'C2' }]).length, 2);
  assert.equal(caseOf({ case: { id: 'C1' } }).id, 'C1');
  assert.equal(caseOf({ id: 'C2' }).id, 'C2');
  assert.equal(hitsOf({ results: [{ pid: 'P1' }] })[0].pid, 'P1');
  assert.deepEqual(hitsOf(null), []);
});

test('the case workflow moves forward to closed', () => {
  const seen = [];
  for (let s = 'open'; s; s = nextState[s]) seen.push(s);
  assert.deepEqual(seen, ['open', 'located', 'escorted', 'reunited', 'closed']);
});

test('geometry helpers', () => {
  const a = { lat: 21.4133, lon: 39.8933 };
  const north = { lat: 21.4133 + 100 / 111195, lon: 39.8933 };
  assert.ok(Math.abs(distanceM(a, north) - 100) < 0.5);
  assert.ok(Math.abs(bearingDeg(a, north)) < 0.1);
  const east = { lat: 21.4133, lon: 39.8933 + 0.001 };
  assert.ok(Math.abs(bearingDeg(a, east) - 90) < 0.1);
  const c = ringCentroid([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]);
  assert.deepEqual(c, { lat: 1, lon: 1 });
});

test('wording helpers', () => {
  assert.equal(placeLabel('mina-094/3'), 'Mina camp 94, tent 3');
  // A position names the camp and the tent only with its probability.
  assert.equal(whereLabel(positionsOf(livePosition)[0]), 'near Mina camp 94, probably tent 3 (71 %)');
  assert.equal(whereLabel({ camp: 'mina-012', tent: 'mina-012/34', tent_p: 0.62 }), 'near Mina camp 12, probably tent 34 (62 %)');
  assert.equal(whereLabel({ camp: 'mina-012', tent: '' }), 'near Mina camp 12');
  assert.equal(whereLabel(flattenPosition({ position: { lat: 1, lon: 2 }, location: { camp: 'mina-002', tent: 'mina-002/1', tent_probability: 0.4 } })), 'near Mina camp 2, probably tent 1 (40 %)');
  assert.equal(whereLabel({ camp: '' }), '');
  assert.equal(placeLabel('arafat-012'), 'Arafat camp 12');
  assert.equal(placeLabel(''), '');
  assert.equal(ago(Date.now() - 90 * 1000), '1 min ago');
  assert.equal(ago(''), 'never');
  assert.equal(metres(999.6), '1000 m');
  assert.equal(metres(1500), '1.50 km');
  assert.equal(esc('<b a="1">&'), '&lt;b a=&quot;1&quot;&gt;&amp;');
});

test('compass words in both languages', () => {
  assert.equal(compassWord(meEN.compass, 0), 'north');
  assert.equal(compassWord(meEN.compass, 359), 'north');
  assert.equal(compassWord(meEN.compass, 92), 'east');
  assert.equal(compassWord(meEN.compass, -90), 'west');
  assert.equal(compassWord(meBN.compass, 180), 'দক্ষিণ');
});
