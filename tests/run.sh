#!/usr/bin/env bash
# The test command (README: `npm install && npm test`): type check, build, unit tests, interop tests.
# On a fresh Debian machine with Node and npm, as root, it first installs the Debian packages the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/bun.sh

# First, because unit tests use the openssl command too (files made at test time), not only interop.
if [ "$(id -u)" -eq 0 ]; then
  echo "== test dependencies (Debian packages)"
  bash tests/interop/install-deps.sh
fi

echo "== type check (tsc --noEmit)"
node_modules/.bin/tsc --noEmit -p .

echo "== build dist/roam"
"$BUN" build.ts

echo "== unit tests"
"$BUN" test --timeout 60000 tests/unit

echo "== interop tests (strongSwan gateway in network namespaces)"
[ "$(id -u)" -eq 0 ] || echo "not root: the interop tests will report themselves skipped"
# The 20%-loss transfer takes 23 s to 6 minutes of mostly waiting: it runs beside the serial suite, on its own stage.
slow_log=$(mktemp /tmp/roam-interop-slow.XXXXXX)
"$BUN" test --timeout 900000 ./tests/interop/roam-lossy.slow.ts >"$slow_log" 2>&1 &
slow_pid=$!
# The trap keeps the script's exit status: under set -e a failing kill (the job already reaped) would make it 1.
trap 'rc=$?; set +e; kill "$slow_pid" 2>/dev/null; wait "$slow_pid" 2>/dev/null; rm -f "$slow_log"; exit $rc' EXIT
suite=0
"$BUN" test --timeout 180000 tests/interop || suite=$?
slow=0
wait "$slow_pid" || slow=$?
echo "== interop, run beside the suite: tests/interop/roam-lossy.slow.ts"
cat "$slow_log"
[ "$suite" -eq 0 ] && [ "$slow" -eq 0 ]
