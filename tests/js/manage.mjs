// NIP-86 through nostr-tools' NIP-98 helper (nostr-tools/nip98 getToken, which hashes the body into the payload tag):
// POSTs each call to the relay's URL with Content-Type application/nostr+json+rpc and prints one JSON line, an array
// of {"status": n, "body": {...}}. A call may ask for a broken authorization, to see it refused:
// "auth": "none" | "replay" (the previous call's header again) | "url" (signed for another URL) |
// "payload" (signed for another body) | "old" (created two minutes ago) | "method" (signed for GET); and may be
// posted to another URL ("post") or signed for another relay URL ("u": the URL a load balancer's clients use).
// Usage: node manage.mjs <http-url> <secret key hex> '<[{"method":..., "params":[...], "auth":...}, ...]>'
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const nip98 = await import('nostr-tools/nip98');
const { finalizeEvent } = await import('nostr-tools/pure');
const { hexToBytes } = await import('@noble/hashes/utils.js');
const { sha256 } = await import('@noble/hashes/sha2.js');
const { bytesToHex } = await import('@noble/hashes/utils.js');

const [url, sk, callsJson] = process.argv.slice(2);
const key = hexToBytes(sk);
const sign = template => finalizeEvent(template, key);
const results = [];
let previous;
for (const call of JSON.parse(callsJson)) {
  const request = { method: call.method, params: call.params ?? [] };
  const body = JSON.stringify(request);
  const target = call.post ?? url;
  const signedFor = call.u ?? target;
  let header;
  switch (call.auth) {
    case 'none': header = undefined; break;
    case 'replay': header = previous; break;
    case 'url': header = await nip98.getToken('http://another.relay.example/', 'POST', sign, true, request); break;
    case 'payload': header = await nip98.getToken(signedFor, 'POST', sign, true, { method: 'supportedmethods', params: [] }); break;
    case 'method': header = await nip98.getToken(signedFor, 'GET', sign, true, request); break;
    case 'old': {
      const event = sign({ kind: 27235, created_at: Math.floor(Date.now() / 1000) - 120, content: '',
        tags: [['u', signedFor], ['method', 'POST'], ['payload', bytesToHex(sha256(new TextEncoder().encode(body)))]] });
      header = 'Nostr ' + Buffer.from(JSON.stringify(event)).toString('base64');
      break;
    }
    default: header = await nip98.getToken(signedFor, 'POST', sign, true, request);
  }
  previous = header;
  const headers = { 'Content-Type': 'application/nostr+json+rpc' };
  if (header) headers.Authorization = header;
  const response = await fetch(target, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  results.push({ status: response.status, body: parsed });
}
process.stdout.write(JSON.stringify(results) + '\n');
