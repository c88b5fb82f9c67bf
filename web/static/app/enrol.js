// EnrolBox enrols a phone or tracker for the pilgrim on show (POST
// /v1/enrolments, operators and admins) and shows what sets the app up in
// one scan: the Traccar Client and OwnTracks QR codes (PNG images the server
// draws), their links, and the device's secret. The secret is shown once:
// the server keeps only its hash.

import { el, errorText } from './common.js';

export class EnrolBox {
  // pid() is the PID of the pilgrim on show.
  constructor(app, after, pid) {
    this.app = app;
    this.pid = pid;
    this.out = el('div', { id: 'p-enrol-out' });
    this.error = el('p', { id: 'p-enrol-error', class: 'error', role: 'alert' });
    this.kind = el('select', { id: 'p-enrol-kind', name: 'kind' },
      el('option', { value: 'phone' }, 'Phone (Traccar Client or OwnTracks)'),
      el('option', { value: 'wristband' }, 'Wristband'));
    const button = el('button', { type: 'submit' }, 'Enrol');
    const form = el('form', { id: 'p-enrol', class: 'stack' }, this.kind, button);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.enrol();
    });
    this.box = el('details', { id: 'p-enrol-box' }, el('summary', {}, 'Enrol a device'), form, this.error, this.out);
    after.after(this.box);
    // Another pilgrim on show: take the last secret off the screen.
    const pidEl = document.getElementById('p-pid');
    new MutationObserver(() => {
      if (this.shownFor && pidEl.textContent !== this.shownFor) this.reset();
    }).observe(pidEl, { childList: true, characterData: true, subtree: true });
  }

  // reset clears the last enrolment (its secret) when another pilgrim shows.
  reset() {
    this.shownFor = '';
    this.out.replaceChildren();
    this.error.textContent = '';
  }

  async enrol() {
    const pilgrim = this.pid();
    if (!pilgrim) return;
    this.reset();
    let e;
    try {
      e = await this.app.api.post('/v1/enrolments', { pilgrim, kind: this.kind.value });
    } catch (err) {
      this.error.textContent = `Could not enrol a device for ${pilgrim}: ${errorText(err)}`;
      return;
    }
    const setup = (title, qr, link, lines) => el('figure', { class: 'enrol-qr' },
      el('img', { src: qr, alt: `${title} QR code`, width: '200', height: '200' }),
      el('figcaption', {}, el('strong', {}, title), ...lines.map((l) => el('div', {}, l)),
        el('a', { href: link }, 'open on this phone')));
    this.out.replaceChildren(
      el('p', {}, `Device ${e.device.id} enrolled for ${pilgrim}. Scan one code with the phone's app; the secret is shown only now.`),
      setup('Traccar Client', e.traccar.qr_png, e.traccar.link,
        [`Server URL: ${e.traccar.server_url}`, `Device identifier: ${e.traccar.device_id}`]),
      setup('OwnTracks (HTTP)', e.owntracks.qr_png, e.owntracks.link,
        [`URL: ${e.owntracks.config.url}`, `User: ${e.owntracks.config.username}`, `Password: ${e.secret}`]),
      el('p', { class: 'muted' }, `To cut this device off, revoke token ${e.token_id}.`));
    this.shownFor = pilgrim;
    this.app.toast(`Device ${e.device.id} enrolled for ${pilgrim}.`);
  }
}
