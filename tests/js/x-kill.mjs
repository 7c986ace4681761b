const { default: WebSocket } = await import('ws');
const { Relay, useWebSocketImplementation } = await import('nostr-tools/relay');
const { generateSecretKey, getPublicKey, finalizeEvent } = await import('nostr-tools/pure');
useWebSocketImplementation(WebSocket);
const [pubUrl, ...subUrls] = process.argv.slice(2);
const authors = Array.from({length: 8}, () => generateSecretKey());
const pks = authors.map(getPublicKey);
const got = {}; const seen = {}; const t0g = Date.now();
for (const u of subUrls) { got[u] = new Map(); const r = await Relay.connect(u); await new Promise(res => r.subscribe([{authors:pks}], { onevent(e){ got[u].set(e.id, (got[u].get(e.id)||0)+1); (seen[u] ||= []).push([Date.now()-t0g, e.created_at, e.content]); }, oneose: res })); }
const p = await Relay.connect(pubUrl);
const ok = new Set(); let fails = 0; const t0 = Date.now(); let lastFailAt = 0, firstFailAt = 0;
for (let i = 0; Date.now() - t0 < 25000; i++) {
  const e = finalizeEvent({kind:1, created_at: Math.floor(Date.now()/1000), tags:[], content: 'n'+i}, authors[i % 8]);
  try { await p.publish(e); ok.add(e.id); } catch (err) { fails++; if (!firstFailAt) firstFailAt = Date.now()-t0; lastFailAt = Date.now()-t0; if (fails < 3) console.log('fail', String(err)); }
  await new Promise(r => setTimeout(r, 10));
}
await new Promise(r => setTimeout(r, 3000));
console.log('ok', ok.size, 'fails', fails, 'firstFail', firstFailAt, 'lastFail', lastFailAt);
for (const u of subUrls) { let missing = 0, dup = 0; for (const id of ok) { const c = got[u].get(id)||0; if (c===0) missing++; if (c>1) { dup++; } } const dups = seen[u].filter(x => got[u].get(seen[u].find(y=>y[2]==x[2]) && [...got[u].keys()][0]) );  console.log(u, 'received', got[u].size, 'missing', missing, 'dup', dup); }
for (const u of subUrls) { const count = {}; for (const x of seen[u]) count[x[2]] = (count[x[2]]||0)+1; const d = seen[u].filter(x => count[x[2]] > 1); if (d.length) console.log(u, JSON.stringify(d)); }
process.exit(0);
