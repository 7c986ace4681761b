// NIP-77 through nostr-tools' own negentropy (nostr-tools/nip77: Negentropy, NegentropyStorageVector), an
// implementation independent of the relay's: reads this side's records from stdin as JSON [[created_at, "id"], ...],
// (imported by its file: the package does not export it) sends NEG-OPEN with the filter over a plain WebSocket, answers every NEG-MSG until its side is done, sends NEG-CLOSE,
// and prints one JSON line: {"have":[ids],"need":[ids],"rounds":n,"sent":bytes,"received":bytes}, or
// {"error":"<NEG-ERR reason>","limit":n} when the relay refuses.
// Usage: node negentropy.mjs <ws-url> '<filter JSON>' [frame size limit] [secret key hex for NIP-42] < records.json
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const { default: WebSocket } = await import('ws');
const { Negentropy, NegentropyStorageVector } = await import('./node_modules/nostr-tools/lib/esm/nip77.js');
const { finalizeEvent } = await import('nostr-tools/pure');
const { hexToBytes } = await import('@noble/hashes/utils.js');

const [url, filterJson, frameLimit, sk] = process.argv.slice(2);
const filter = JSON.parse(filterJson);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const storage = new NegentropyStorageVector();
for (const [createdAt, id] of JSON.parse(input || '[]')) storage.insert(createdAt, id);
storage.seal();
const neg = new Negentropy(storage, frameLimit ? Number(frameLimit) : 60000);

const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
const have = [], need = [];
let rounds = 0, sent = 0, received = 0;
const subId = 'neg-' + Math.random().toString(36).slice(2, 8);
const send = frame => { const text = JSON.stringify(frame); sent += text.length; ws.send(text); };
const finish = result => { process.stdout.write(JSON.stringify(result) + '\n'); ws.close(); process.exit(0); };
setTimeout(() => { process.stderr.write('timeout\n'); process.exit(2); }, 120000);

let challenge;
ws.on('message', data => {
  const text = data.toString();
  received += text.length;
  const msg = JSON.parse(text);
  if (msg[0] === 'AUTH') { challenge = msg[1]; return; }
  if (msg[0] === 'OK' || msg[0] === 'NOTICE') { if (msg[0] === 'NOTICE') process.stderr.write(text + '\n'); return; }
  if (msg[1] !== subId) return;
  if (msg[0] === 'NEG-ERR') finish({ error: msg[2], limit: msg[3] });
  if (msg[0] !== 'NEG-MSG') return;
  rounds++;
  const next = neg.reconcile(msg[2], id => have.push(id), id => need.push(id));
  if (next) send(['NEG-MSG', subId, next]);
  else { send(['NEG-CLOSE', subId]); finish({ have, need, rounds, sent, received }); }
});
ws.on('open', async () => {
  if (sk) {
    while (!challenge) await new Promise(r => setTimeout(r, 5));
    const auth = finalizeEvent({ kind: 22242, created_at: Math.floor(Date.now() / 1000), content: '',
      tags: [['relay', url], ['challenge', challenge]] }, hexToBytes(sk));
    send(['AUTH', auth]);
    await new Promise(r => setTimeout(r, 200));
  }
  send(['NEG-OPEN', subId, filter, neg.initiate()]);
});
ws.on('error', err => { process.stderr.write(String(err) + '\n'); process.exit(3); });
