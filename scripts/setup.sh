#!/usr/bin/env bash
# Installs whatever is missing on a fresh Debian machine: the Debian packages the
# daemon and its tests use, then the npm packages (which build the native addon).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(iproute2 nftables util-linux busybox-static dnsutils iputils-ping procps python3 python3-docker make g++ socat arping conntrack runc libc6-dev docker-registry skopeo apache2-utils docker-compose tmux crun dnsmasq-base isc-dhcp-client etcd-server etcd-client containernetworking-plugins)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# The docker CLI suites (test/e2e/docker-cli, api-surface, unit cli-docker-diff)
# fail in CI without a docker CLI. Debian's docker.io brings one; a machine
# that already has a docker on PATH (e.g. /usr/local/bin/docker) keeps it.
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm runs on this machine's Node.js, which may be older than the 24 or 26
  # cnm needs (package.json "engines"); cnm itself runs on the Node.js 24 that
  # npm installs into node_modules (the `node` package). npm's EBADENGINE
  # warning about that older Node is therefore expected, and left out here.
  sys=$(node --version 2>/dev/null || echo none)
  echo "setup: npm ci (npm runs on this machine's Node.js $sys; cnm gets Node.js 24 in node_modules, then its native addons and JavaScript are built)"
  npm ci --no-audit --no-fund --foreground-scripts --engine-strict=false 2> >(grep -v '^npm warn EBADENGINE' >&2)
fi
