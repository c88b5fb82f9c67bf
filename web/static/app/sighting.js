// SightingForm records that a pilgrim was seen at a place (POST
// /v1/sightings): how they were identified (a QR scan, an NFC read, or staff
// who checked the ID card), a note, and the place from the map (the pin, else
// the map centre). The server feeds the sighting through the engine like a
// ping, so the pilgrim's dot moves and an open case is located; the case view
// hears of it on the live feed.

import { errorText } from './common.js';
import { placeLabel } from './format.js';
import { i18n, t } from './lang.js';

// sightingSummary says what the server made of a sighting answer.
export function sightingSummary(ans) {
  const sg = (ans && ans.sighting) || {};
  const pos = (ans && ans.position) || {};
  const place = placeLabel(pos.tent || pos.camp) || (pos.site ? t('inStreet', { site: i18n.has(pos.site) ? t(pos.site) : pos.site }) : '');
  const at = sg.lat !== undefined ? ` (${(+sg.lat).toFixed(5)}, ${(+sg.lon).toFixed(5)})` : '';
  const who = sg.pilgrim || t('thePilgrim');
  return place ? t('sightingIn', { who, place, at }) : t('sighting', { who, at });
}

export class SightingForm {
  // form is filled from the page's #sighting-form template: select[name=source],
  // input[name=note], .pick (the place), .status and .error. pidOf() names
  // the pilgrim; onRecorded(ans) follows a recorded sighting.
  constructor(app, form, pidOf, onRecorded) {
    this.app = app;
    this.form = form;
    form.replaceChildren(document.getElementById('sighting-form').content.cloneNode(true));
    this.pidOf = pidOf;
    this.onRecorded = onRecorded || (() => {});
    app.pick.watch(form.querySelector('.pick'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.record();
    });
  }

  // reset clears the last answer (another pilgrim or case is shown).
  reset() {
    this.form.querySelector('.status').textContent = '';
    this.form.querySelector('.error').textContent = '';
    delete this.form.dataset.sighting;
  }

  async record() {
    const pid = this.pidOf();
    this.reset();
    if (!pid) return;
    const at = this.app.pick.position();
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    let ans;
    try {
      ans = await this.app.api.post('/v1/sightings', {
        pilgrim: pid,
        lat: at.lat,
        lon: at.lon,
        source: this.form.elements.source.value,
        note: this.form.elements.note.value.trim(),
      });
    } catch (e) {
      this.form.querySelector('.error').textContent = t('sightingFailed', { err: errorText(e) });
      return;
    } finally {
      button.disabled = false;
    }
    this.form.elements.note.value = '';
    this.form.querySelector('.status').textContent = sightingSummary(ans);
    this.form.dataset.sighting = (ans.sighting && ans.sighting.id) || '1';
    this.onRecorded(ans);
  }
}
