#!/usr/bin/env bash
# Clean rebuild of every bundle, then the committed dist must be unchanged. `git status
# --porcelain` (not `git diff`) so a new, untracked file in a dist fails too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node scripts/build.mjs
changes=$(git status --porcelain --untracked-files=all -- actions/*/dist cli/dist)
if [[ -n $changes ]]; then
  echo "check-dist: the committed bundles differ from a clean rebuild:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- actions/*/dist cli/dist >&2 || true
  echo "check-dist: run 'npm run build' and commit actions/*/dist and cli/dist" >&2
  exit 1
fi
echo "check-dist: bundles are current"
