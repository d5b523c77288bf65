#!/usr/bin/env bash
# The one test command (README "Test"; .ci/run runs it): sets up everything, then runs every
# suite - typecheck, lint, unit, integration (real sshd), workflow validation, check-dist,
# OpenTofu toolchain, the module, the lab end to end, and the reusable workflows run by a
# real runner (act). Every suite runs even when an earlier one fails; the summary at the end
# lists each and the exit code says whether all passed. Needs root for the lab (mount
# namespaces, one sshd per node).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CI="${CI:-false}"

started=$(date +%s)
results=$(mktemp)
trap 'rm -f "$results" "$results".*' EXIT

banner() { printf '\n=== %s ===\n' "$*"; }

# Setup failures stop everything: nothing can be tested without the tools.
banner "setup: system packages"
bash scripts/setup-system.sh
banner "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
banner "setup: Go-built tools (tofu + providers, actionlint, act, lab: etcd, kube-apiserver)"
bash scripts/setup-tools.sh
# shellcheck disable=SC1091
source .tools/env

total_passed=0
total_failed=0
failed_suites=()

# step NAME COMMAND...: runs a suite, records its pass/fail counts from a "N passed, N failed"
# line when it prints one (Jest's JSON for Jest suites), else counts the suite as one test.
step() {
  local name=$1
  shift
  banner "$name"
  local t0=$SECONDS log="$results.$name.log" status=0
  "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
  local passed failed
  passed=$(grep -Eo '(^|[ :])[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || true)
  failed=$(grep -Eo '(^|[ :])[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || true)
  if [[ -z $passed ]]; then
    # Jest prints "Tests:       3 failed, 40 passed, 43 total".
    passed=$(grep -E '^Tests:' "$log" | tail -1 | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || true)
    failed=$(grep -E '^Tests:' "$log" | tail -1 | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || true)
    if [[ -z $passed && -z $failed ]]; then
      if [[ $status -eq 0 ]]; then passed=1 failed=0; else passed=0 failed=1; fi
    fi
  fi
  passed=${passed:-0} failed=${failed:-0}
  if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  local verdict=ok
  if [[ $status -ne 0 ]]; then verdict=FAILED; failed_suites+=("$name"); fi
  printf '%-14s %-6s %4s passed %4s failed %5ss\n' "$name" "$verdict" "$passed" "$failed" $((SECONDS - t0)) >>"$results"
}

step typecheck npm run --silent typecheck
step lint npm run --silent lint
step unit npm run --silent test:unit
step integration npm run --silent test:integration
step workflows npm run --silent test:workflows
step check-dist bash scripts/check-dist.sh
step tofu bash scripts/test-tofu.sh
step module bash scripts/test-module.sh
step lab bash scripts/test-lab.sh
step act bash scripts/test-act.sh

banner "summary ($(($(date +%s) - started)) s)"
cat "$results"
if ((${#failed_suites[@]} > 0)); then echo "failed suites: ${failed_suites[*]}"; fi
echo "total: $total_passed passed, $total_failed failed"
[[ ${#failed_suites[@]} -eq 0 ]]
