// The reference chat: the Directus "realtime chat" tutorial's shape, without the SDK.
// REST logs in (and refreshes); one WebSocket authenticates, subscribes to messages and
// reads the latest 100 through the same socket. It keeps every message in the DOM, as the
// tutorial does: the web bench's memory figure shows what that costs.

const SESSION_KEY = 'reference-chat.session';
const FIELDS = ['id', 'content', 'date_created', 'user_created.first_name'];
const $ = (id) => document.getElementById(id);

let api = '';            // the Directus URL, without a trailing slash
let accessToken = '';
let refreshToken = '';
let refreshTimer = 0;
let refreshing = null;   // one refresh at a time: each use rotates the refresh token
let socket = null;       // null: not connected (logged out, or waiting to reconnect)
let subscribed = false;  // per socket: a re-auth's "ok" must not subscribe twice
let historyShown = false;
let early = [];          // live messages that arrive before the history: shown after it
const shown = new Set(); // ids in the log: a reconnect reads the history again

function setStatus(text) {
  $('chat-status').textContent = text;
}

async function post(path, body) {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = new Error(json.errors?.[0]?.message ?? `HTTP ${res.status}`);
    error.refused = res.status < 500; // the server said no (not: it could not be reached)
    throw error;
  }
  return json.data;
}

// Keep the tokens; store the server and the refresh token only (never the password), and
// refresh a minute before the access token expires (`expires` is in ms).
function keepTokens(data) {
  accessToken = data.access_token;
  refreshToken = data.refresh_token;
  localStorage.setItem(SESSION_KEY, JSON.stringify({ server: api, refresh_token: refreshToken }));
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, Math.max(data.expires - 60_000, 5_000));
}

// A new access token; then connect, or hand it to the open socket (an authenticated socket
// expires with its token). Unreachable: try again; refused: the session is over.
function refresh() {
  if (!refreshToken) return Promise.resolve(); // logged out meanwhile
  refreshing ??= post('/auth/refresh', { refresh_token: refreshToken, mode: 'json' })
    .then((data) => {
      keepTokens(data);
      if (!socket) connect();
      else if (socket.readyState === WebSocket.OPEN) send({ type: 'auth', access_token: accessToken });
    }, (e) => {
      if (e.refused) logOut(`Session ended: ${e.message}`);
      else refreshTimer = setTimeout(refresh, 5_000);
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

function showForm(error = '') {
  $('chat').hidden = true;
  $('login-form').hidden = false;
  $('login-error').textContent = error;
  $('server').value ||= api || (new URLSearchParams(location.search).get('api') ?? location.origin);
  setStatus('Logged out'); // only now: the form is shown and its handler is attached
}

function logOut(error) {
  clearTimeout(refreshTimer);
  refreshToken = accessToken = '';
  localStorage.removeItem(SESSION_KEY);
  const old = socket;
  socket = null; // first, so that its close does not reconnect
  old?.close();
  showForm(error);
}

function send(frame) {
  socket.send(JSON.stringify(frame));
}

function connect() {
  setStatus('Connecting…');
  $('login-form').hidden = true;
  $('chat').hidden = false;
  subscribed = historyShown = false;
  early = [];
  const ws = new WebSocket(`${api.replace(/^http/, 'ws')}/websocket`);
  socket = ws;
  ws.onopen = () => send({ type: 'auth', access_token: accessToken });
  ws.onmessage = (event) => { if (socket === ws) receive(JSON.parse(event.data)); };
  ws.onclose = () => {
    if (socket !== ws) return; // logged out
    socket = null;
    setStatus('Offline');
    setTimeout(refresh, 3_000); // with a fresh token: the old one may be why it closed
  };
}

function receive(frame) {
  if (frame.type === 'ping') {
    send({ type: 'pong' });
  } else if (frame.type === 'auth' && frame.status === 'ok' && !subscribed) {
    subscribed = true;
    // Both at once: whatever is created meanwhile is in one or the other (or both: by id).
    send({ type: 'subscribe', collection: 'messages', query: { fields: FIELDS }, uid: 'messages' });
    send({
      type: 'items', collection: 'messages', action: 'read', uid: 'history',
      query: { fields: FIELDS, sort: ['-id'], limit: 100 },
    });
  } else if (frame.type === 'auth' && frame.status === 'error') {
    refresh(); // expired or refused: a new token, or the login form if the session is over
  } else if (frame.type === 'items' && frame.uid === 'history') {
    if (frame.status === 'error') return setStatus(`Could not read messages: ${frame.error?.message}`);
    frame.data.reverse().forEach(show); // newest first on the wire, oldest first on screen
    early.forEach(show);
    early = [];
    historyShown = true;
    setStatus('Online');
  } else if (frame.type === 'subscription' && frame.uid === 'messages' && frame.event === 'create') {
    if (historyShown) frame.data.forEach(show);
    else early.push(...frame.data);
  }
  // The subscription's first frame ("init") and replies to our own creates bring nothing new.
}

function show(message) {
  if (shown.has(message.id)) return;
  shown.add(message.id);
  const time = new Date(message.date_created).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const li = document.createElement('li');
  li.textContent = `${message.user_created?.first_name ?? 'Someone'}, ${time}, #general: ${message.content}`;
  $('chat-log').append(li);
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault(); // the button and Enter in any field both land here
  api = $('server').value.trim().replace(/\/+$/, '');
  setStatus('Connecting…');
  try {
    keepTokens(await post('/auth/login', {
      email: $('email').value, password: $('password').value, mode: 'json',
    }));
  } catch (e) {
    return showForm(`Login failed: ${e.message}`);
  }
  $('password').value = '';
  connect();
});

$('composer-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const content = $('composer').value.trim();
  if (!content || socket?.readyState !== WebSocket.OPEN) return;
  send({ type: 'items', collection: 'messages', action: 'create', data: { content } });
  $('composer').value = ''; // it appears when the subscription reports it
});

// A returning user: resume the stored session without showing the form (a refused refresh
// clears it and shows the form).
const stored = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null');
if (stored?.refresh_token) {
  api = stored.server;
  refreshToken = stored.refresh_token;
  setStatus('Connecting…');
  refresh();
} else {
  showForm();
}
