// One-off generator of tests/Unit.Tests/Fixtures/nostr-tools-events.json: events signed by nostr-tools
// (the reference client) with contents that stress canonical JSON. Run `node make-fixtures.mjs` after
// `npm ci`; ids are deterministic (fixed keys and fields), signatures are not (BIP-340 aux randomness).
//
// For each event the file holds:
//   event      the finalized event, keys in NIP-01 order
//   json       JSON.stringify(event) with keys id, pubkey, created_at, kind, tags, content, sig: what the
//              relay's serialization must equal byte for byte
//   idPayload  nostr-tools serializeEvent(event): the array whose SHA-256 is the id
// loneSurrogates holds strings JavaScript can hash but a relay cannot read back as .NET strings; their
// text is given as UTF-16 code units, because a JSON reader cannot carry a lone surrogate.
import { writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { assertNodeVersion } from './check-node.mjs';

assertNodeVersion();
const { finalizeEvent, getPublicKey, getEventHash, serializeEvent } = await import('nostr-tools/pure');
const { hexToBytes } = await import('@noble/hashes/utils.js');

const output = new URL('../Unit.Tests/Fixtures/nostr-tools-events.json', import.meta.url);
const nostrToolsVersion = JSON.parse(readFileSync(new URL('./node_modules/nostr-tools/package.json', import.meta.url))).version;

// Fixed keys: a few edge values of the scalar range and some derived from labels.
const labelKey = (label) => createHash('sha256').update(`nostr-relay fixture key ${label}`).digest('hex');
const keys = [
  '0000000000000000000000000000000000000000000000000000000000000001',
  '0000000000000000000000000000000000000000000000000000000000000003',
  'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140', // n - 1
  '7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', // (n - 1) / 2
  labelKey('alice'),
  labelKey('bob'),
  labelKey('carol'),
  labelKey('dave'),
].map((sk) => ({ sk, pubkey: getPublicKey(hexToBytes(sk)) }));

const allControls = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('');
const mixedBlock = 'plain ascii, "quotes" and \\ backslashes\n\ttabs \u0000 nul \u001f unit sep \u007f del '
  + '\u2028\u2029 separators é e\u0301 日本語 한국어 😀👩‍👩‍👧 𝄞 </script> <&> \u00a0 \ufeff | ';

const cases = [
  ['plain ascii', { content: 'hello nostr' }],
  ['empty content and empty tags', { content: '', tags: [] }],
  ['emoji', { content: '🤙🏽 gm ⚡️ 👩‍👩‍👧 🏳️‍🌈 1️⃣' }],
  ['line and paragraph separators U+2028 U+2029', { content: 'a\u2028b\u2029c' }],
  ['U+007F and C1 controls', { content: '~\u007f\u0080\u0085\u009f\u00a0' }],
  ['every control character 0x00-0x1F', { content: allControls }],
  ...Array.from({ length: 0x20 }, (_, i) => [
    `control character 0x${i.toString(16).padStart(2, '0')}`,
    { content: `<${String.fromCharCode(i)}>`, tags: [['c', String.fromCharCode(i)]] },
  ]),
  ['quotes and backslashes', { content: 'He said "hi" \\ C:\\path\\ \\\\ \\" \\n \'single\' `back`' }],
  ['literal backslash-u text', { content: '\\u00e9 \\u0000 \\ud83d\\ude00 \\"' }],
  ['solidus is not escaped', { content: 'https://example.com/a/b </ //' }],
  ['script end tag', { content: '</script><script>alert("x")</script><!--' }],
  ['HTML characters', { content: '<b>bold</b> & &amp; &lt; \' " = + `' }],
  ['non-BMP characters', { content: '𝄞 𠜎 🀄 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10ffff} \u{1f600}' }],
  ['CJK', { content: '日本語のテキスト、中文文本。한국어 텍스트' }],
  ['e acute composed U+00E9', { content: 'caf\u00e9' }],
  ['e acute decomposed e U+0301', { content: 'cafe\u0301' }],
  ['BOM, U+FFFD, U+FFFF, zero width and bidi marks', { content: '\ufeff\ufffd\uffff\u200b\u200d\u202e\u2066' }],
  ['tags with empty strings and an empty tag', { tags: [['', ''], ['e'], [], ['p', '', '']], content: 'x' }],
  ['unicode in tags', { tags: [['t', 'café'], ['emoji', '🤙', 'https://x/🤙.png'], ['subject', '日本\u2028\n"q"\\'], ['\u0000', '\u001f\u007f']] }],
  ['many tags', { tags: Array.from({ length: 300 }, (_, i) => ['t', `tag${i}`, '🏷️']), content: 'many' }],
  ['long content crossing buffer sizes', { content: mixedBlock.repeat(200) }],
  ['very large created_at (2^53 - 1)', { created_at: Number.MAX_SAFE_INTEGER }],
  ['created_at 0', { created_at: 0 }],
  ['kind 0', { kind: 0, content: '{"name":"alice","about":"line\\nbreak"}' }],
  ['kind 65535', { kind: 65535 }],
  ['addressable kind with d tag', { kind: 30023, tags: [['d', 'my-article'], ['title', 'Über']], content: '# Title\n\nbody' }],
  ['ephemeral kind', { kind: 20001, tags: [['p', keys[5].pubkey]] }],
  ['JSON inside content', { content: JSON.stringify({ a: [1, 2, { b: 'c"d' }], e: '\u2028' }) }],
  ['whitespace only', { content: ' \t\r\n \u3000' }],
];

const events = cases.map(([name, fields], i) => {
  const key = keys[i % keys.length];
  const template = {
    kind: fields.kind ?? 1,
    created_at: fields.created_at ?? 1700000000 + i,
    tags: fields.tags ?? [['t', 'fixture']],
    content: fields.content ?? `case ${i}`,
  };
  const signed = finalizeEvent(structuredClone(template), hexToBytes(key.sk));
  const { id, pubkey, created_at, kind, tags, content, sig } = signed;
  const event = { id, pubkey, created_at, kind, tags, content, sig };
  return { name, sk: key.sk, event, json: JSON.stringify(event), idPayload: serializeEvent(event) };
});

const codeUnits = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
const loneSurrogates = [
  ['lone high surrogate', { content: 'a\ud800b', tags: [] }],
  ['lone low surrogate', { content: '\udfff', tags: [] }],
  ['reversed pair', { content: '\ude00\ud83d', tags: [] }],
  ['high surrogate at the end', { content: 'x\udbff', tags: [['t', '\udc00']] }],
].map(([name, fields], i) => {
  const evt = { pubkey: keys[0].pubkey, created_at: 1700001000 + i, kind: 1, tags: fields.tags, content: fields.content };
  return {
    name,
    pubkey: evt.pubkey,
    created_at: evt.created_at,
    kind: evt.kind,
    tagsUtf16: evt.tags.map((tag) => tag.map(codeUnits)),
    contentUtf16: codeUnits(evt.content),
    id: getEventHash(evt),
    idPayload: serializeEvent(evt),
  };
});

const fixture = { generator: `tests/js/make-fixtures.mjs, nostr-tools ${nostrToolsVersion}`, keys, events, loneSurrogates };
writeFileSync(output, JSON.stringify(fixture, null, 1) + '\n');
console.log(`wrote ${events.length} events, ${loneSurrogates.length} lone-surrogate cases, ${keys.length} keys to ${output.pathname}`);
