// Side by side, what a client asks about the people it follows, on two running relays (ours and a peer such as strfry):
// their profiles ({authors:[50],kinds:[0]}) and their notes ({authors:[50],kinds:[1],limit:20}). Not part of test.sh.
//   node follow-list-bench.mjs --a ws://127.0.0.1:PORT --a-pid N --b ws://127.0.0.1:PORT --b-pid N [--rounds 3] [--queries 2000]
// Both relays get the same 1,000 authors, each with a profile and 40 notes (signed once, cached in the temp folder),
// then rounds alternate A, B, A, B...: 8 connections, each REQ → EOSE → CLOSE in turn. Prints a markdown table: queries/s
// and relay CPU per query (/proc/PID/stat) per round, and the medians' ratio A/B.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const { default: WebSocket } = await import('ws');
const { finalizeEvent, getPublicKey } = await import('nostr-tools/pure');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const rounds = Number(args.rounds ?? 3), queries = Number(args.queries ?? 2000), authorsCount = 1000, notesEach = 40, follows = 50;
const sides = [{ name: 'A', url: args.a, pid: args['a-pid'] }, { name: 'B', url: args.b, pid: args['b-pid'] }];
if (!sides.every(s => s.url && s.pid)) throw new Error('usage: --a URL --a-pid N --b URL --b-pid N [--rounds R] [--queries Q]');

// ---- the data set, signed once ----
const cache = path.join(os.tmpdir(), `follow-list-bench-${authorsCount}x${notesEach}.jsonl`);
let events, pubkeys;
if (fs.existsSync(cache)) {
  const lines = fs.readFileSync(cache, 'utf8').split('\n').filter(Boolean);
  pubkeys = JSON.parse(lines[0]);
  events = lines.slice(1).map(line => JSON.parse(line));
} else {
  const now = Math.floor(Date.now() / 1000);
  events = [];
  pubkeys = [];
  for (let a = 0; a < authorsCount; a++) {
    const sk = createHash('sha256').update(`follow-list-bench author ${a}`).digest();
    pubkeys.push(getPublicKey(sk));
    events.push(finalizeEvent({ kind: 0, created_at: now - 40 * 86400 - a, tags: [], content: JSON.stringify({ name: `author ${a}` }) }, sk));
    for (let n = 0; n < notesEach; n++)
      events.push(finalizeEvent({ kind: 1, created_at: now - Math.floor(Math.random() * 30 * 86400), tags: [], content: `note ${n} of author ${a}` }, sk));
  }
  fs.writeFileSync(cache, JSON.stringify(pubkeys) + '\n' + events.map(e => JSON.stringify(e)).join('\n') + '\n');
}

const open = url => new Promise((resolve, reject) => { const ws = new WebSocket(url); ws.on('open', () => resolve(ws)); ws.on('error', reject); });
const cpuSeconds = pid => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (+fields[11] + +fields[12]) / 100;   // utime + stime, in USER_HZ (100)
};

async function publish(url) {
  const sockets = await Promise.all([0, 1, 2, 3].map(() => open(url)));
  await Promise.all(sockets.map((ws, s) => new Promise(resolve => {
    const mine = events.filter((_, i) => i % sockets.length === s);
    let sent = 0, answered = 0;
    const pump = () => { while (sent < mine.length && sent - answered < 64) ws.send(JSON.stringify(['EVENT', mine[sent++]])); };
    ws.on('message', data => { if (JSON.parse(data)[0] === 'OK' && ++answered === mine.length) resolve(); else pump(); });
    pump();
  })));
  sockets.forEach(ws => ws.close());
}

function pick(random) { const out = []; for (let i = 0; i < follows; i++) out.push(pubkeys[Math.floor(random() * pubkeys.length)]); return out; }
function seeded(seed) { let x = seed; return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648); }

async function run(side, shape, seed) {
  const sockets = await Promise.all(Array.from({ length: 8 }, () => open(side.url)));
  const random = seeded(seed);
  let next = 0, done = 0, received = 0;
  const cpu0 = cpuSeconds(side.pid), t0 = performance.now();
  await Promise.all(sockets.map((ws, s) => new Promise(resolve => {
    let id = null;
    const ask = () => {
      if (next >= queries) return resolve();
      id = `q${s}-${next++}`;
      ws.send(JSON.stringify(['REQ', id, shape(random)]));
    };
    ws.on('message', data => {
      const m = JSON.parse(data);
      if (m[0] === 'EVENT' && m[1] === id) received++;
      else if ((m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === id) { ws.send(JSON.stringify(['CLOSE', id])); done++; ask(); }
    });
    ask();
  })));
  const seconds = (performance.now() - t0) / 1000, cpu = cpuSeconds(side.pid) - cpu0;
  sockets.forEach(ws => ws.close());
  return { perSecond: done / seconds, cpuMs: (cpu * 1000) / done, perQuery: received / done };
}

const shapes = [
  ['{authors:[50],kinds:[0]}', random => ({ authors: pick(random), kinds: [0] })],
  ['{authors:[50],kinds:[1],limit:20}', random => ({ authors: pick(random), kinds: [1], limit: 20 })],
];
for (const side of sides) await publish(side.url);
const median = values => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
console.log(`${events.length} events of ${authorsCount} authors on each relay; ${queries} REQs a round over 8 connections, ${rounds} rounds each, A and B alternating.`);
console.log('\n| shape | A queries/s (rounds) | B queries/s (rounds) | A/B | A relay CPU per query | B relay CPU per query | events per query A / B |');
console.log('|---|---|---|---|---|---|---|');
let seed = 1;
for (const [label, shape] of shapes) {
  await run(sides[0], shape, 999); await run(sides[1], shape, 999);   // untimed: caches and the JIT first
  const results = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) { for (const side of sides) results[side.name].push(await run(side, shape, seed)); seed++; }
  const [a, b] = [results.A, results.B];
  const fmt = list => list.map(x => Math.round(x.perSecond)).join(', ');
  console.log(`| ${label} | ${Math.round(median(a.map(x => x.perSecond)))} (${fmt(a)}) | ${Math.round(median(b.map(x => x.perSecond)))} (${fmt(b)}) | ` +
    `${(median(a.map(x => x.perSecond)) / median(b.map(x => x.perSecond))).toFixed(3)} | ${median(a.map(x => x.cpuMs)).toFixed(3)} ms | ` +
    `${median(b.map(x => x.cpuMs)).toFixed(3)} ms | ${median(a.map(x => x.perQuery)).toFixed(1)} / ${median(b.map(x => x.perQuery)).toFixed(1)} |`);
}
process.exit(0);
