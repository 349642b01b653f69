#!/usr/bin/env bash
# Installs whatever is missing on a fresh Debian machine: the Debian packages the
# daemon and its tests use, then the npm packages (which build the native addon).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(iproute2 nftables util-linux busybox-static dnsutils iputils-ping procps python3 make g++ socat arping conntrack runc libc6-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
