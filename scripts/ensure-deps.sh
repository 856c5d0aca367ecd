#!/usr/bin/env bash
# Brings a checkout to a runnable state: node modules (from the lock file), the local tools, a fresh build.
# Idempotent and quick when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command -v node >/dev/null 2>&1 || { echo "[setup] Node.js 20 or newer is required: https://nodejs.org/" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "[setup] Node.js $(node --version) is too old: version 20 or newer is required." >&2; exit 1; }

# npm ci only when the lock file changed since the last install.
if [[ ! -f node_modules/.package-lock.json ]] || ! cmp -s package-lock.json node_modules/.install-stamp; then
  echo "[setup] installing node modules (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.install-stamp
fi

bash scripts/setup-tools.sh

echo "[setup] building (tsc)" >&2
npm run --silent build
