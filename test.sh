#!/usr/bin/env bash
# Runs every test of the relay. On a fresh Debian machine it first installs what the tests need:
# Debian's libsecp256k1 (signature verification), the nostr-tools test client (npm ci, Node >= 20.19).
# Ends with "N passed, N failed"; exits non-zero when a test failed.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ldconfig -p | grep -q 'libsecp256k1\.so\.1 '; then
  echo "== installing libsecp256k1-1 (Debian)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libsecp256k1-1 >/dev/null
fi

echo "== checking Node for the nostr-tools test client"
command -v node >/dev/null || { echo "Node.js >= 20.19 is required for the test client (tests/js); it is not installed." >&2; exit 1; }
node tests/js/check-node.mjs
if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

results=TestResults
rm -rf "$results"
echo "== building"
dotnet build Orleans.sln -c Release -nologo -v quiet
echo "== testing"
status=0
# One project at a time: each writes its own results file, and the end-to-end relays get the cores to themselves.
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build --nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" "$@" || status=$?
done

passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test failed without a test failure (build or host error)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
