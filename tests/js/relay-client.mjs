// Drives the relay with nostr-tools' own Relay client (the way real apps talk to relays) and prints one
// JSON line with what it saw, for NostrToolsClientTests to assert on.  Usage: node relay-client.mjs <ws-url>
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const { default: WebSocket } = await import('ws');
const { Relay, useWebSocketImplementation } = await import('nostr-tools/relay');
const { generateSecretKey, getPublicKey, finalizeEvent } = await import('nostr-tools/pure');
useWebSocketImplementation(WebSocket);

const url = process.argv[2];
const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);

const relay = await withTimeout(Relay.connect(url), 5000, 'connect');
const sk = generateSecretKey();
const pubkey = getPublicKey(sk);
const now = Math.floor(Date.now() / 1000);
const result = { pubkey, published: [], publishErrors: [], live: [], eoseBeforeLive: false, history: [], replaceable: null, rejected: null };

// 1. Subscribe first: nothing stored yet, so EOSE comes at once and everything after is live.
let eose = false;
const live = relay.subscribe([{ authors: [pubkey], kinds: [1] }], {
  onevent(e) { result.live.push(e.id); if (eose) result.eoseBeforeLive = true; },
  oneose() { eose = true; },
});
await withTimeout(new Promise(r => { const t = setInterval(() => { if (eose) { clearInterval(t); r(); } }, 5); }), 5000, 'eose');

// 2. Publish through relay.publish, which resolves on OK true and rejects on OK false.
for (let i = 0; i < 5; i++) {
  const e = finalizeEvent({ kind: 1, created_at: now - 10 + i, tags: [['t', 'nostr-tools']], content: `note ${i} ✨` }, sk);
  try { await withTimeout(relay.publish(e), 5000, 'publish'); result.published.push(e.id); }
  catch (err) { result.publishErrors.push(String(err.message ?? err)); }
}
await withTimeout(new Promise(r => { const t = setInterval(() => { if (result.live.length >= 5) { clearInterval(t); r(); } }, 5); }), 5000, 'live events');
live.close();

// 3. History through a fresh subscription: newest first, limited.
await withTimeout(new Promise(resolve => {
  const sub = relay.subscribe([{ authors: [pubkey], kinds: [1], limit: 3 }], {
    onevent(e) { result.history.push(e.id); },
    oneose() { sub.close(); resolve(); },
  });
}), 5000, 'history');

// 4. A replaceable event: the newer one wins, the older one is refused with a reason.
const older = finalizeEvent({ kind: 0, created_at: now - 100, tags: [], content: '{"name":"old"}' }, sk);
const newer = finalizeEvent({ kind: 0, created_at: now - 50, tags: [], content: '{"name":"new"}' }, sk);
await relay.publish(newer);
try { await relay.publish(older); result.rejected = 'accepted'; } catch (err) { result.rejected = String(err.message ?? err); }
await withTimeout(new Promise(resolve => {
  const sub = relay.subscribe([{ authors: [pubkey], kinds: [0] }], {
    onevent(e) { result.replaceable = e.id === newer.id ? 'newer' : 'older'; },
    oneose() { sub.close(); resolve(); },
  });
}), 5000, 'replaceable');

relay.close();
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
