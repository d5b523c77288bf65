#!/usr/bin/env bash
# The demo (README "Quick start"): sets everything up, builds a 3+3 lab and tells the whole
# story: health check passes -> a verified pre-upgrade snapshot -> bad upgrade -> health check
# fails and names what broke -> one-command rollback (live progress) -> health check passes at
# the old version; then the timeline and the MTTR. Needs root (the lab). Leaves nothing running.
#   RKE2OPS_DEMO_NAME   lab name (default demo)
#   RKE2OPS_DEMO_TIMING fast (default: the lab's waits shortened, ~2-3 min in all) or realistic
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

name=${RKE2OPS_DEMO_NAME:-demo}
timing=${RKE2OPS_DEMO_TIMING:-fast}
export RKE2OPS_LAB_DIR=${RKE2OPS_LAB_DIR:-$repo/.lab}
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' N=$'\033[0m'; else B='' G='' R='' D='' N=''; fi
lab() { npx tsx test/lab/cli.ts "$@"; }
timings=()
phase() {
  local title=$1
  shift
  printf '\n%s=== %s ===%s\n' "$B" "$title" "$N"
  local t0=$SECONDS status=0
  "$@" || status=$?
  timings+=("$(printf '%-52s %4ss  %s' "$title" $((SECONDS - t0)) "$([[ $status -eq 0 ]] && echo "${G}ok${N}" || echo "${R}FAILED (exit $status)${N}")")")
  if [[ $status -ne 0 ]]; then
    print_timings
    echo "demo: phase '$title' failed" >&2
    exit "$status"
  fi
}
print_timings() {
  printf '\n%s=== the story, phase by phase ===%s\n' "$B" "$N"
  printf '%s\n' "${timings[@]}"
}
quietly() { # quietly COMMAND...: output only when it fails (set-up steps)
  local out status=0
  out=$("$@" 2>&1) || status=$?
  if [[ $status -ne 0 ]]; then printf '%s\n' "$out" >&2; fi
  return "$status"
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

demo_t0=$SECONDS
phase "setup: system packages" quietly bash scripts/setup-system.sh
# npm ci reinstalls from scratch: skip it when node_modules already matches the lock file.
if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then
  timings+=("$(printf '%-52s %4ss  %s' 'setup: npm ci (node_modules current)' 0 "${G}ok${N}")")
else
  phase "setup: npm ci" quietly npm ci --no-audit --no-fund --loglevel=error
fi
phase "setup: Go-built tools (cached after the first run)" quietly bash scripts/setup-tools.sh lab
# shellcheck disable=SC1091
source .tools/env
# The repository's pinned Node 24 (what the actions declare) runs the CLI and the lab.
export PATH="$repo/node_modules/.bin:$PATH"
[[ -f cli/dist/index.js ]] || phase "setup: build the CLI" quietly node scripts/build.mjs cli
trap 'lab down --name "$name" >/dev/null 2>&1 || true' EXIT

phase "lab: 3 masters + 3 workers ($timing timing)" quietly lab up --masters 3 --workers 3 --name "$name" --timing "$timing"
dir=$RKE2OPS_LAB_DIR/$name
inventory=$dir/inventory.json
key=$dir/ssh/id_ed25519
json() { node -e 'let v=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); for (const k of process.argv[2].split(".")) v=v[k]; console.log(v)' "$1" "$2"; }
# The lab's S3 keys, as a workflow would pass its secrets (the CLI reads them from the environment).
RKE2OPS_S3_ACCESS_KEY=$(json "$dir/state.json" s3.accessKeyId)
RKE2OPS_S3_SECRET_KEY=$(json "$dir/state.json" s3.secretAccessKey)
export RKE2OPS_S3_ACCESS_KEY RKE2OPS_S3_SECRET_KEY
ops() { node bin/rke2-ops.js "$@"; }
health() { ops health --inventory "$inventory" --ssh-key "$key" "$@"; }
version=$(json "$inventory" rke2.version)

phase "health check: healthy at $version" health --expected-version "$version" --timeout 120 --poll-interval 2 --report-file "$dir/health-before.json"
phase "snapshot: pre-upgrade, verified in S3" ops snapshot save --inventory "$inventory" --ssh-key "$key" --level s3
phase "bad upgrade: a broken RKE2 on every node" quietly lab scenario bad-upgrade --name "$name"
phase "health check: must fail and say why" expect_exit 1 health --expected-version "$version" --timeout 10 --poll-interval 5 --report-file "$dir/health-after.json"
phase "rollback: latest-pre-upgrade, one command" ops rollback --inventory "$inventory" --ssh-key "$key" --confirm "$name" --report-file "$dir/rollback.json"
phase "health check: healthy again at $version" health --expected-version "$version" --timeout 120 --poll-interval 2 --report-file "$dir/health-final.json"
mttr=$(json "$dir/rollback.json" mttrSeconds)
cp "$dir"/health-*.json "$dir/rollback.json" "$RKE2OPS_LAB_DIR/" 2>/dev/null || true
phase "lab: down" quietly lab down --name "$name"
trap - EXIT

print_timings
printf '\n%sMTTR (rollback start to healthy): %s s%s   whole demo: %s s\n' "$B" "$mttr" "$N" $((SECONDS - demo_t0))
printf '%sreports: %s/{health-before,health-after,rollback,health-final}.json%s\n' "$D" "$RKE2OPS_LAB_DIR" "$N"
