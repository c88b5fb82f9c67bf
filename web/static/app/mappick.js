// MapPick is the place an operator gives for a sighting or a desk visit: a
// click on the map drops a pin there, and without a pin it is the centre of
// the map. Clicks drop a pin only while a form that uses the place is on
// screen, so that browsing the map leaves none behind. Every watched label
// says which place a submit will send.

/* global L */

import { el } from './common.js';

// pickText says which place will be sent: "map pin 21.41330, 39.89330" or
// "map centre …".
export function pickText(pos) {
  if (!pos) return 'no place';
  return `${pos.pinned ? 'map pin' : 'map centre'} ${pos.lat.toFixed(5)}, ${pos.lon.toFixed(5)}`;
}

export class MapPick {
  constructor(app) {
    this.map = app.map.map;
    this.pin = null;
    this.labels = new Set();
    this.map.on('click', (ev) => {
      if (this.wanted()) this.set(ev.latlng.lat, ev.latlng.lng);
    });
    this.map.on('moveend', () => this.render());
  }

  // watch keeps label up to date with the place a submit will send.
  watch(label) {
    this.labels.add(label);
    this.render();
  }

  // wanted reports whether a watched label is on screen (its form is open).
  wanted() {
    for (const e of this.labels) if (e.isConnected && e.offsetParent !== null) return true;
    return false;
  }

  // position is the pin, else the map centre.
  position() {
    if (this.pin) {
      const ll = this.pin.getLatLng();
      return { lat: ll.lat, lon: ll.lng, pinned: true };
    }
    const c = this.map.getCenter();
    return { lat: c.lat, lon: c.lng, pinned: false };
  }

  set(lat, lon) {
    if (!this.pin) {
      this.pin = L.marker([lat, lon], {
        icon: L.divIcon({ className: 'pick-pin', iconSize: [20, 20] }),
        interactive: false,
        keyboard: false,
        zIndexOffset: 2000,
      }).addTo(this.map);
    } else {
      this.pin.setLatLng([lat, lon]);
    }
    this.render();
  }

  clear() {
    if (this.pin) this.pin.remove();
    this.pin = null;
    this.render();
  }

  render() {
    const pos = this.position();
    for (const e of this.labels) {
      e.dataset.lat = String(pos.lat);
      e.dataset.lon = String(pos.lon);
      e.dataset.pinned = pos.pinned ? '1' : '';
      e.replaceChildren(pickText(pos), ' ', pos.pinned ?
        el('button', { type: 'button', class: 'small', onclick: () => this.clear() }, 'use map centre') :
        el('span', { class: 'muted' }, '(click the map to choose a place)'));
    }
  }
}
