// Long-running signer for the C# tests: one JSON request per stdin line, one JSON answer per stdout line,
// in the same order. Exits when stdin closes.
//   {"sk":"<64 hex>","event":{"kind":1,"created_at":1,"tags":[],"content":""}}  -> the event finalized by nostr-tools
//   {"op":"pubkey","sk":"<64 hex>"}                                           -> {"pubkey":"<64 hex>"}
//   {"op":"hash","event":{"pubkey":..,"created_at":..,"kind":..,"tags":..,"content":..}} -> {"id":"<64 hex>"}
//   {"op":"mine","sk":..,"event":{..},"difficulty":N,"commit":M?} -> the event with a NIP-13 ["nonce", n, target] tag
//     whose id has at least N leading zero bits; the tag commits M when given (so M below N is a lucky-looking miner).
// A created_at given as a string of digits is signed exactly (a JSON number past 2^53 would lose digits in JavaScript):
// nostr-tools' own serialization with the digits put in place of the number, then its schnorr signature.
// A request that fails gets {"error":"..."} so the caller never waits for a line that will not come.
import { createInterface } from 'node:readline';
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
// Loaded after the version check so an old Node says why instead of failing to link the module.
const { finalizeEvent, getPublicKey, getEventHash } = await import('nostr-tools/pure');
const { minePow, getPow } = await import('nostr-tools/nip13');
const { makeAuthEvent } = await import('nostr-tools/nip42');
const { hexToBytes, bytesToHex } = await import('@noble/hashes/utils.js');
const { sha256 } = await import('@noble/hashes/sha2.js');
const { schnorr } = await import('@noble/curves/secp256k1.js');

function secretKey(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new Error('sk must be 64 lowercase hex characters');
  return hexToBytes(hex);
}

function template(e) {
  if (e === null || typeof e !== 'object') throw new Error('event must be an object');
  return { kind: e.kind, created_at: e.created_at, tags: e.tags, content: e.content };
}

// NIP-01 field order, so the line equals the relay's serialization byte for byte.
function ordered({ id, pubkey, created_at, kind, tags, content, sig }) {
  return { id, pubkey, created_at, kind, tags, content, sig };
}

function sign(t, sk) {
  if (typeof t.created_at === 'string') return signExact(t, sk);
  return ordered(finalizeEvent(t, sk));
}

// created_at as exact digits: serialized with 0 in its place, then the digits spliced in. The canonical array starts
// [0,"<64 hex pubkey>", so the number is always at the same offset.
function signExact(t, sk) {
  if (!/^[0-9]+$/.test(t.created_at)) throw new Error('created_at must be digits');
  const pubkey = getPublicKey(sk);
  const at = '[0,"'.length + 64 + '",'.length;
  const serialized = JSON.stringify([0, pubkey, 0, t.kind, t.tags, t.content]);
  const canonical = serialized.slice(0, at) + t.created_at + serialized.slice(at + 1);
  const id = bytesToHex(sha256(new TextEncoder().encode(canonical)));
  const sig = bytesToHex(schnorr.sign(hexToBytes(id), sk));
  const line = JSON.stringify(ordered({ id, pubkey, created_at: 0, kind: t.kind, tags: t.tags, content: t.content, sig }));
  return { line: line.replace('"created_at":0,', `"created_at":${t.created_at},`) };
}

// NIP-13. Without a separate commitment, nostr-tools' minePow (which also sets created_at to now); with one, the same
// search over a nonce tag whose target is the commitment, at the template's created_at.
function mine(request) {
  const sk = secretKey(request.sk);
  const difficulty = request.difficulty;
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > 32) throw new Error('difficulty must be 0..32');
  const event = { ...template(request.event), pubkey: getPublicKey(sk) };
  event.tags = [...(event.tags ?? [])];
  const commit = request.commit ?? difficulty;
  if (commit === difficulty) {
    minePow(event, difficulty);
  } else {
    const nonce = ['nonce', '0', String(commit)];
    event.tags.push(nonce);
    for (let n = 1; ; n++) {
      nonce[1] = String(n);
      if (getPow(getEventHash(event)) >= difficulty) break;
    }
  }
  return sign(template(event), sk);
}

function handle(request) {
  switch (request.op ?? 'sign') {
    case 'sign':
      return sign(template(request.event), secretKey(request.sk));
    case 'mine':
      return mine(request);
    case 'auth': {
      // NIP-42 through nostr-tools' own helper; created_at may be moved to make a stale one.
      const template = makeAuthEvent(request.relay, request.challenge);
      if (typeof request.created_at === 'number') template.created_at = request.created_at;
      return sign(template, secretKey(request.sk));
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
    const result = handle(JSON.parse(line));
    answer = result.line ?? JSON.stringify(result);   // an exact created_at comes back as its written line
  } catch (err) {
    answer = JSON.stringify({ error: String(err?.message ?? err) });
  }
  // Writes to a pipe are synchronous on Linux, so each answer is flushed before the next line is read.
  process.stdout.write(answer + '\n');
}
