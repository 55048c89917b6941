// directus-chat's service worker: keeps the app shell (the page, its code, fonts and icons)
// so the chat starts without a network; what is typed then waits in the outbox (kept in
// localStorage by the app) until the server is back. It serves only the chat's page (at the
// scope, marked with <meta name="directus-chat-shell">) and the files that page names:
// anything else on this origin (Directus behind the same host, /auth and /websocket under a
// proxy, other pages) goes to the network untouched, and the chat's data is never cached.
// Registered by release builds only (src/main.rs): never under `trunk serve`.

const CACHE = `directus-chat-shell ${self.registration.scope}`;
const PAGE = self.registration.scope;
const MARKER = '<meta name="directus-chat-shell"';
// Files of the shell: code, fonts, icons, manifest.
const SHELL_FILE = /\.(?:js|wasm|ttf|svg|png|webmanifest)$/;
// Trunk names the code by its hash: such a file never changes, the others are revalidated.
const HASHED = /-[0-9a-f]{16}(?:_bg)?\.[a-z]+$/;

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
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    if (url.href === PAGE || url.href === `${PAGE}index.html`) event.respondWith(page(event));
  } else if (!url.search && SHELL_FILE.test(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});

/// The page from the network when it answers (a new release shows at once; the shell is
/// refreshed behind it), else the page kept last time.
async function page(event) {
  try {
    const response = (await event.preloadResponse) ?? (await fetch(event.request));
    if (response.ok) event.waitUntil(keepShell(response.clone()));
    return response;
  } catch (offline) {
    const kept = await caches.open(CACHE).then((cache) => cache.match(PAGE));
    if (kept) return kept;
    throw offline;
  }
}

/// A file the kept page names, from the cache; anything else from the network, not kept.
async function shellFile(request) {
  const kept = await caches.open(CACHE).then((cache) => cache.match(request));
  return kept ?? fetch(request);
}

// One refresh at a time: two tabs must not prune each other's release.
let keeping = Promise.resolve();
function keepShell(served) {
  keeping = keeping.then(() => refreshShell(served)).catch((e) => console.warn('service worker:', e));
  return keeping;
}

/// The chat's page (as just served, or fetched) and every shell file it names, kept whole or
/// not at all: the files first, the page last, then the files of older releases dropped.
async function refreshShell(served) {
  const response = served ?? await fetch(PAGE, { cache: 'no-cache' });
  // A redirected response cannot answer a navigation later: keep only the page itself.
  const html = response.ok && !response.redirected ? await response.clone().text() : '';
  if (!html.includes(MARKER)) return; // not the chat's page (an error page, a portal, ...)
  const named = new Set();
  // Every quoted path of a shell file: links, the loader's imports, the fonts' fetches.
  for (const [, path] of html.matchAll(/["']([^"'\s<>]+)["']/g)) {
    let url;
    try { url = new URL(path, PAGE); } catch { continue; }
    if (url.origin === self.location.origin && !url.search && SHELL_FILE.test(url.pathname)
      && !url.pathname.endsWith('/sw.js')) named.add(url.href);
  }
  const cache = await caches.open(CACHE);
  const files = await Promise.all([...named].map(async (url) => {
    const kept = HASHED.test(url) ? await cache.match(url) : undefined;
    return [url, kept ?? await fetch(url, { cache: 'no-cache' })];
  }));
  if (files.some(([, file]) => !file.ok)) return; // keep the release we have
  for (const [url, file] of files) await cache.put(url, file);
  await cache.put(PAGE, response);
  for (const request of await cache.keys()) {
    if (request.url !== PAGE && !named.has(request.url)) await cache.delete(request);
  }
}
