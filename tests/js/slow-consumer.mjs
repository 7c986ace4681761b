// Slow consumers, measured (not a test): a firehose flows while subscribers that read nothing are subscribed to it.
//   node tests/js/slow-consumer.mjs --url ws://127.0.0.1:PORT --pid RELAY_PID [--slow 4] [--rate 200] [--seconds 30] [--size 4000]
// Phase 1 (baseline): one honest subscriber follows a paced firehose of kind-1 events of --size bytes for --seconds.
// Phase 2 (slow): the same, while --slow more connections subscribe to the same events and never read.
// Prints one JSON line per phase: honest deliveries / missing / p50 / p99 (ms, send to read), relay RSS at start,
// peak and end (MiB, sampled every 100 ms), and what the slow connections saw when they finally read (CLOSED frames,
// close code and reason), so a relay that bounds them shows flat memory and an unchanged honest p99.
import fs from 'node:fs';
import WebSocket from 'ws';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const url = args.url, pid = args.pid;
const slowCount = Number(args.slow ?? 4), rate = Number(args.rate ?? 200), seconds = Number(args.seconds ?? 30), size = Number(args.size ?? 4000);
if (!url || !pid) { console.error('usage: --url ws://... --pid N'); process.exit(2); }

const rssMiB = () => Math.round(Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024);
const open = u => new Promise((resolve, reject) => { const ws = new WebSocket(u); ws.once('open', () => resolve(ws)); ws.once('error', reject); });
const percentile = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;

async function phase(name, slow) {
  const sk = generateSecretKey();
  const tag = `${name}-${Date.now()}`;
  const filter = { kinds: [1], '#t': [tag], since: Math.floor(Date.now() / 1000) - 5 };   // live only: nothing stored matches yet
  const publisher = await open(url);
  const honest = await open(url);
  const sentAt = new Map(), latencies = [];
  honest.on('message', data => {
    const frame = JSON.parse(data.toString());
    if (frame[0] === 'EVENT' && sentAt.has(frame[2].id)) { latencies.push(Date.now() - sentAt.get(frame[2].id)); sentAt.delete(frame[2].id); }
  });
  honest.send(JSON.stringify(['REQ', 'honest', filter]));
  const slowSockets = [];
  for (let i = 0; i < slow; i++) {
    const ws = await open(url);
    const seen = { closedFrames: 0, reason: null, code: null };
    ws.on('message', data => { const text = data.toString(); if (text.startsWith('["CLOSED"')) { seen.closedFrames++; seen.reason = JSON.parse(text)[2]; } });
    ws.on('close', (code, reason) => { seen.code = code; seen.closeReason = reason.toString(); });
    ws.send(JSON.stringify(['REQ', 'slow', filter]));
    setTimeout(() => ws._socket.pause(), 200);
    slowSockets.push({ ws, seen });
  }
  await new Promise(r => setTimeout(r, 500));
  // Signed before timing: the client's own signing must not show as relay latency.
  const content = 'x'.repeat(size);
  const total = rate * seconds;
  const now = Math.floor(Date.now() / 1000);
  const frames = [];
  for (let i = 0; i < total; i++) {
    const evt = finalizeEvent({ kind: 1, created_at: now, tags: [['t', tag]], content: content + i }, sk);
    frames.push([evt.id, JSON.stringify(['EVENT', evt])]);
  }
  const rssStart = rssMiB();
  let rssPeak = rssStart;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssMiB()); }, 100);
  let published = 0;
  const started = Date.now();
  while (published < total) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (published < Math.min(due, total)) {
      const [id, frame] = frames[published];
      sentAt.set(id, Date.now());
      publisher.send(frame);
      published++;
    }
    await new Promise(r => setTimeout(r, 5));
  }
  await new Promise(r => setTimeout(r, 2000));
  clearInterval(sampler);
  const rssEnd = rssMiB();
  for (const s of slowSockets) s.ws._socket.resume();
  await new Promise(r => setTimeout(r, 3000));
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    phase: name, published, delivered: latencies.length, missing: sentAt.size,
    p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
    rssStartMiB: rssStart, rssPeakMiB: rssPeak, rssEndMiB: rssEnd,
    slow: slowSockets.map(s => ({ closedFrames: s.seen.closedFrames, reason: s.seen.reason, closeCode: s.seen.code, closeReason: s.seen.closeReason })),
  }));
  for (const s of slowSockets) s.ws.terminate();
  publisher.close(); honest.close();
}

await phase('baseline', 0);
await phase('slow', slowCount);
process.exit(0);
