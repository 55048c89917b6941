// The web bench: our release page (dist/, "directus-chat") against the reference page of the
// Directus realtime-chat tutorial's shape (tests/web/reference/, "reference"), in headless
// Chromium, against one fresh Directus. Run by `cargo xtask bench web` (and once by
// `cargo xtask test`, where it must prove that every measure can be taken).
//
// Both pages keep the same observable contract: #chat-status says "Logged out" when the
// login form is usable and "Online" once the history is shown; #chat-log holds one <li> per
// message ("Bob, 16:02, #general: text"). Every time is taken inside the page: an init
// script records performance.now() (relative to navigation start) on the DOM mutation that
// shows a status or a text, so the polling from here adds nothing to the figures.
//
// Per page, RUNS times (median, min and max reported):
//   a. fresh context, navigate → first contentful paint; → "Logged out" (login form usable)
//   b. type the credentials; Enter keydown → newest message shown and "Online"
//   c. reload (stored session, warm HTTP cache) → newest message shown; and → "Online"
//   d. Bob posts over REST → the text is in the log (wall clock, 5 messages a run)
//   e. bytes of the page's own origin for (a)+(b): raw, gzip -9, brotli q11; requests per file
//   f. admin posts 1,000 messages; after GC: JS heap, Blink (DOM) heap, wasm memory
// Prints a Markdown table and writes the JSON to OUT. No thresholds: it fails only when a
// measure could not be taken.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { typeLogin } from './login_form.mjs';

const env = process.env;
const require = createRequire(path.join(env.WEB_TOOLS, 'noop.js'));
const { chromium } = require('playwright-core');

