#!/usr/bin/env bash
# Installs what the interop tests need, idempotently, on Debian (run as root):
# an unmodified strongSwan (charon-systemd run in the foreground, swanctl, pki, extra plugins such as
# kernel-libipsec and eap-mschapv2) and the network tools the harness drives.
# Nothing is fetched when everything is already there; `apt-get update` runs once, only when needed.
set -euo pipefail

PACKAGES=(
  charon-systemd strongswan-swanctl libcharon-extra-plugins strongswan-pki
  libstrongswan-standard-plugins libcharon-extauth-plugins
  iproute2 iptables tcpdump conntrack iperf3 openssl iputils-ping
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "interop deps: all present (${PACKAGES[*]})"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "interop deps: missing ${missing[*]}; run this script as root to install them" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
# iperf3 asks whether to start a system daemon: answer no before it is asked.
echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections

# No service may start during the install (there is usually no systemd here, and a charon the package
# starts would hold /run/charon.* and port 500). Debian's policy-rc.d convention says "101: forbidden";
# install a temporary one only when the machine has none, and remove exactly that one afterwards.
POLICY=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
  if [ "$own_policy" = 1 ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# temporary, from roam tests/interop/install-deps.sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  own_policy=1
fi

# pids of running charons, read from /proc (a minimal Debian has no pgrep).
charon_pids() {
  local f comm
  for f in /proc/[0-9]*/comm; do
    comm=$(cat "$f" 2>/dev/null) || continue
    case "$comm" in charon | charon-systemd) f=${f#/proc/}; echo "${f%/comm}" ;; esac
  done
}
# charons already running before we install (not ours: never touched).
before=$(charon_pids)

echo "interop deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

# A postinst that started a charon anyway (by some other path) leaves a stray daemon: stop those pids.
for pid in $(charon_pids); do
  case " $(echo $before) " in *" $pid "*) continue ;; esac
  echo "interop deps: stopping charon pid $pid started by the package install"
  kill "$pid" 2>/dev/null || true
done

for bin in charon-systemd swanctl pki ip iptables tcpdump conntrack iperf3 openssl ping; do
  command -v "$bin" >/dev/null || { echo "interop deps: $bin not found after install" >&2; exit 1; }
done
echo "interop deps: installed"
