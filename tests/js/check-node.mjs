// Fails clearly when Node is older than nostr-tools 2.x needs: its @noble/* 2.x dependencies declare
// "node": ">= 20.19.0" (require(esm) and newer ESM loading). Run directly (exit code 1 and a message on
// stderr) or import { assertNodeVersion } before loading nostr-tools dynamically.
import { fileURLToPath } from 'node:url';

export const MINIMUM = [20, 19, 0];

export function nodeVersionProblem(version = process.versions.node) {
  const have = version.split('.').map(Number);
  for (let i = 0; i < MINIMUM.length; i++) {
    if (have[i] > MINIMUM[i]) return null;
    if (have[i] < MINIMUM[i]) {
      return `Node ${version} is too old: tests/js needs Node >= ${MINIMUM.join('.')} (nostr-tools 2.x, @noble/* 2.x).`;
    }
  }
  return null;
}

export function assertNodeVersion() {
  const problem = nodeVersionProblem();
  if (problem) {
    process.stderr.write(problem + '\n');
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  assertNodeVersion();
  process.stdout.write(`node ${process.versions.node} ok\n`);
}