const api = env.DIRECTUS_URL.replace(/\/+$/, '');
const RUNS = Math.max(1, Number(env.RUNS ?? 5));
const TIMEOUT = 60_000;
const LIVE_MESSAGES = 5;
const BULK = { batches: 10, size: 100 };
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// --- static servers: one origin per page, as a production server would serve it ----------
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.ttf': 'font/ttf', '.woff2': 'font/woff2', '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/// Every file of `dir`, compressed once up front (gzip -9 to serve; brotli q11 to report).
function staticServer(dir, port) {
  const root = path.resolve(dir);
  const files = new Map();
  for (const full of filesUnder(root)) {
    const raw = fs.readFileSync(full);
    files.set(`/${path.relative(root, full).split(path.sep).join('/')}`, {
      raw,
      gzip: zlib.gzipSync(raw, { level: 9 }),
      brotli: zlib.brotliCompressSync(raw, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
      }),
      etag: `"${crypto.createHash('sha1').update(raw).digest('hex').slice(0, 16)}"`,
      type: TYPES[path.extname(full)] ?? 'application/octet-stream',
    });
  }
  let served = []; // since the last reset: { file, status, bytes, gzip }
  const server = http.createServer((req, res) => {
    let file;
    try {
      file = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      file = '';
    }
    if (file === '/') file = '/index.html';
    const entry = files.get(file);
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      served.push({ file, status: 404, bytes: 0 });
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    const headers = {
      'Content-Type': entry.type,
      'Cache-Control': file === '/index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
      ETag: entry.etag,
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === entry.etag) {
      served.push({ file, status: 304, bytes: 0 });
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = gzip ? entry.gzip : entry.raw;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = body.length;
    served.push({ file, status: 200, bytes: body.length, gzip });
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return {
    files,
    listen: () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () => server.close(),
    reset: () => { served = []; },
    /// What was served since the last reset: per file its requests, and the sums over every
    /// response with a body (a file fetched twice counts twice: it crossed the wire twice).
    snapshot() {
      const perFile = {};
      const sum = { raw: 0, gzip: 0, brotli: 0, sent: 0 };
      for (const { file, status, bytes } of served) {
        const row = (perFile[file] ??= { requests: 0, statuses: [] });
        row.requests += 1;
        row.statuses.push(status);
        const entry = files.get(file);
        if (status !== 200 || !entry) continue;
        Object.assign(row, { raw: entry.raw.length, gzip: entry.gzip.length, brotli: entry.brotli.length });
        sum.raw += entry.raw.length;
        sum.gzip += entry.gzip.length;
        sum.brotli += entry.brotli.length;
        sum.sent += bytes;
      }
      return { perFile, ...sum };
    },
  };
}

// --- REST: the other clients -----------------------------------------------------------
async function logIn(email, password) {
  const res = await fetch(`${api}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  const json = await res.json();
  if (!json.data?.access_token) throw new Error(`login of ${email}: ${JSON.stringify(json)}`);
  return json.data.access_token;
}
async function rest(token, method, url, body) {
  const res = await fetch(`${api}${url}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// --- in the page: marks on the mutations themselves ---------------------------------------
// Runs before any script of the page (context.addInitScript). __marks[status] is the first
// time each status text appeared; __seen[text] the first time `text` was in #chat-log.
function instrument({ watch }) {
  window.__marks = {};
  window.__statusLog = [];
  window.__seen = {};
  const wanted = new Set(watch);
  const log = () => document.getElementById('chat-log');
  const look = (text, at) => {
    for (const w of wanted) if (!(w in window.__seen) && text.includes(w)) window.__seen[w] = at;
  };
  window.__watchFor = (text) => {
    wanted.add(text);
    const content = log()?.textContent ?? '';
    if (!(text in window.__seen) && content.includes(text)) window.__seen[text] = performance.now();
  };
  // The Enter that submits the login form (capture: before the page's own handlers).
  addEventListener('keydown', (e) => { if (e.key === 'Enter') window.__enterAt = performance.now(); }, true);
  // trunk's loader: the wasm-bindgen exports (with `memory`) once the app started.
  addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail?.wasm; });
  let status;
  new MutationObserver((records) => {
    const at = performance.now();
    const now = document.getElementById('chat-status')?.textContent;
    if (now !== undefined && now !== status) {
      status = now;
      if (!(now in window.__marks)) window.__marks[now] = at;
      window.__statusLog.push([Math.round(at), now]);
    }
    const list = log();
    if (!list || Object.keys(window.__seen).length === wanted.size) return;
    for (const r of records) {
      if (!list.contains(r.target) && !r.target.contains?.(list)) continue;
      if (r.type === 'characterData') look(r.target.data, at);
      else for (const node of r.addedNodes) if (list.contains(node)) look(node.textContent, at);
    }
  }).observe(document, { childList: true, characterData: true, subtree: true });
}

// --- the two pages: how a user logs in on each ----------------------------------------------
const credentials = { email: env.ALICE_EMAIL, password: env.ALICE_PASSWORD };

async function logInOurs(page) {
  await typeLogin(page, { server: api, ...credentials });
}

async function logInReference(page) {
  await page.fill('#server', api);
  await page.fill('#email', credentials.email);
  await page.fill('#password', credentials.password);
  await page.press('#password', 'Enter');
}

const targets = [
  { name: 'directus-chat', dir: env.DIST, port: Number(env.PAGE_PORT), logIn: logInOurs, wasm: true },
  { name: 'reference', dir: env.REFERENCE, port: Number(env.REFERENCE_PORT), logIn: logInReference, wasm: false },
];
for (const t of targets) {
  t.origin = `http://127.0.0.1:${t.port}`;
  t.server = staticServer(t.dir, t.port);
  await t.server.listen();
  t.results = [];       // one object per run
  t.errors = [];        // page errors and console errors
  t.warnings = [];      // console warnings
  t.streaming = true;   // false once wasm-bindgen says instantiateStreaming failed
  t.failures = [];
}

async function waitIn(page, what, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: TIMEOUT, polling: 50 });
  } catch (e) {
    const state = await page.evaluate(() => ({
      status: document.getElementById('chat-status')?.textContent,
      statusLog: window.__statusLog,
      logLines: document.getElementById('chat-log')?.children.length,
    })).catch(() => ({}));
    throw new Error(`timed out (${TIMEOUT / 1000} s) waiting for ${what}: ${JSON.stringify(state)} (${e.message.split('\n')[0]})`);
  }
}

