#!/usr/bin/env bash
# `npm run demo`: a real strongSwan gateway in network namespaces, and dist/roam connecting to it.
# Needs root (namespaces, TUN). Installs strongSwan and tools from Debian's apt when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/bun.sh
if [ "$(id -u)" -ne 0 ]; then
  echo "npm run demo needs root: it creates network namespaces and a TUN device" >&2
  exit 2
fi
bash tests/interop/install-deps.sh
"$BUN" build.ts
exec "$BUN" tests/demo/demo.ts
