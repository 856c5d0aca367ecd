#!/usr/bin/env bash
# `npm test`: set up what is missing (node modules, Temporal binaries, the database, build), then run every test layer:
# unit, workflows (time-skipping server), contract (Graph client against the emulator), integration and end to end
# (real Temporal dev server and the local database, started and stopped by the harness). Extra arguments go to jest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/ensure-deps.sh

results="$ROOT/.data/test-results.json"
mkdir -p "$(dirname "$results")"
rm -f "$results"
status=0
npx jest --ci --json --outputFile="$results" "$@" || status=$?

# One plain closing line, whatever the runner prints before it.
if [[ -f "$results" ]]; then
  node -e '
    const r = require(process.argv[1]);
    const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
    console.log(`Tests: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests} skipped`);
  ' "$results"
fi
exit "$status"
