// Shared by the console and the tent finder: the API client, the live feed,
// and small formatting and geometry helpers. No framework: the pages are small
// and must run on old phones with no internet.

// APIError carries the API's {"error","field"} answer.
export class APIError extends Error {
  constructor(status, message, field) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.field = field || '';
  }
}

// API calls /v1 with the bearer token that token() returns.
export class API {
  constructor(token) {
    this.token = token;
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    const t = this.token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new APIError(0, 'the server cannot be reached');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = { error: text.trim() };
      }
    }
    if (!res.ok) {
      const msg = (data && (data.error || data.message)) || `${res.status} ${res.statusText}`;
      throw new APIError(res.status, msg, data && data.field);
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body === undefined ? {} : body); }
  patch(path, body) { return this.request('PATCH', path, body); }
}

// LiveFeed keeps one websocket to /v1/live open, resubscribes after a
// reconnect, and hands every message to onMessage. onStatus gets
// "connecting" | "live" | "offline" | "refused: …".
export class LiveFeed {
  constructor(token, onMessage, onStatus) {
    this.token = token;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.topics = new Set();
    this.ws = null;
    this.closed = false;
    this.backoff = 500;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/v1/live?token=${encodeURIComponent(this.token())}`;
    this.onStatus('connecting');
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      this.onStatus('live');
      for (const t of this.topics) this.send({ op: 'subscribe', topic: t });
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      for (const m of Array.isArray(msg) ? msg : [msg]) this.onMessage(m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // 1008 is a policy close: a revoked token ends the feed for good,
      // while "too slow" (a backlog) only calls for a fresh start.
      if (ev.code === 1008 && /revoked|token|forbidden/i.test(ev.reason || '')) {
        this.onStatus(`refused: ${ev.reason}`);
        return;
      }
      this.onStatus('offline');
      this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 15000);
  }

  send(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  subscribe(topic) {
    if (this.topics.has(topic)) return;
    this.topics.add(topic);
    this.send({ op: 'subscribe', topic });
  }

  unsubscribe(topic) {
    if (!this.topics.delete(topic)) return;
    this.send({ op: 'unsubscribe', topic });
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000, 'bye');
  }
}

// positionsOf pulls position records out of a live message: a single
// {"type":"position",…}, or a snapshot carrying an array under one of a few
// names. Each result has pilgrim, device, lat, lon, acc, ts, camp, tent.
export function positionsOf(msg) {
  if (!msg || typeof msg !== 'object') return [];
  if (msg.type === 'position') return [flattenPosition(msg)];
  if (msg.type === 'snapshot' || Array.isArray(msg.positions) || Array.isArray(msg.states)) {
    const arr = msg.positions || msg.states || msg.items || msg.data || [];
    return arr.map(flattenPosition).filter((p) => p.lat !== undefined);
  }
  return [];
}

// flattenPosition accepts the live message shape and tracking.LiveState's
// nested shape ({position:{lat,lon,…}, location:{camp,tent}}).
export function flattenPosition(p) {
  const pos = p.position || p;
  const loc = p.location || p;
  return {
    pilgrim: p.pilgrim || '',
    luggage: p.luggage || '',
    device: p.device || pos.device || '',
    lat: num(pos.lat),
    lon: num(pos.lon),
    acc: num(pos.acc),
    ts: pos.ts || p.ts || '',
    site: loc.site || '',
    camp: loc.camp || '',
    tent: loc.tent || '',
    campNumber: loc.camp_number || 0,
    candidates: loc.candidates || p.candidates || null,
    tentP: num(p.tent_p ?? loc.tent_p ?? loc.tent_probability),
    campP: num(p.camp_p ?? loc.camp_p ?? loc.camp_probability),
    batt: num(pos.batt ?? p.batt),
    stale: !!p.stale,
  };
}

function num(v) {
  return typeof v === 'number' ? v : (v === undefined || v === null || v === '' ? undefined : Number(v));
}

// errorText says what went wrong in an API call, naming the field at fault
// when the API does ("q: nobody matches xyz").
export function errorText(e) {
  if (!e) return '';
  return `${e.field ? `${e.field}: ` : ''}${e.message || String(e)}`;
}

// esc makes text safe to put into HTML.
export function esc(s) {
  return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// el builds an element: el('li', {class: 'x', onclick: f}, 'text', child…).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const R = 6371008.8;
const rad = (d) => (d * Math.PI) / 180;

// distanceM is the great-circle distance between two {lat, lon} points.
export function distanceM(a, b) {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

// bearingDeg is the initial bearing from a to b, degrees clockwise from north.
export function bearingDeg(a, b) {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) -
    Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

// ringCentroid is the mean of a GeoJSON ring's distinct points ([lon, lat] pairs).
export function ringCentroid(ring) {
  const pts = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] &&
    ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
  let lat = 0;
  let lon = 0;
  for (const [x, y] of pts) {
    lon += x;
    lat += y;
  }
  return { lat: lat / pts.length, lon: lon / pts.length };
}

// routeLine pulls [[lat, lon], …] and figures out of a route answer: a GeoJSON
// Feature (geo.Route.GeoJSON), a FeatureCollection holding one, or an object
// with the route under "route"/"geometry" and a "path" of {lat, lon}.
export function routeLine(ans) {
  if (!ans) return null;
  let f = ans;
  if (f.route && typeof f.route === 'object') f = f.route;
  if (f.type === 'FeatureCollection') f = (f.features || []).find((x) => x.geometry && x.geometry.type === 'LineString');
  if (!f) return null;
  const props = Object.assign({}, ans.properties || {}, f.properties || {}, f);
  let coords = null;
  const g = f.geometry || (f.type === 'LineString' ? f : null);
  if (g && g.type === 'LineString') coords = g.coordinates.map(([lon, lat]) => [lat, lon]);
  else if (Array.isArray(f.path)) coords = f.path.map((p) => [p.lat, p.lon]);
  if (!coords) return null;
  return {
    coords,
    lengthM: num(props.length_m ?? props.LengthM ?? props.lengthM),
    walkS: num(props.walk_s ?? props.WalkSeconds ?? props.walk_seconds),
    bearing: num(props.bearing_deg ?? props.BearingDeg),
    tent: props.tent || props.Tent || '',
    camp: props.camp || props.Camp || '',
  };
}
