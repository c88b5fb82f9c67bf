// LiveLayer shows live positions on the map: for staff, everyone in the
// visible area (topic bbox:…, resubscribed on every move), clustered when
// zoomed out; for a guide, their group (the group panel feeds it). Updates are
// applied at most a few times a second so that a busy feed never freezes the
// page.

/* global L */

import { ago } from './format.js';
import { i18n, t } from './lang.js';

const FLUSH_MS = 250;

export class LiveLayer {
  constructor(app) {
    this.app = app;
    this.map = app.map.map;
    this.markers = new Map(); // key (pilgrim or device) -> {marker, pos}
    this.pending = new Map();
    // Staff watch thousands of dots and need clusters; a guide's forty-odd
    // members are clearer one by one.
    this.cluster = app.staff() ? L.markerClusterGroup({
      chunkedLoading: true,
      disableClusteringAtZoom: 19,
      maxClusterRadius: 40,
      spiderfyOnMaxZoom: false,
      showCoverageOnHover: false,
      // The count in the console's digits, on a smaller, paler disc than the
      // plugin's own, so that camp numbers and landmarks read through.
      iconCreateFunction: (c) => {
        const n = c.getChildCount();
        const size = n < 10 ? 'small' : n < 100 ? 'medium' : 'large';
        return L.divIcon({ html: `<div><span>${i18n.num(n)}</span></div>`, className: `marker-cluster marker-cluster-${size}`, iconSize: L.point(34, 34) });
      },
    }) : L.featureGroup();
    this.map.addLayer(this.cluster);
    this.topic = '';
    app.onLive((msg, positions) => {
      for (const p of positions) this.pending.set(p.pilgrim || p.device, p);
    });
    setInterval(() => this.flush(), FLUSH_MS);
  }

  start() {
    if (!this.app.staff()) return;
    const resubscribe = () => {
      const t = this.app.map.bboxTopic();
      if (t === this.topic) return;
      if (this.topic) this.app.feed.unsubscribe(this.topic);
      this.topic = t;
      this.app.feed.subscribe(t);
      this.prune();
    };
    this.map.on('moveend', resubscribe);
    resubscribe();
  }

  // prune drops markers well outside the view: the bbox feed no longer
  // updates them, so they would go stale silently.
  prune() {
    const keep = this.map.getBounds().pad(0.5);
    const gone = [];
    for (const [k, m] of this.markers) {
      if (!keep.contains(m.marker.getLatLng()) && k !== this.app.pilgrim.pid) gone.push(k);
    }
    for (const k of gone) {
      this.cluster.removeLayer(this.markers.get(k).marker);
      this.markers.delete(k);
    }
    this.count();
  }

  flush() {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const added = [];
    for (const p of batch) {
      if (p.lat === undefined || p.lon === undefined) continue;
      const key = p.pilgrim || p.device;
      const m = this.markers.get(key);
      if (m) {
        m.pos = p;
        m.marker.setLatLng([p.lat, p.lon]);
        m.marker.setStyle(this.styleOf(p));
        continue;
      }
      const marker = L.circleMarker([p.lat, p.lon], this.styleOf(p));
      marker.on('click', () => {
        const cur = this.markers.get(key);
        if (cur && cur.pos.pilgrim) this.app.pilgrim.show(cur.pos.pilgrim);
      });
      marker.bindTooltip(() => {
        const cur = this.markers.get(key).pos;
        return `${cur.pilgrim || cur.luggage || cur.device} · ${ago(cur.ts)}`;
      });
      this.markers.set(key, { marker, pos: p });
      added.push(marker);
    }
    if (added.length && this.cluster.addLayers) this.cluster.addLayers(added);
    else for (const m of added) this.cluster.addLayer(m);
    this.count();
  }

  styleOf(p) {
    const luggage = !p.pilgrim;
    const separated = this.app.group && this.app.group.isSeparated(p.pilgrim);
    const far = !separated && this.app.group && this.app.group.isFar(p.pilgrim);
    return {
      radius: luggage ? 3.5 : 4.5,
      weight: 1,
      color: '#ffffff',
      fillColor: separated ? '#d50000' : far ? '#ff8f00' : (luggage ? '#795548' : '#0277bd'),
      fillOpacity: 0.9,
    };
  }

  // restyle repaints one pilgrim's marker (after the group panel's separated
  // set changed).
  restyle(pid) {
    const m = this.markers.get(pid);
    if (m) m.marker.setStyle(this.styleOf(m.pos));
  }

  count() {
    const n = this.markers.size;
    document.getElementById('map-count').textContent = n ? t('liveInView', { count: n }) : '';
  }

  // position returns the newest position of a pilgrim the layer knows.
  position(key) {
    const m = this.markers.get(key);
    return m ? m.pos : null;
  }
}