// --- one run of every measure on one page ------------------------------------------------------
async function runOnce(browser, target, run) {
  const result = { run };
  const bob = await logIn(env.BOB_EMAIL, env.BOB_PASSWORD);
  // The newest message in general: "history visible" means this text is in the log.
  const seed = `bench seed ${target.name} run ${run} at ${Date.now()}.`;
  await rest(bob, 'POST', '/items/messages', { content: seed });

  // A fresh context: empty HTTP cache, no stored session.
  const context = await browser.newContext({ viewport: { width: 900, height: 650 } });
  await context.addInitScript(instrument, { watch: [seed] });
  const page = await context.newPage();
  page.on('pageerror', (e) => target.errors.push(`run ${run}: ${e}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/instantiateStreaming/.test(text) && /fail/i.test(text)) target.streaming = false;
    if (m.type() === 'error') target.errors.push(`run ${run}: ${text}`);
    else if (m.type() === 'warning') target.warnings.push(`run ${run}: ${text}`);
  });
  try {
    // a. navigation start → login form usable
    target.server.reset();
    await page.goto(`${target.origin}/`, { waitUntil: 'domcontentloaded' });
    await waitIn(page, 'the login form ("Logged out")', () => window.__marks['Logged out'] !== undefined);
    result.login_form_usable_ms = await page.evaluate(() => window.__marks['Logged out']);
    // Ours: the page's loading indicator; the reference: its "Loading…" line.
    // The paint entry is queued after the frame is presented: a page as quick as the reference can
    // be usable before it is there (a CI run read null), so wait for it, bounded.
    result.first_paint_ms = await page.evaluate(() => new Promise((resolve) => {
      const paint = () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
      if (paint() !== undefined) return resolve(paint());
      const observer = new PerformanceObserver(() => {
        if (paint() !== undefined) { observer.disconnect(); resolve(paint()); }
      });
      observer.observe({ type: 'paint', buffered: true });
      setTimeout(() => { observer.disconnect(); resolve(paint() ?? null); }, 5000);
    }));

    // b. Enter → the newest message shown, and Online
    await target.logIn(page, target.origin);
    await waitIn(page, 'the history after login', (seed) =>
      window.__enterAt !== undefined && window.__seen[seed] !== undefined && window.__marks.Online !== undefined, seed);
    const b = await page.evaluate((seed) => ({ enter: window.__enterAt, seen: window.__seen[seed], online: window.__marks.Online, log: window.__statusLog }), seed);
    result.login_to_history_ms = Math.max(b.seen, b.online) - b.enter;
    result.status_after_login = b.log;

    // e. what one load and login fetched from the page's origin (late requests included)
    await sleep(1000);
    result.transfer = target.server.snapshot();

    // c. reload: stored session, warm HTTP cache
    target.server.reset();
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitIn(page, 'the history and "Online" after reload', (seed) =>
      window.__seen[seed] !== undefined && window.__marks.Online !== undefined, seed);
    const c = await page.evaluate((seed) => ({ seen: window.__seen[seed], online: window.__marks.Online, log: window.__statusLog }), seed);
    result.reload_to_history_ms = c.seen;
    result.reload_to_online_ms = c.online;
    result.status_after_reload = c.log;
    result.reload_requests = target.server.snapshot().perFile;

    // d. Bob posts; wall clock from just before the POST to the mutation showing it
    const live = [];
    for (let k = 0; k < LIVE_MESSAGES; k += 1) {
      const text = `bench live ${target.name} run ${run} #${k} at ${Date.now()}.`;
      await page.evaluate((text) => window.__watchFor(text), text);
      const sentAt = Date.now();
      await rest(bob, 'POST', '/items/messages', { content: text });
      live.push({ text, sentAt });
      await sleep(300);
    }
    const texts = live.map((l) => l.text);
    await waitIn(page, 'the live messages', (texts) => texts.every((t) => window.__seen[t] !== undefined), texts);
    const d = await page.evaluate((texts) => ({ origin: performance.timeOrigin, seen: texts.map((t) => window.__seen[t]) }), texts);
    result.live_samples_ms = d.seen.map((t, i) => d.origin + t - live[i].sentAt);
    result.live_message_ms = median(result.live_samples_ms);

    // f. 1,000 messages by the admin (10 POSTs of 100), then GC, then the heaps
    const admin = await logIn(env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
    const tag = `bench bulk ${target.name} run ${run} at ${Date.now()}`;
    const total = BULK.batches * BULK.size;
    const last = `${tag} #${total - 1}.`;
    await page.evaluate((text) => window.__watchFor(text), last);
    for (let batch = 0; batch < BULK.batches; batch += 1) {
      const items = Array.from({ length: BULK.size }, (_, i) => ({ content: `${tag} #${batch * BULK.size + i}.` }));
      await rest(admin, 'POST', '/items/messages', items);
    }
    await waitIn(page, `the ${total}th message`, (last) => window.__seen[last] !== undefined, last);
    result.log_items_after_bulk = await page.evaluate(() => document.getElementById('chat-log').children.length);
    await sleep(1000); // let the page settle (our app repaints; the socket's backlog drains)
    const cdp = await context.newCDPSession(page);
    const gcExposed = await page.evaluate(() => {
      if (typeof window.gc !== 'function') return false;
      window.gc();
      window.gc();
      return true;
    });
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    await cdp.detach();
    const wasmBytes = await page.evaluate(() => window.__wasm?.memory?.buffer?.byteLength ?? null);
    if (target.wasm && wasmBytes === null) throw new Error('no wasm memory: TrunkApplicationStarted was not seen');
    const mb = (bytes) => bytes / (1024 * 1024);
    result.gc_exposed = gcExposed;
    result.heap = heap;
    result.js_heap_mb = mb(heap.usedSize);
    result.dom_heap_mb = heap.embedderHeapUsedSize === undefined ? null : mb(heap.embedderHeapUsedSize);
    result.wasm_memory_mb = mb(wasmBytes ?? 0);
    result.total_mb = result.js_heap_mb + result.wasm_memory_mb;
    result.total_with_dom_mb = result.dom_heap_mb === null ? null : result.total_mb + result.dom_heap_mb;
  } catch (e) {
    result.error = String(e.stack ?? e);
    target.failures.push(`run ${run}: ${e.message ?? e}`);
    await page.screenshot({ path: path.join(env.ARTIFACTS, `bench-${target.name}-failure.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
  return result;
}

// --- statistics and the table ---------------------------------------------------------------
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const ROWS = [
  { key: 'first_paint_ms', label: 'First paint: something on screen (ms)', digits: 0 },
  { key: 'login_form_usable_ms', label: 'Login form usable (ms)', digits: 0 },
  { key: 'login_to_history_ms', label: 'Login (Enter) → history visible (ms)', digits: 0 },
  { key: 'reload_to_history_ms', label: 'Reload → history visible (ms)', digits: 0 },
  { key: 'reload_to_online_ms', label: 'Reload → Online (ms)', digits: 0 },
  { key: 'live_message_ms', label: 'Live message → on screen (ms)', digits: 0 },
  { key: 'transferred_raw_kb', label: 'Transferred, raw (KiB)', digits: 1, from: (r) => r.transfer && r.transfer.raw / 1024 },
  { key: 'transferred_gzip_kb', label: 'Transferred, gzip -9 (KiB)', digits: 1, from: (r) => r.transfer && r.transfer.gzip / 1024 },
  { key: 'transferred_brotli_kb', label: 'Transferred, brotli q11 (KiB)', digits: 1, from: (r) => r.transfer && r.transfer.brotli / 1024 },
  { key: 'js_heap_mb', label: 'JS heap after 1,000 messages (MiB)', digits: 1 },
  { key: 'wasm_memory_mb', label: 'wasm linear memory, reserved (MiB)', digits: 1 },
  { key: 'total_mb', label: 'Total: JS heap + wasm linear memory (MiB)', digits: 1 },
  { key: 'dom_heap_mb', label: 'Blink (DOM) heap (MiB), for scale', digits: 1 },
  { key: 'total_with_dom_mb', label: 'JS + wasm + Blink heap (MiB)', digits: 1 },
];

function summarize(target) {
  const measures = {};
  for (const row of ROWS) {
    const samples = target.results
      .map((r) => (row.from ? row.from(r) : r[row.key]))
      .filter((v) => typeof v === 'number' && Number.isFinite(v));
    measures[row.key] = samples.length === RUNS
      ? { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples }
      : { median: null, samples, missing: RUNS - samples.length };
  }
  measures.live_message_ms.all_samples = target.results.flatMap((r) => r.live_samples_ms ?? []);
  return measures;
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    // For the memory figures: window.gc() and unrounded performance.memory.
    '--js-flags=--expose-gc', '--enable-precise-memory-info',
    // One tab at a time, measured: no throttling of timers or renderers.
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows'],
});
const chromiumVersion = browser.version();
console.log(`web bench: Chromium ${chromiumVersion}, ${RUNS} run(s) of each measure, Directus ${api}`);

try {
  for (let run = 1; run <= RUNS; run += 1) {
    // Alternate which page goes first: neither always meets the emptier Directus.
    const order = run % 2 ? targets : [...targets].reverse();
    for (const target of order) {
      const started = Date.now();
      const result = await runOnce(browser, target, run);
      target.results.push(result);
      console.log(`run ${run} ${target.name}: ${result.error ? `FAILED ${result.error.split('\n')[0]}` : 'ok'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
} finally {
  await browser.close();
  for (const t of targets) t.server.close();
}

// --- report ----------------------------------------------------------------------------------
const failures = [];
const summary = {};
for (const t of targets) {
  summary[t.name] = summarize(t);
  for (const f of t.failures) failures.push(`${t.name} ${f}`);
  for (const row of ROWS) {
    if (summary[t.name][row.key].median === null) failures.push(`${t.name}: ${row.label} not measured in ${summary[t.name][row.key].missing} run(s)`);
  }
  // The wasm is fetched by trunk's <link rel=preload> and by the loader: twice is a defect.
  for (const r of t.results) {
    for (const [file, row] of Object.entries(r.transfer?.perFile ?? {})) {
      // The service worker revalidates the page once it is installed (a bodiless 304).
      const revalidated = row.requests === 2 && row.statuses.includes(304);
      if (row.requests > 1 && !revalidated) console.log(`WARNING: ${t.name} run ${r.run}: ${file} was requested ${row.requests} times in one load (statuses ${row.statuses.join(', ')})`);
      if (row.statuses.includes(404)) console.log(`WARNING: ${t.name} run ${r.run}: ${file} → 404`);
    }
  }
  const first = t.results[0]?.transfer?.perFile ?? {};
  console.log(`${t.name}: one load + login fetched ${Object.entries(first).map(([file, row]) => `${file} ×${row.requests}`).join(', ')}`);
  if (t.wasm && !t.streaming) console.log(`WARNING: ${t.name}: WebAssembly.instantiateStreaming failed (fell back to instantiate)`);
}

const [ours, reference] = targets.map((t) => summary[t.name]);
const fmt = (v, digits) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const lines = [
  '| measure | directus-chat | reference | ratio |',
  '|---|---:|---:|---:|',
];
for (const row of ROWS) {
  const a = ours[row.key].median;
  const b = reference[row.key].median;
  const ratio = a !== null && b !== null && b !== 0 ? (a / b).toFixed(2) : '—';
  const range = (m) => (RUNS > 1 && m.median !== null ? ` (${fmt(m.min, row.digits)}–${fmt(m.max, row.digits)})` : '');
  lines.push(`| ${row.label} | ${fmt(a, row.digits)}${range(ours[row.key])} | ${fmt(b, row.digits)}${range(reference[row.key])} | ${ratio} |`);
}
const table = lines.join('\n');
console.log(`\nMedians of ${RUNS} run(s)${RUNS > 1 ? ' (min–max)' : ''}; ratio = directus-chat / reference.\n`);
console.log(table);
console.log(`\ndirectus-chat: wasm compiled with instantiateStreaming: ${targets[0].streaming}`);
for (const t of targets) {
  if (t.errors.length) console.log(`${t.name}: ${t.errors.length} console/page error(s):\n  ${[...new Set(t.errors)].slice(0, 10).join('\n  ')}`);
}

const json = {
  date: new Date().toISOString(),
  chromium: chromiumVersion,
  runs: RUNS,
  directus: api,
  table,
  pages: Object.fromEntries(targets.map((t) => [t.name, {
    origin: t.origin,
    measures: summary[t.name],
    streaming: t.wasm ? t.streaming : null,
    transfer_first_run: t.results[0]?.transfer ?? null,
    errors: t.errors,
    warnings: t.warnings,
    runs: t.results,
  }])),
  failures,
};
fs.mkdirSync(path.dirname(env.OUT), { recursive: true });
fs.writeFileSync(env.OUT, `${JSON.stringify(json, null, 2)}\n`);
console.log(`\nwrote ${env.OUT}`);

if (failures.length) {
  console.log(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
