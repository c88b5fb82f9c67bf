// The tent finder's service worker (served at /me-sw.js, scope /me): a
// pilgrim whose phone loses its connection in Mina still sees their tent, the
// way and the guide's number. The page and its files are kept per build
// (VERSION is the build's content hash, filled in by the server), served from
// the cache first so that a repeat visit costs almost nothing on a weak
// connection; the pilgrim's own answers (/v1/me, their pilgrim, tent and
// route) are fetched fresh and the last good one is kept for offline use.

const VERSION = '__DALIL_VERSION__';
const SHELL = `dalil-me-${VERSION}`;
const API = 'dalil-me-api'; // deleted by "Forget this phone"

// The page itself; the chosen language's words and fonts are added when the
// page says what it loaded (message below).
const PRECACHE = [
  '/me',
  '/static/app/me.css',
  '/static/app/me.js',
  '/static/app/common.js',
  '/static/app/i18n.js',
  '/static/app/me_i18n.js',
  '/static/app/i18n/me.en.js',
  '/static/vendor/fonts/fonts-bold.css',
];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('dalil-me-') && k !== SHELL && k !== API).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// The page posts the same-origin /static/ files it loaded before the worker
// was in control (its language's words, the Arabic or Bangla font): keep them.
self.addEventListener('message', (ev) => {
  const urls = ((ev.data && ev.data.keep) || []).filter((u) => {
    try {
      const url = new URL(u);
      return url.origin === self.location.origin && url.pathname.startsWith('/static/');
    } catch (e) {
      return false;
    }
  });
  ev.waitUntil(caches.open(SHELL).then(async (c) => {
    for (const u of urls) if (!(await c.match(u))) await c.add(u).catch(() => {});
  }));
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === '/me' || url.pathname === '/me/') {
    ev.respondWith(networkFirst(req, SHELL, '/me'));
  } else if (url.pathname.startsWith('/static/')) {
    ev.respondWith(cacheFirst(req));
  } else if (url.pathname === '/v1/me' || url.pathname.startsWith('/v1/pilgrims/') || url.pathname.startsWith('/v1/tents/')) {
    ev.respondWith(networkFirst(req, API));
  }
});

async function cacheFirst(req) {
  const c = await caches.open(SHELL);
  const hit = await c.match(req, { ignoreSearch: true });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) c.put(req, res.clone()).catch(() => {});
  return res;
}

// networkFirst answers from the network, keeping the answer, and from the
// cache when the network fails (or the server is down). The route's query
// (the phone's position) is ignored for the fallback: the last route is
// better than none.
async function networkFirst(req, cacheName, key) {
  const c = await caches.open(cacheName);
  try {
    const res = await fetch(req);
    if (res.ok) await c.put(key || req, res.clone());
    else if (res.status >= 500) throw new Error(`server answered ${res.status}`);
    return res;
  } catch (e) {
    const hit = await c.match(key || req, { ignoreSearch: true, ignoreVary: true });
    if (hit) return hit;
    throw e;
  }
}
