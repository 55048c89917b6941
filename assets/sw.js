// directus-chat's service worker: keeps the app shell (the page, its code, fonts and icons)
// so the chat starts without a network; what is typed then waits in the outbox (kept in
// localStorage by the app) until the server is back. Nothing else is touched: Directus is
// another origin (or, under `trunk serve`, /auth and /websocket on this one, which are not
// shell files), and the chat's data is never cached here.

const CACHE = 'directus-chat-shell';
// Files of the shell. Trunk names the code by its hash, so a cached copy is never stale.
const SHELL_FILE = /\.(?:js|wasm|ttf|svg|png|webmanifest)$/;

self.addEventListener('install', (event) => {
  event.waitUntil(keepShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  // The page's request starts while this worker boots, instead of after it.
  const preload = self.registration.navigationPreload?.enable() ?? Promise.resolve();
  event.waitUntil(Promise.all([preload, self.clients.claim()]));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(pageFirstFromNetwork(event));
  } else if (SHELL_FILE.test(url.pathname) && !url.pathname.endsWith('/sw.js')) {
    event.respondWith(fromCacheFirst(request));
  }
});

/// The page from the network when it answers (a new release shows at once; the shell is
/// refreshed behind it), else the page kept last time.
async function pageFirstFromNetwork(event) {
  try {
    const response = (await event.preloadResponse) ?? (await fetch(event.request));
    if (response.ok) event.waitUntil(keepShell(response.clone()));
    return response;
  } catch (offline) {
    const kept = await caches.open(CACHE).then((cache) => cache.match(self.registration.scope));
    if (kept) return kept;
    throw offline;
  }
}

async function fromCacheFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

/// The page (as just served, or fetched) and every shell file it names, kept; files of older
/// releases dropped (the cache holds one release, not all of them).
async function keepShell(served) {
  const scope = self.registration.scope;
  const page = served ?? await fetch(scope, { cache: 'no-cache' });
  if (!page.ok) return;
  const html = await page.clone().text();
  const named = new Set([scope]);
  // Every quoted path of a shell file: links, the loader's imports, the fonts' fetches.
  for (const [, url] of html.matchAll(/["']([^"'\s<>]+)["']/g)) {
    let full;
    try { full = new URL(url, scope); } catch { continue; }
    if (full.origin === self.location.origin && SHELL_FILE.test(full.pathname) && !full.pathname.endsWith('/sw.js')) {
      named.add(full.href);
    }
  }
  const cache = await caches.open(CACHE);
  const fetched = await Promise.all([...named].filter((url) => url !== scope).map(async (url) => {
    const cached = await cache.match(url);
    return [url, cached ?? await fetch(url)];
  }));
  await cache.put(scope, page);
  for (const [url, response] of fetched) if (response.ok) await cache.put(url, response.clone());
  for (const request of await cache.keys()) {
    if (!named.has(request.url)) await cache.delete(request);
  }
}
