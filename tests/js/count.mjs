// NIP-45 through nostr-tools: connects with its Relay, optionally authenticates (NIP-42, its relay.auth), sends
// relay.countWithHLL(filters) and prints one JSON line: {"count":n,"hll":"..."} or {"closed":"<reason>"}. For each
// filter it also reads every match with a REQ and computes the HyperLogLog nostr-tools' nip45 makes of their pubkeys,
// so the test can compare the relay's registers with the reference client's.
// Usage: node count.mjs <ws-url> '<filters JSON array>' [secret key hex]
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const { default: WebSocket } = await import('ws');
const { Relay, useWebSocketImplementation } = await import('nostr-tools/relay');
const { finalizeEvent } = await import('nostr-tools/pure');
const { hexToBytes } = await import('@noble/hashes/utils.js');
const nip45 = await import('nostr-tools/nip45');
useWebSocketImplementation(WebSocket);

const [url, filtersJson, sk] = process.argv.slice(2);
const filters = JSON.parse(filtersJson);
const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);

const relay = await withTimeout(Relay.connect(url), 5000, 'connect');
if (sk) {
  // The challenge comes on connect; wait for it, then answer it with nostr-tools' own AUTH.
  await withTimeout(new Promise(r => { const t = setInterval(() => { if (relay.challenge) { clearInterval(t); r(); } }, 5); }), 5000, 'challenge');
  await withTimeout(relay.auth(template => finalizeEvent(template, hexToBytes(sk))), 5000, 'auth');
}
const result = {};
try {
  const answer = await withTimeout(relay.countWithHLL(filters), 10000, 'count');
  result.count = answer.count;
  if (answer.hll !== undefined) result.hll = answer.hll;
  if (answer.approximate !== undefined) result.approximate = answer.approximate;
} catch (err) {
  result.closed = String(err.message ?? err);
}

// What a client would compute itself from every match.
const ids = new Set();
let hll = nip45.newHll();
const firstValue = nip45.getFilterFirstTagValue(filters[0]);
const offset = firstValue === undefined ? undefined : nip45.computeOffset(firstValue);
await withTimeout(new Promise(resolve => {
  const sub = relay.subscribe(filters.map(f => ({ ...f, limit: 5000 })), {
    onevent(e) { ids.add(e.id); if (offset !== undefined) hll = nip45.feedEvent(hll, e, offset); },
    oneose() { sub.close(); resolve(); },
    onclose() { resolve(); },
  });
}), 10000, 'read every match');
result.read = ids.size;
if (offset !== undefined) result.readHll = nip45.hllEncode(hll);

relay.close();
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
