// The release web build in Debian's headless Chromium, driven by playwright-core, against a
// real Directus that accepts only this page's origin (CORS_ORIGIN), as in production.
// Run by `cargo xtask test` (which builds dist/, starts Directus and sets the environment).
//
// egui draws into a WebGL canvas and its web build has no AccessKit: the test types like a
// user (keyboard into the canvas) and reads the page through the ARIA live region the app
// keeps for screen readers (#chat-status, #chat-log) and the document title.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { typeLogin } from './login_form.mjs';

const env = process.env;
const require = createRequire(path.join(env.WEB_TOOLS, 'noop.js'));
const { chromium } = require('playwright-core');

const dist = path.resolve(env.DIST);
const pagePort = Number(env.PAGE_PORT);
const api = env.DIRECTUS_URL;
const pageUrl = `http://127.0.0.1:${pagePort}/`;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`ok: ${name}`);
  } else {
    failed += 1;
    console.log(`FAILED: ${name} ${detail}`);
  }
}

// --- a static server for dist/ (the page's origin) ---------------------------------------
const types = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.css': 'text/css',
  '.ttf': 'font/ttf', '.png': 'image/png', '.webmanifest': 'application/manifest+json', '.txt': 'text/plain',
};
const server = http.createServer((req, res) => {
  let file = decodeURIComponent(new URL(req.url, pageUrl).pathname);
  if (file === '/') file = '/index.html';
  const full = path.join(dist, path.normalize(file));
  if (!full.startsWith(dist) || !fs.existsSync(full) || fs.statSync(full).isDirectory()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': types[path.extname(full)] ?? 'application/octet-stream' });
  fs.createReadStream(full).pipe(res);
});
await new Promise((resolve) => server.listen(pagePort, '127.0.0.1', resolve));

// --- REST helpers (the second client, and checks of what Directus stored) ----------------
async function login(email, password) {
  const res = await fetch(`${api}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  return (await res.json()).data.access_token;
}
async function rest(token, method, url, body) {
  const res = await fetch(`${api}${url}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

// --- "not blank": a PNG whose filtered rows are not nearly all zero bytes ----------------
function nonBlankShare(png) {
  const chunks = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    if (type === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(chunks));
  let nonZero = 0;
  for (const b of raw) if (b !== 0) nonZero += 1;
  return nonZero / raw.length;
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const context = await browser.newContext({ viewport: { width: 900, height: 650 } });
// The user has let the page notify (asking is the page's to do only on a click: counted).
await context.grantPermissions(['notifications'], { origin: `http://127.0.0.1:${pagePort}` });
// What the page does before and while the wasm starts, recorded from inside it; and the
// notifications it shows.
await context.addInitScript(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  if (Real) {
    class Recorded extends Real {
      constructor(title, options) {
        window.__notes.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
        super(title, options);
      }
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    Recorded.requestPermission = (...args) => { window.__asked += 1; return Real.requestPermission(...args); };
    window.Notification = Recorded;
  }
  const start = (window.__start = { streamingCalls: 0, streamingResolved: 0 });
  const streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = (...args) => {
    start.streamingCalls += 1;
    return streaming.apply(WebAssembly, args).then((result) => { start.streamingResolved += 1; return result; });
  };
  addEventListener('DOMContentLoaded', () => {
    const loading = document.getElementById('loading');
    start.indicatorShown = Boolean(loading) && getComputedStyle(loading).display !== 'none' && loading.textContent.length > 0;
  });
  addEventListener('TrunkApplicationStarted', () => { start.appStartedAt = performance.now(); });
});
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
const pageWarnings = [];
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(m.text());
  if (m.type() === 'warning') pageWarnings.push(m.text());
});

const status = () => page.evaluate(() => document.getElementById('chat-status')?.textContent ?? '');
const chatLog = () => page.evaluate(() => document.getElementById('chat-log')?.textContent ?? '');
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
async function waitFor(what, predicate, timeout = 30000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await sleep(100);
  }
  const shown = await status().catch(() => '(first tab closed)');
  console.log(`timed out waiting for ${what}; status=${JSON.stringify(shown)}`);
  return false;
}

try {
  await page.goto(pageUrl);
  check('the app starts on the login panel', await waitFor('login panel', async () => (await status()) === 'Logged out', 60000));
  const started = await page.evaluate(() => ({
    ...window.__start,
    firstPaint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
  }));
  check('the page shows its own loading indicator, painted before the wasm runs',
    started.indicatorShown && started.firstPaint < started.appStartedAt, JSON.stringify(started));
  check('and the app removes it with its first frame', await page.evaluate(() => document.getElementById('loading') === null));
  check('the wasm is compiled while it streams in (served as application/wasm)',
    started.streamingCalls === 1 && started.streamingResolved === 1 && !pageWarnings.some((w) => w.includes('instantiateStreaming')),
    `${JSON.stringify(started)} ${pageWarnings.join('\n')}`);
  // A font answered by something else (an HTML error page, a portal): said, not a blank page.
  const broken = await browser.newContext({ viewport: { width: 900, height: 650 } });
  const brokenPage = await broken.newPage();
  await brokenPage.route('**/fonts/Ubuntu-Light.ttf', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<html>not found</html>' }));
  await brokenPage.goto(pageUrl);
  const loadingText = () => brokenPage.evaluate(() => document.getElementById('loading')?.textContent ?? '');
  check('a font that is not a font is said in the page, naming the file',
    await waitFor('the font refused', async () => (await loadingText()).includes('fonts/Ubuntu-Light.ttf is not a font'), 30000), await loadingText());
  await broken.close();
  const cdp = await context.newCDPSession(page);
  const installability = await cdp.send('Page.getInstallabilityErrors');
  // Playwright's contexts are off-the-record ("in-incognito"): a fact of the browser profile,
  // not of the page; every other reason would be the page's.
  const notInstallable = installability.installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
  check('the page is installable as an app (manifest, icons)', notInstallable.length === 0,
    JSON.stringify(installability));

  // The server field holds the page's own origin; here Directus is elsewhere: replace it.
  await typeLogin(page, { server: api, email: env.ALICE_EMAIL, password: env.ALICE_PASSWORD });
  check('Alice logs in from the browser (WebSocket upgrade accepted for this origin)',
    await waitFor('online', async () => (await status()) === 'Online'));
  check('the title names the user', (await page.title()).startsWith('directus-chat — '), await page.title());

  const mine = `hello from chromium ${Date.now()}`;
  await page.mouse.click(450, 623); // the composer, along the bottom
  await page.waitForTimeout(200);
  await page.keyboard.type(mine);
  await page.keyboard.press('Enter');
  check('the sent message reaches the live region once confirmed', await waitFor('own message', async () => (await chatLog()).includes(mine)));

  const admin = await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
  const stored = await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(mine)}&fields=content,user_created.first_name`);
  check('Directus stored it with Alice as author', stored.data?.length === 1 && stored.data[0].user_created?.first_name === 'Alice', JSON.stringify(stored));
  check('the title now says Alice', await waitFor('title', async () => (await page.title()) === 'directus-chat — Alice'), await page.title());

  // The tab goes to the background; Bob posts from another client.
  const other = await context.newPage();
  await other.goto('about:blank');
  await other.bringToFront();
  let hidden = await page.evaluate(() => document.hidden);
  console.log(`switching tabs ${hidden ? 'hid the page' : 'left the page visible (headless); hiding it by visibilitychange'}`);
  if (!hidden) {
    // Some headless builds keep every tab visible; make the page see itself hidden, as a real
    // background tab does.
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    hidden = await page.evaluate(() => document.hidden);
  }
  const bob = await login(env.BOB_EMAIL, env.BOB_PASSWORD);
  const theirs = `Bob answers ${Date.now()}`;
  await rest(bob, 'POST', '/items/messages', { content: theirs });
  check("Bob's message appears live, with his name", await waitFor("Bob's message", async () => {
    const log = await chatLog();
    return log.includes(theirs) && log.includes('Bob,');
  }));
  check('the hidden tab counts it as unread in the title', hidden && await waitFor('unread title', async () => (await page.title()).startsWith('(1) directus-chat')), await page.title());

  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.bringToFront();
  await page.mouse.move(200, 200);
  check('back on the tab the unread count clears', await waitFor('title', async () => (await page.title()) === 'directus-chat — Alice'), await page.title());

  // Rooms: a private channel of Alice's. Ctrl+K and its name show it; what she types goes
  // there; the live region names every message's room.
  const roomName = `web-${Date.now()}`;
  const aliceToken = await login(env.ALICE_EMAIL, env.ALICE_PASSWORD);
  const roomId = (await rest(aliceToken, 'POST', '/items/rooms', { name: roomName, kind: 'channel', private: true })).data?.id;
  const already = `said in ${roomName} before`;
  await rest(aliceToken, 'POST', '/items/messages', { content: already, room: roomId });
  check("Bob's message is named with its room", (await chatLog()).includes(`#general: ${theirs}`), await chatLog());
  await page.keyboard.press('Control+K');
  await page.keyboard.type(roomName);
  await page.keyboard.press('Enter');
  check('Ctrl+K and a room name show that room, its history named with it',
    await waitFor('the room', async () => (await chatLog()).includes(`#${roomName}: ${already}`)), await chatLog());
  const typed = `typed in ${roomName}`;
  await page.mouse.click(450, 623);
  await page.keyboard.type(typed);
  await page.keyboard.press('Enter');
  const storedIn = async () => (await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(typed)}&fields=room`)).data ?? [];
  check('what is typed there is stored in that room', await waitFor('stored in the room', async () => {
    const rows = await storedIn();
    return rows.length === 1 && rows[0].room === roomId;
  }), JSON.stringify(await storedIn()));
  // Notifications: Alice looks at her room; Bob mentions her in general.
  const aliceId = (await rest(aliceToken, 'GET', '/users/me?fields=id')).data?.id;
  const calling = `look at general ${Date.now()}`;
  await rest(bob, 'POST', '/items/messages', { content: `<@${aliceId}> ${calling}` });
  const notes = () => page.evaluate(() => window.__notes);
  check('a mention elsewhere shows a browser notification, the mention by name',
    await waitFor('the notification', async () => (await notes()).some((n) => n.title === 'Bob in #general' && n.body === `@Alice ${calling}`)),
    JSON.stringify(await notes()));
  check('and the page never asked for the permission by itself', await page.evaluate(() => window.__asked) === 0);
  await page.keyboard.press('Control+K');
  await page.keyboard.type('general');
  await page.keyboard.press('Enter');
  const inGeneral = `Bob in general ${Date.now()}`;
  await rest(bob, 'POST', '/items/messages', { content: inGeneral });
  check('back in general, a new message there is named with general',
    await waitFor('general', async () => (await chatLog()).includes(`#general: ${inGeneral}`)), await chatLog());

  // A picture dropped onto the page goes out with what is typed as its caption; the page
  // uploads it (CORS, bearer token) and shows its thumbnail, and the log names the file.
  const picture = [...fs.readFileSync(new URL('../fixtures/gradient.png', import.meta.url))];
  const transfer = await page.evaluateHandle((bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], 'gradient.png', { type: 'image/png' }));
    return data;
  }, picture);
  await page.dispatchEvent('canvas', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('canvas', 'drop', { dataTransfer: transfer });
  await page.waitForTimeout(500);
  const caption = `a picture from chromium ${Date.now()}`;
  await page.mouse.click(450, 623);
  await page.waitForTimeout(200);
  await page.keyboard.type(caption);
  await page.keyboard.press('Enter');
  check('a file dropped onto the page is sent with its caption and seen in the log',
    await waitFor('the picture', async () => (await chatLog()).includes(`${caption} (file: gradient.png (20 KB))`)), await chatLog());
  const withFile = await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(caption)}&fields=files`);
  check('Directus holds it once, with the file as stored', withFile.data?.length === 1 && withFile.data[0].files?.[0]?.name === 'gradient.png', JSON.stringify(withFile));

  // "Attach files…" (right of Send) opens the browser's file picker, and a picture pasted
  // into the page is attached as well: both go out with the next message.
  const chooserAfter = (click) => Promise.all([
    page.waitForEvent('filechooser', { timeout: 5000 }),
    click(),
  ]).then(([c]) => c, () => null);
  let chooser = await chooserAfter(() => page.mouse.click(835, 623));
  const overlay = await page.evaluate(() => document.getElementById('rfd-overlay')?.className ?? 'none');
  // Without the click's activation (it lapses after a few seconds) rfd asks for one more
  // click, on its own "Ok" over the page: what a user would see.
  if (!chooser && overlay !== 'none') {
    chooser = await chooserAfter(() => page.click('#rfd-overlay button'));
  }
  check('"Attach files…" opens the browser\'s file picker', chooser !== null, `rfd overlay: ${overlay}`);
  await chooser?.setFiles({ name: 'picked.png', mimeType: 'image/png', buffer: Buffer.from(picture) });
  await page.evaluate((bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
  }, picture);
  await page.waitForTimeout(500);
  const pickedAndPasted = `picked and pasted ${Date.now()}`;
  await page.mouse.click(450, 623);
  await page.waitForTimeout(200);
  await page.keyboard.type(pickedAndPasted);
  await page.keyboard.press('Enter');
  check('a picked file and a pasted picture go out together, seen in the log',
    await waitFor('both files', async () => (await chatLog()).includes(`${pickedAndPasted} (file: picked.png (20 KB)) (file: pasted.png (20 KB))`)), await chatLog());
  await page.waitForTimeout(1500); // the thumbnails, for the screenshot

  const shot = await page.screenshot({ path: path.join(env.ARTIFACTS, 'chat.png') });
  const share = nonBlankShare(shot);
  check('the screenshot is not blank', share > 0.01, `non-zero share ${share.toFixed(4)}`);

  const saved = await page.evaluate(() => localStorage.getItem('directus-chat.token'));
  check('localStorage keeps the server and the refresh token', saved?.includes('refresh_token') && saved.includes(api), saved);
  const everything = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  check('and never the password, under any key', !everything.includes(env.ALICE_PASSWORD));

  await page.reload();
  check('a reload logs in again by itself', await waitFor('online after reload', async () => (await status()) === 'Online', 60000));
  check('and shows the history', await waitFor('history', async () => (await chatLog()).includes(theirs)));
  await page.screenshot({ path: path.join(env.ARTIFACTS, 'after-reload.png') });
  check('no errors in the page', pageErrors.length === 0, pageErrors.join('\n'));

  // Offline: what Alice types waits in localStorage, outlives closing the tab, and goes out
  // exactly once from the next tab. (Offline is noticed by the heartbeat at the latest.)
  await context.setOffline(true);
  check('going offline is noticed', await waitFor('offline', async () => (await status()).startsWith('Offline'), 60000), await status());
  const waiting = `typed offline in the browser ${Date.now()}`;
  await page.mouse.click(450, 623);
  await page.keyboard.type(waiting);
  await page.keyboard.press('Enter');
  const kept = () => page.evaluate(() => localStorage.getItem('directus-chat.session') ?? '');
  check('the unsent message is kept in localStorage', await waitFor('outbox', async () => (await kept()).includes(waiting)), await kept());
  const shell = await page.evaluate(async () => {
    const ready = await Promise.race([navigator.serviceWorker.ready, new Promise((done) => setTimeout(done, 20000))]);
    const names = (await caches.keys()).filter((name) => name.startsWith('directus-chat-shell'));
    const kept = names.length === 1 ? (await (await caches.open(names[0])).keys()).map((r) => new URL(r.url).pathname) : [];
    return { active: Boolean(ready?.active), kept };
  });
  check('a service worker keeps the app shell: the page, its code and its fonts',
    shell.active && ['/', '.wasm', '.js', 'Ubuntu-Light.ttf'].every((end) => shell.kept.some((path) => path.endsWith(end))),
    JSON.stringify(shell));
  await page.close();
  // Offline start: the page's server is gone too, so only the service worker can serve it.
  await new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
  const next = await context.newPage();
  await next.goto(pageUrl);
  const nextLog = () => next.evaluate(() => document.getElementById('chat-log')?.textContent ?? '');
  const nextKept = () => next.evaluate(() => localStorage.getItem('directus-chat.session') ?? '');
  const nextStatus = () => next.evaluate(() => document.getElementById('chat-status')?.textContent ?? '');
  check('with no network and no page server, the app starts from the service worker',
    await waitFor('offline start', async () => (await nextStatus()).startsWith('Offline'), 60000), await nextStatus());
  check('and what waits to be sent is still waiting', (await nextKept()).includes(waiting), await nextKept());
  await new Promise((resolve) => server.listen(pagePort, '127.0.0.1', resolve));
  await context.setOffline(false);
  check('a new tab sends it once online', await waitFor('sent from the new tab', async () => (await nextLog()).includes(waiting) && !(await nextKept()).includes(waiting), 60000));
  const once = await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(waiting)}&fields=content,user_created.first_name`);
  check('Directus holds it exactly once, by Alice', once.data?.length === 1 && once.data[0].user_created?.first_name === 'Alice', JSON.stringify(once));

  // Two tabs on one stored session. Directus rotates the refresh token on every use, so two
  // tabs reloaded together race with one token: the slower one must take the faster one's
  // newer token instead of logging out (and deleting the session both share).
  const second = await context.newPage();
  const tabLogs = [];
  for (const [tab, name] of [[next, 'one'], [second, 'two']]) {
    tab.on('console', (m) => tabLogs.push(`${name}: ${m.text()}`));
  }
  await second.goto(pageUrl);
  const statusOf = (tab) => tab.evaluate(() => document.getElementById('chat-status')?.textContent ?? '');
  check('a second tab resumes the same session', await waitFor('second tab online', async () => (await statusOf(second)) === 'Online', 60000), await statusOf(second));
  const both = async () => `${await statusOf(next)} / ${await statusOf(second)}`;
  // Several times: which tab wins, and when each sees the other's write, varies.
  let together = { ok: true, round: 0 };
  for (let round = 1; round <= 12 && together.ok; round++) {
    await Promise.all([next.reload(), second.reload()]);
    together = { ok: await waitFor('both online', async () => (await both()) === 'Online / Online', 60000), round };
  }
  check('two tabs reloaded together both come back online, 12 times', together.ok, `round ${together.round}: ${await both()}`);
  const fromTabs = [];
  for (const [tab, name] of [[next, 'one'], [second, 'two']]) {
    const text = `from tab ${name} ${Date.now()}`;
    fromTabs.push(text);
    await tab.bringToFront();
    await tab.mouse.click(450, 623);
    await tab.waitForTimeout(200);
    await tab.keyboard.type(text);
    await tab.keyboard.press('Enter');
  }
  const storedOnce = async () => {
    for (const text of fromTabs) {
      const found = await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(text)}&fields=user_created.first_name`);
      if (found.data?.length !== 1 || found.data[0].user_created?.first_name !== 'Alice') return false;
    }
    return true;
  };
  check('what each tab sends is stored exactly once, by Alice', await waitFor('both stored', storedOnce), fromTabs.join(', '));
  const nextToken = () => next.evaluate(() => localStorage.getItem('directus-chat.token') ?? '');
  check('the shared session is still stored', (await nextToken()).includes('refresh_token'), await nextToken());
  await second.reload();
  check('and a later reload still logs in by itself', await waitFor('online again', async () => (await statusOf(second)) === 'Online', 60000),
    `${await statusOf(second)}\n${tabLogs.slice(-30).join('\n')}`);

  // The development loop (`cargo xtask web`): trunk serve with the repository's Trunk.toml,
  // whose proxies carry /auth and /websocket to Directus; the login form's server field
  // holds the page's own origin, so a developer types only an email and a password.
  const devUrl = env.DEV_URL;
  const built = await waitFor('trunk serve to build (its log: ' + env.DEV_LOG + ')', async () => {
    try {
      const res = await fetch(devUrl);
      return res.ok && (await res.text()).includes('_bg.wasm');
    } catch { return false; }
  }, 15 * 60000);
  check('trunk serve builds and serves the page', built, fs.existsSync(env.DEV_LOG) ? fs.readFileSync(env.DEV_LOG, 'utf8').slice(-2000) : '');
  const devContext = await browser.newContext({ viewport: { width: 900, height: 650 } });
  const dev = await devContext.newPage();
  const devStatus = () => dev.evaluate(() => document.getElementById('chat-status')?.textContent ?? '');
  await dev.goto(devUrl);
  check('the development page starts on the login panel', await waitFor('dev login panel', async () => (await devStatus()) === 'Logged out', 120000), await devStatus());
  await typeLogin(dev, { email: env.BOB_EMAIL, password: env.BOB_PASSWORD }); // the origin's own server field
  check('Bob logs in through trunk serve\'s proxies of /auth and /websocket',
    await waitFor('dev online', async () => (await devStatus()) === 'Online', 60000), await devStatus());
  const viaProxy = `through the dev proxy ${Date.now()}`;
  await dev.mouse.click(450, 623);
  await dev.waitForTimeout(200);
  await dev.keyboard.type(viaProxy);
  await dev.keyboard.press('Enter');
  const storedViaProxy = async () => (await rest(admin, 'GET', `/items/messages?filter[content][_eq]=${encodeURIComponent(viaProxy)}&fields=user_created.first_name`)).data ?? [];
  check('and what he sends there is stored once, by Bob', await waitFor('stored via proxy', async () => {
    const rows = await storedViaProxy();
    return rows.length === 1 && rows[0].user_created?.first_name === 'Bob';
  }), JSON.stringify(await storedViaProxy()));
} catch (e) {
  failed += 1;
  console.log(`FAILED: ${e.stack ?? e}`);
  await page.screenshot({ path: path.join(env.ARTIFACTS, 'failure.png') }).catch(() => {});
} finally {
  await browser.close();
  server.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
