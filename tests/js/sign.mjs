// Long-running signer for the C# tests: one JSON request per stdin line, one JSON answer per stdout line,
// in the same order. Exits when stdin closes.
//   {"sk":"<64 hex>","event":{"kind":1,"created_at":1,"tags":[],"content":""}}  -> the event finalized by nostr-tools
//   {"op":"pubkey","sk":"<64 hex>"}                                           -> {"pubkey":"<64 hex>"}
//   {"op":"hash","event":{"pubkey":..,"created_at":..,"kind":..,"tags":..,"content":..}} -> {"id":"<64 hex>"}
// A request that fails gets {"error":"..."} so the caller never waits for a line that will not come.
import { createInterface } from 'node:readline';
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
// Loaded after the version check so an old Node says why instead of failing to link the module.
const { finalizeEvent, getPublicKey, getEventHash } = await import('nostr-tools/pure');
const { hexToBytes } = await import('@noble/hashes/utils.js');

function secretKey(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new Error('sk must be 64 lowercase hex characters');
  return hexToBytes(hex);
}

function template(e) {
  if (e === null || typeof e !== 'object') throw new Error('event must be an object');
  return { kind: e.kind, created_at: e.created_at, tags: e.tags, content: e.content };
}

function handle(request) {
  switch (request.op ?? 'sign') {
    case 'sign': {
      const signed = finalizeEvent(template(request.event), secretKey(request.sk));
      // NIP-01 field order, so the line equals the relay's serialization byte for byte.
      const { id, pubkey, created_at, kind, tags, content, sig } = signed;
      return { id, pubkey, created_at, kind, tags, content, sig };
    }
    case 'pubkey':
      return { pubkey: getPublicKey(secretKey(request.sk)) };
    case 'hash':
      return { id: getEventHash({ ...template(request.event), pubkey: request.event.pubkey }) };
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === '') continue;
  let answer;
  try {
    answer = handle(JSON.parse(line));
  } catch (err) {
    answer = { error: String(err?.message ?? err) };
  }
  // Writes to a pipe are synchronous on Linux, so each answer is flushed before the next line is read.
  process.stdout.write(JSON.stringify(answer) + '\n');
}
