// Unit tests of the helpdesk screens' pure functions: found a pilgrim,
// sightings, case assignment and the map place picker.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { APIError, errorText } from '../static/app/common.js';
import { foundFacts, foundRequest, telHref, tentNumber } from '../static/app/found.js';
import { sightingSummary } from '../static/app/sighting.js';
import { assigneeText, meAsOperator } from '../static/app/assign.js';
import { pickText } from '../static/app/mappick.js';

// A found-person answer as api.FoundPerson writes it.
const found = {
  pilgrim: { pid: 'BD-000123', name_en: 'Rahima Begum', name_bn: 'রহিমা বেগম', group: 'g-017', agency: 'Al Noor', camp: 'mina-094', tent: 'mina-094/3' },
  camp: 'mina-094', camp_number: 94, zone: 5, tent: 'mina-094/3',
  guide: { pid: 'BD-000100', name: 'Abdul Karim', phone: '+880 1712-345678' },
  position: { device: 'ph-1', lat: 21.41, lon: 39.89, ts: new Date(Date.now() - 120000).toISOString(), camp: 'mina-095' },
  route: { tent: 'mina-094/3', camp: 'mina-094', length_m: 312.4, walk_s: 290, path: [{ lat: 21.41, lon: 39.89 }, { lat: 21.411, lon: 39.891 }] },
  cases: [{ id: 'C000012', state: 'open' }],
};

test('foundRequest sends exactly one of q, pid and wristband, and the desk place when recorded', () => {
  assert.deepEqual(foundRequest('q', '  01712-345678 '), { q: '01712-345678' });
  assert.deepEqual(foundRequest('wristband', 'wb-77'), { wristband: 'wb-77' });
  assert.deepEqual(foundRequest('pid', 'BD-1', { lat: 21.4, lon: 39.9 }), { pid: 'BD-1', lat: 21.4, lon: 39.9 });
  assert.deepEqual(foundRequest('q', 'x', null), { q: 'x' });
});

test('foundFacts reads camp, tent, guide and the walk', () => {
  const f = foundFacts(found);
  assert.equal(f.pid, 'BD-000123');
  assert.equal(f.tentText, 'Tent 3');
  assert.equal(f.tent, 'mina-094/3');
  assert.equal(f.campText, 'Mina camp 94, zone 5');
  assert.equal(f.guide.phone, '+880 1712-345678');
  assert.equal(f.route.coords.length, 2);
  assert.match(f.walk, /^312 m, about 5 min from where the pilgrim was last seen to Mina camp 94, tent 3$/);
  assert.match(f.seen, /^near Mina camp 95 · 2 min ago$/);
  // A recorded visit routes from the desk.
  assert.match(foundFacts({ ...found, sighting: { lat: 21.4, lon: 39.9 } }).walk, /from the desk/);
  // No route: say why.
  assert.match(foundFacts({ ...found, route: undefined, route_error: 'no path' }).walk, /no walking route: no path/);
  assert.match(foundFacts({ pilgrim: { pid: 'P' } }).tentText, /no tent assigned/);
});

test('tent numbers and tel: links', () => {
  assert.equal(tentNumber('mina-094/003'), '3');
  assert.equal(tentNumber('arafat-012/41'), '41');
  assert.equal(tentNumber(''), '');
  assert.equal(telHref('+880 1712-345678'), 'tel:+8801712345678');
  assert.equal(telHref('(017) 1234 5678'), 'tel:01712345678');
});

test('errors name the field', () => {
  assert.equal(errorText(new APIError(404, 'nobody matches zz', 'q')), 'q: nobody matches zz');
  assert.equal(errorText(new APIError(503, 'store down')), 'store down');
  assert.equal(errorText(null), '');
});

test('sighting summary says where the server placed it', () => {
  const ans = { sighting: { id: 'S1', pilgrim: 'BD-1', lat: 21.41331, lon: 39.89327 }, position: { camp: 'mina-094', tent: 'mina-094/3' } };
  assert.equal(sightingSummary(ans), 'Sighting of BD-1 recorded in Mina camp 94, tent 3 (21.41331, 39.89327).');
  assert.equal(sightingSummary({ sighting: { pilgrim: 'BD-1', lat: 1, lon: 2 }, position: { site: 'mina' } }),
    'Sighting of BD-1 recorded in Mina, in a street (1.00000, 2.00000).');
});

test('assignment names the operator', () => {
  assert.equal(meAsOperator({ role: 'operator', subject: 'desk-3', token_id: 'tok_1' }), 'desk-3');
  assert.equal(meAsOperator({ role: 'admin', subject: '', token_id: 'tok_2' }), 'admin@tok_2');
  assert.equal(assigneeText('desk-3'), 'assigned to desk-3');
  assert.equal(assigneeText(''), 'unassigned');
});

test('the picked place is named', () => {
  assert.equal(pickText({ lat: 21.4, lon: 39.9, pinned: true }), 'map pin 21.40000, 39.90000');
  assert.equal(pickText({ lat: 21.4, lon: 39.9, pinned: false }), 'map centre 21.40000, 39.90000');
});
