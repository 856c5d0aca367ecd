#!/usr/bin/env bash
# `npm start`: set up what is missing, then run the whole local stack (Ctrl-C stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/ensure-deps.sh
exec node --import tsx scripts/start-stack.ts
