#!/usr/bin/env bash
# `npm run bench`: the benchmarks under tests/bench, each printing its figures and, measured in the same
# run, the reference they are compared with. Never part of the test command.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/bun.sh
"$BUN" tests/bench/esp.ts "$@"
