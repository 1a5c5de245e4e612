#!/usr/bin/env bash
# Runs a tier of tests with node:test through tsx: unit | integration | lab | all.
# Node 20 neither expands globs nor finds .ts test files itself, so we list them here.
# Tiers that need root or Debian packages check for them in the test itself and skip with a
# printed reason when run unprivileged. Run as root, the integration and lab tiers (and all)
# first install what is missing with lab/setup.sh (idempotent; `--check` alone when everything
# is there), so `npm install && npm test` on a fresh Debian machine skips nothing, as in CI.
# ANVIL_TEST_SETUP=0 leaves the system alone.
set -euo pipefail
cd "$(dirname "$0")/.."
tier="${1:-all}"
shift || true
list() { for d in "$@"; do if [ -d "$d" ]; then find "$d" -name '*.test.ts'; fi; done | sort; }
unit() { list src test/unit; }
integration() { list test/integration; }
lab() { list test/e2e; }
case "$tier" in
  unit) files=$(unit) ;;
  integration) files=$(integration) ;;
  lab) files=$(lab) ;;
  all) files="$(unit) $(integration) $(lab)" ;;
  *) echo "usage: test/run.sh unit|integration|lab|all" >&2; exit 2 ;;
esac
if [ "$tier" != unit ] && [ "$(id -u)" = 0 ] && [ "${ANVIL_TEST_SETUP:-1}" != 0 ]; then
  if ! bash lab/setup.sh --check; then
    echo "test/run.sh: running as root with packages missing: bash lab/setup.sh"
    if ! bash lab/setup.sh; then
      echo "test/run.sh: lab/setup.sh failed; tests that need what it installs will say what is missing" >&2
      if [ "${CI:-}" = true ]; then exit 1; fi
    fi
  fi
fi
# shellcheck disable=SC2086
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 "$@" $files
