#!/usr/bin/env bash
# Runs a tier of tests with node:test through tsx: unit | integration | lab | all.
# Node 20 neither expands globs nor finds .ts test files itself, so we list them here.
# Tiers that need root or Debian packages check for them in the test itself and skip with a
# printed reason when run unprivileged; CI runs as root after lab/setup.sh, so nothing skips there.
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
# shellcheck disable=SC2086
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 "$@" $files
