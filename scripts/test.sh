#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, then runs every test
# (type check, lint, unit, privileged and end-to-end).
set -euo pipefail
. "$(dirname "$0")/as-root.sh"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm test
