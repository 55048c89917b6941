// The peer in `cargo xtask bench`: the official @directus/sdk realtime client, used the way the
// tutorial uses it (REST login, handshake auth, subscribe with the author's first name, send
// over the socket). Same line protocol as `directus-chat --headless`: each stdin line is sent
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
const { subscription } = await client.subscribe('messages', {
  event: 'create',
  query: { fields: ['id', 'content', 'user_created.first_name'] },
});
process.stderr.write('status: subscribed\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    client.sendMessage({ type: 'items', collection: 'messages', action: 'create', data: { content: line } });
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
