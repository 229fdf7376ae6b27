# Sourced by scripts: sets BUN to a working bun binary from node_modules.
# npm may skip bun's postinstall (install scripts not allowed), which can leave .bin/bun unusable;
# the platform package's binary works either way.
BUN=""
for cand in node_modules/.bin/bun node_modules/@oven/bun-linux-x64/bin/bun node_modules/@oven/bun-linux-x64-baseline/bin/bun; do
  if [ -x "$cand" ] && "$cand" --version >/dev/null 2>&1; then BUN="$cand"; break; fi
done
if [ -z "$BUN" ]; then echo "no working bun under node_modules: run npm install" >&2; exit 1; fi
export BUN
