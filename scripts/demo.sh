#!/usr/bin/env bash
# The demo (README "Quick start"): sets everything up, builds a 3+3 lab and runs the story
# that exists today - health check passes -> bad upgrade -> health check fails and names what
# broke - printing each phase's time. Snapshot, rollback, incident and MTTR join the story as
# their actions land (design.md section 8). Needs root (the lab). Leaves nothing running.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

name=${RKE2OPS_DEMO_NAME:-demo}
export RKE2OPS_LAB_DIR=${RKE2OPS_LAB_DIR:-$repo/.lab}
lab() { npx tsx test/lab/cli.ts "$@"; }
timings=()
phase() {
  local title=$1
  shift
  printf '\n\033[1m=== %s ===\033[0m\n' "$title"
  local t0=$SECONDS status=0
  "$@" || status=$?
  timings+=("$(printf '%-44s %4ss  %s' "$title" $((SECONDS - t0)) "$([[ $status -eq 0 ]] && echo ok || echo "FAILED (exit $status)")")")
  if [[ $status -ne 0 ]]; then
    print_timings
    echo "demo: phase '$title' failed" >&2
    exit "$status"
  fi
}
print_timings() {
  printf '\n\033[1m=== phase timings ===\033[0m\n'
  printf '%s\n' "${timings[@]}"
}
expect_exit() { # expect_exit CODE COMMAND...: the demo shows a failing health check on purpose
  local want=$1 status=0
  shift
  "$@" || status=$?
  if [[ $status -ne $want ]]; then
    echo "demo: expected exit $want, got $status" >&2
    return 1
  fi
}

phase "setup: system packages" bash scripts/setup-system.sh
phase "setup: npm ci" npm ci --no-audit --no-fund --loglevel=error
phase "setup: Go-built tools (cached after the first run)" bash scripts/setup-tools.sh lab
# shellcheck disable=SC1091
source .tools/env
trap 'lab down --name "$name" >/dev/null 2>&1 || true' EXIT

phase "lab: 3 masters + 3 workers, healthy" lab up --masters 3 --workers 3 --name "$name"
inventory=$RKE2OPS_LAB_DIR/$name/inventory.json
key=$RKE2OPS_LAB_DIR/$name/ssh/id_ed25519
health() { node bin/rke2-ops.js health --inventory "$inventory" --ssh-key "$key" "$@"; }
# The version the cluster was built with: after the bad upgrade every node runs another one.
version=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rke2.version)' "$inventory")

phase "health check: healthy cluster" health --expected-version "$version" --timeout 120 --poll-interval 2 --report-file "$RKE2OPS_LAB_DIR/$name/health-before.json"
phase "bad upgrade: new RKE2 on every node" lab scenario bad-upgrade --name "$name"
phase "health check: must fail and say why" expect_exit 1 health --expected-version "$version" --timeout 20 --poll-interval 5 --report-file "$RKE2OPS_LAB_DIR/$name/health-after.json"
phase "lab: down" lab down --name "$name"
trap - EXIT

print_timings
echo "reports: $RKE2OPS_LAB_DIR/$name/health-before.json, $RKE2OPS_LAB_DIR/$name/health-after.json"
echo "next in the story (their issues): snapshot -> incident report -> rollback -> health passes, with MTTR"
