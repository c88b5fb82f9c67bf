// LayoutMap draws Dalil's layout (GET /v1/layout) with Leaflet on a plain
// background: no tiles, no internet. Camps are filled by category A–D, tents
// appear when zoomed in, camp numbers are labels. The layout can hold many
// thousands of tents, so tents and labels are drawn only for what is in view,
// on a canvas renderer.

/* global L */

import { esc as escapeHTML, ringCentroid } from './common.js';
import { i18n, t } from './lang.js';

export const categoryColours = { A: '#2e7d32', B: '#1565c0', C: '#ef6c00', D: '#6a1b9a' };
const TENT_ZOOM = 17;
const LABEL_ZOOM = 15; // from here every camp in view is labelled
const LABEL_MIN_PX = 22; // below LABEL_ZOOM, a camp this wide on screen still gets its number
const MAX_TENTS = 6000;
const MAX_LABELS = 500;

// kindOf classifies a layout feature. It trusts an explicit property first and
// falls back on the ID's shape ("mina-094" is a camp, "mina-094/3" a tent).
export function kindOf(f) {
  const p = f.properties || {};
  const k = String(p.kind || p.type || p.feature || p.layer || '').toLowerCase();
  if (k === 'camp' || k === 'tent' || k === 'area' || k === 'gate' || k === 'street') return k;
  const id = String(p.id || f.id || '');
  if (/^[a-z]+-\d+\/\d+$/.test(id) || p.camp) return 'tent';
  if (/^[a-z]+-\d+$/.test(id) || p.category) return 'camp';
  if (f.geometry && f.geometry.type === 'Point') return 'gate';
  if (f.geometry && f.geometry.type === 'LineString') return 'street';
  return 'area';
}

function outerRing(g) {
  if (!g) return null;
  if (g.type === 'Polygon') return g.coordinates[0];
  if (g.type === 'MultiPolygon') return g.coordinates[0][0];
  return null;
}

const toLatLngs = (ring) => ring.map(([lon, lat]) => [lat, lon]);

export class LayoutMap {
  constructor(elementId) {
    this.map = L.map(elementId, {
      preferCanvas: true,
      zoomSnap: 0.5,
      attributionControl: false,
      minZoom: 12,
      maxZoom: 20,
    });
    this.renderer = L.canvas({ padding: 0.3 });
    // Routes, trails and the chosen tent go in a pane above the live dots,
    // so that a crowd never hides the way home.
    this.map.createPane('focus');
    this.map.getPane('focus').style.zIndex = 610; // above the live dots and clusters, below tooltips
    // Camp numbers and landmark names sit above the live dots and clusters
    // (markerPane, 600): a crowd must never hide where it is. They take no
    // clicks, so the dots under them stay clickable.
    for (const [name, z] of [['campLabels', 620], ['landmarks', 630]]) {
      this.map.createPane(name);
      this.map.getPane(name).style.zIndex = z;
      this.map.getPane(name).style.pointerEvents = 'none';
    }
    this.focus = { pane: 'focus', renderer: L.svg({ pane: 'focus' }) };
    this.map.setView([21.41, 39.9], 13);
    this.camps = new Map(); // id -> {id, number, category, site, ring, centre, bounds}
    this.tentsByCamp = new Map(); // camp id -> [{id, number, ring}]
    this.tents = new Map(); // tent id -> tent
    this.areas = new Map(); // id -> {id, name, ring, bounds}
    this.gatesByCamp = new Map(); // camp id -> [[lat, lon]]
    this.tentLayer = L.layerGroup().addTo(this.map);
    this.labelLayer = L.layerGroup().addTo(this.map);
    this.map.on('moveend', () => this.refreshDetail());
  }

  // load draws a layout GeoJSON FeatureCollection and fits the view to Mina.
  load(fc) {
    const features = (fc && fc.features) || [];
    const areaStyle = { renderer: this.renderer, color: '#8d6e63', weight: 1, fillColor: '#efe3c8', fillOpacity: 0.6, interactive: false };
    const campLayers = [];
    for (const f of features) {
      const p = f.properties || {};
      const id = String(p.id || f.id || '');
      const ring = outerRing(f.geometry);
      switch (kindOf(f)) {
        case 'area': {
          if (!ring) break;
          const poly = L.polygon(toLatLngs(ring), areaStyle);
          this.areas.set(id, { id, name: p.name || id, site: p.site || '', ring, bounds: poly.getBounds(), layer: poly });
          break;
        }
        case 'camp': {
          if (!ring) break;
          const category = String(p.category || '').toUpperCase();
          const camp = {
            id, number: p.number || 0, category, site: p.site || '', zone: p.zone || 0,
            capacity: p.capacity || 0, ring, centre: ringCentroid(ring),
          };
          const poly = L.polygon(toLatLngs(ring), {
            renderer: this.renderer, color: '#5d4037', weight: 1,
            fillColor: categoryColours[category] || '#9e9e9e', fillOpacity: 0.35,
          });
          poly.bindTooltip(() => campTip(camp), { sticky: true });
          camp.bounds = poly.getBounds();
          camp.layer = poly;
          this.camps.set(id, camp);
          campLayers.push(poly);
          break;
        }
        case 'tent': {
          if (!ring) break;
          const campID = String(p.camp || id.split('/')[0]);
          const tent = { id, camp: campID, number: p.number || Number(id.split('/')[1]) || 0, ring };
          this.tents.set(id, tent);
          if (!this.tentsByCamp.has(campID)) this.tentsByCamp.set(campID, []);
          this.tentsByCamp.get(campID).push(tent);
          break;
        }
        case 'gate': {
          const g = f.geometry;
          if (!g || g.type !== 'Point') break;
          const campID = String(p.camp || '');
          if (!this.gatesByCamp.has(campID)) this.gatesByCamp.set(campID, []);
          this.gatesByCamp.get(campID).push([g.coordinates[1], g.coordinates[0]]);
          break;
        }
        default:
          break;
      }
    }
    // Site outlines under everything, then camps; landmark names on top.
    for (const a of this.areas.values()) {
      a.layer.addTo(this.map);
      const c = ringCentroid(a.ring);
      L.marker([c.lat, c.lon], {
        interactive: false, keyboard: false, pane: 'landmarks',
        icon: L.divIcon({ className: `area-label area-${a.id}`, html: escapeHTML(a.name), iconSize: null }),
      }).addTo(this.map);
    }
    for (const c of campLayers) c.addTo(this.map);
    this.fitSite('mina');
    this.refreshDetail();
  }

