// The peer in `cargo xtask bench`: the official @directus/sdk realtime client, used the way the
// tutorial uses it (REST login, handshake auth, subscribe with the author's first name, send
// over the socket), with the frames directus-chat sends (same fields, a unique client_key on
// each create) so Directus does the same work for every client. Same line protocol as `directus-chat --headless`: each stdin line is sent
// as a message; each message received prints {"id","author","content"} on stdout.
// Usage: node sdk-client.mjs URL EMAIL   (password in DIRECTUS_CHAT_PASSWORD)
import { createDirectus, authentication, realtime } from '@directus/sdk';
import { createInterface } from 'node:readline';

const [url, email] = process.argv.slice(2);
const password = process.env.DIRECTUS_CHAT_PASSWORD;
// The SDK's defaults: reconnect every 1 s, 10 times; heartbeat answered.
const client = createDirectus(url).with(authentication('json')).with(realtime());

await client.login({ email, password });
await client.connect();
const fields = ['id', 'content', 'date_created', 'date_updated', 'client_key', 'user_created.id', 'user_created.first_name'];
const { subscription } = await client.subscribe('messages', { query: { fields } });
process.stderr.write('status: subscribed\n');

let sent = 0;
const run = `${process.pid}-${Date.now()}`;
createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    sent += 1;
    client.sendMessage({
      type: 'items', collection: 'messages', action: 'create', query: { fields },
      data: { content: line, client_key: `sdk-${run}-${sent}` },
    });
  } catch (e) {
    process.stderr.write(`not sent: ${e.message}\n`); // no outbox: the SDK throws when offline
  }
});
client.onWebSocket('close', () => process.stderr.write('status: closed\n'));

for await (const event of subscription) {
  if (event.event !== 'create') continue;
  for (const item of event.data) {
    const author = item.user_created?.first_name ?? null;
    process.stdout.write(JSON.stringify({ id: item.id, author, content: item.content }) + '\n');
  }
}
process.stderr.write('status: subscription ended\n');
