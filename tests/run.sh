#!/usr/bin/env bash
# The test command (README: `npm install && npm test`): type check, build, unit tests, interop tests.
# On a fresh Debian machine with Node and npm, as root, it installs what the interop tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/bun.sh

echo "== type check (tsc --noEmit)"
node_modules/.bin/tsc --noEmit -p .

echo "== build dist/roam"
"$BUN" build.ts

echo "== unit tests"
"$BUN" test --timeout 60000 tests/unit

echo "== interop tests (strongSwan gateway in network namespaces)"
if [ "$(id -u)" -eq 0 ]; then
  bash tests/interop/install-deps.sh
else
  echo "not root: the interop tests will report themselves skipped"
fi
"$BUN" test --timeout 180000 tests/interop
