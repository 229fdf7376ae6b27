#!/usr/bin/env bash
# The test command (README: `npm install && npm test`). Type check, build, unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/bun.sh

echo "== type check (tsc --noEmit)"
node_modules/.bin/tsc --noEmit -p .

echo "== build dist/roam"
"$BUN" build.ts

echo "== unit tests"
"$BUN" test --timeout 60000 tests/unit
