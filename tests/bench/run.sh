#!/usr/bin/env bash
# `npm run bench [-- --quick]`: the benchmarks under tests/bench, each printing its figures and, measured
# in the same run, the reference they are compared with. Never part of the test command.
#   1. esp.ts       ESP seal/open against the raw native AES-256-GCM cipher (no root needed);
#   2. keygen.ts    key exchange cold (fresh compiled process) and warm, native vs noble (no root needed);
#   3. netcfg.ts    a connect's host configuration and its undo, rtnetlink vs spawning `ip` (root);
#   4. datapath.ts  roam vs strongSwan libipsec vs plain routing through namespaces (root; installs
#                   strongSwan, iperf3 and the network tools when missing, and builds dist/roam afresh).
# --quick: short runs for development (3 s iperf3 runs, 3 connect samples, shorter ESP cases).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/bun.sh
quick=0
for a in "$@"; do [ "$a" = "--quick" ] && quick=1; done
if [ "$quick" = 1 ]; then export ESP_BENCH_SECONDS="${ESP_BENCH_SECONDS:-0.1}"; fi
"$BUN" tests/bench/esp.ts "$@"
"$BUN" tests/bench/keygen.ts "$@"
if [ "$(id -u)" -eq 0 ]; then "$BUN" tests/bench/netcfg.ts "$@"; fi
if [ "$(id -u)" -eq 0 ]; then bash tests/interop/install-deps.sh; fi
"$BUN" build.ts
"$BUN" tests/bench/datapath.ts "$@"