  // siteBounds gives the bounds of a site: its outline area when the layout
  // has one, else the union of its camps.
  siteBounds(site) {
    const a = this.areas.get(site);
    if (a) return a.bounds;
    let b = null;
    for (const c of this.camps.values()) {
      if (c.site !== site && !c.id.startsWith(`${site}-`)) continue;
      b = b ? b.extend(c.bounds) : L.latLngBounds(c.bounds.getSouthWest(), c.bounds.getNorthEast());
    }
    return b;
  }

  fitSite(site) {
    const b = this.siteBounds(site);
    if (b) this.map.fitBounds(b, { padding: [10, 10], animate: false });
  }

  tentCentre(tentID) {
    const t = this.tents.get(tentID);
    return t ? ringCentroid(t.ring) : null;
  }

  // relabel redraws the words of the map after a change of language.
  relabel() {
    this.refreshDetail();
  }

  // refreshDetail draws tents and camp labels for the camps in view. Camp
  // numbers show at the zoom an operator works at (the whole of Mina): below
  // LABEL_ZOOM a camp is labelled when it is wide enough on screen for its
  // number, so labels never pile up into a smudge.
  refreshDetail() {
    const z = this.map.getZoom();
    const view = this.map.getBounds().pad(0.2);
    this.tentLayer.clearLayers();
    this.labelLayer.clearLayers();
    let n = 0;
    for (const c of this.camps.values()) {
      if (n >= MAX_LABELS) break;
      if (!view.contains([c.centre.lat, c.centre.lon])) continue;
      if (z < LABEL_ZOOM && this.widthPx(c) < LABEL_MIN_PX) continue;
      n++;
      L.marker([c.centre.lat, c.centre.lon], {
        interactive: false,
        keyboard: false,
        pane: 'campLabels',
        icon: L.divIcon({ className: `camp-label${z < LABEL_ZOOM ? ' small' : ''}`, html: escapeHTML(c.number ? i18n.num(c.number) : c.id), iconSize: null }),
      }).addTo(this.labelLayer);
    }
    if (z >= TENT_ZOOM) {
      let n = 0;
      for (const c of this.camps.values()) {
        if (!view.intersects(c.bounds)) continue;
        for (const g of this.gatesByCamp.get(c.id) || []) {
          L.circleMarker(g, { renderer: this.renderer, radius: 4, color: '#004d40', weight: 2, fillColor: '#ffeb3b', fillOpacity: 1 })
            .bindTooltip(t('gateOf', { n: c.number || c.id })).addTo(this.tentLayer);
        }
        for (const tent of this.tentsByCamp.get(c.id) || []) {
          if (n++ >= MAX_TENTS) return;
          const poly = L.polygon(toLatLngs(tent.ring), {
            renderer: this.renderer, color: '#4e342e', weight: 0.6, fillColor: '#fffaf0', fillOpacity: 0.7,
          });
          poly.bindTooltip(t('tentTip', { t: tent.number, n: c.number || c.id }), { sticky: true });
          poly.addTo(this.tentLayer);
          if (z >= 19) {
            const cc = ringCentroid(tent.ring);
            L.marker([cc.lat, cc.lon], {
              interactive: false, keyboard: false,
              icon: L.divIcon({ className: 'tent-label', html: escapeHTML(i18n.num(tent.number)), iconSize: null }),
            }).addTo(this.tentLayer);
          }
        }
      }
    }
  }

  // widthPx is how wide a camp is on screen now, in pixels.
  widthPx(c) {
    const a = this.map.latLngToContainerPoint(c.bounds.getSouthWest());
    const b = this.map.latLngToContainerPoint(c.bounds.getNorthEast());
    return Math.min(Math.abs(b.x - a.x), Math.abs(b.y - a.y) * 2);
  }

  // highlightTent outlines one tent (the selected pilgrim's) at any zoom.
  highlightTent(tentID) {
    if (this.tentMark) this.tentMark.remove();
    this.tentMark = null;
    const t = this.tents.get(tentID);
    if (!t) return null;
    this.tentMark = L.polygon(toLatLngs(t.ring), { ...this.focus, color: '#d50000', weight: 3, fill: false, interactive: false }).addTo(this.map);
    return ringCentroid(t.ring);
  }

  // bboxTopic names the live-feed topic for the visible area.
  bboxTopic() {
    const b = this.map.getBounds();
    const f = (x) => x.toFixed(5);
    return `bbox:${f(b.getWest())},${f(b.getSouth())},${f(b.getEast())},${f(b.getNorth())}`;
  }
}

// campTip is a camp's tooltip: number, category and zone in the console's language.
function campTip(c) {
  const parts = [t('campN', { n: c.number || c.id }), t('categoryX', { c: c.category || '?' })];
  if (c.zone) parts.push(t('zoneN', { n: c.zone }));
  return parts.join(' · ');
}
