#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, then replays the seed's
# tutorial against a real cnm daemon in namespaces of its own.
set -euo pipefail
. "$(dirname "$0")/as-root.sh"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node_modules/.bin/node --disable-warning=ExperimentalWarning src/walkthrough/main.ts
