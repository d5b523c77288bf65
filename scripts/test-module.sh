#!/usr/bin/env bash
# Offline checks of the OpenTofu module with real tofu:
#   1. tofu fmt -check -recursive module
#   2. tofu init -backend=false + tofu validate in module/ and every example
#   3. tofu test in module/ (mocked hcloud; real or mocked tls/random)
#   4. "plan" of every example: tofu test in the example, whose tests/*.tftest.hcl
#      plans it against a mocked hcloud provider (no Hetzner token or network here)
#   5. module/README.md tables match variables.tf/outputs.tf (docs/gen-readme.py)
#   6. tests/render-config.sh renders the 3+3 node configs and checks the files
# Needs tofu and the provider mirror from scripts/setup-tools.sh (.tools/env).
# Prints "N passed, N failed" over all tofu test runs at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if ! command -v tofu >/dev/null 2>&1 || [ -z "${TF_CLI_CONFIG_FILE:-}" ]; then
  if [ -f .tools/env ]; then
    # shellcheck disable=SC1091
    . .tools/env
  fi
fi
command -v tofu >/dev/null 2>&1 || { echo "test-module: tofu not found; run scripts/setup-tools.sh first" >&2; exit 1; }
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

log_dir=$(mktemp -d)
# Lock files are not committed for the module (the provider binaries come from a
# locally built mirror, the consuming root module owns locking): remove the ones
# this run creates so the working tree stays clean.
new_locks=()
for dir in module module/examples/minimal module/examples/openedx-tutor; do
  [ -e "$dir/.terraform.lock.hcl" ] || new_locks+=("$dir/.terraform.lock.hcl")
done
cleanup() {
  rm -rf "$log_dir"
  local f
  for f in "${new_locks[@]}"; do
    git ls-files --error-unmatch "$f" >/dev/null 2>&1 || rm -f "$f"
  done
}
trap cleanup EXIT
passed=0 failed=0 step_failures=0

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; step_failures=$((step_failures + 1)); }

# tofu test prints "Success! N passed, M failed." or "N passed, M failed." at the end.
run_tofu_test() {
  local dir=$1 log
  log="$log_dir/$(echo "$dir" | tr '/' '_').log"
  if (cd "$dir" && tofu test -no-color) >"$log" 2>&1; then :; else fail "tofu test in $dir"; fi
  grep -E '(pass|fail)$|^Success!|^Failure!|Error:' "$log" | sed 's/^/  /' || true
  local line p f
  line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
  p=$(echo "${line:-0 passed, 0 failed}" | awk '{print $1}')
  f=$(echo "${line:-0 passed, 0 failed}" | awk '{print $3}')
  if [ -z "$line" ]; then cat "$log" >&2; f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

step "tofu fmt -check -recursive module"
tofu fmt -check -recursive -diff module || fail "tofu fmt (run: tofu fmt -recursive module)"

step "module/README.md inputs/outputs tables up to date"
cp module/README.md "$log_dir/README.before"
if (cd module && python3 docs/gen-readme.py >/dev/null); then
  if ! diff -u "$log_dir/README.before" module/README.md; then
    cp "$log_dir/README.before" module/README.md
    fail "module/README.md is stale (run: cd module && python3 docs/gen-readme.py)"
  fi
else
  fail "docs/gen-readme.py"
fi

for dir in module module/examples/minimal module/examples/openedx-tutor; do
  step "tofu init -backend=false && tofu validate ($dir)"
  if (cd "$dir" && tofu init -backend=false -input=false -no-color >"$log_dir/init.log" 2>&1); then
    (cd "$dir" && tofu validate -no-color) || fail "tofu validate in $dir"
  else
    cat "$log_dir/init.log" >&2
    fail "tofu init in $dir"
  fi
done

step "tofu test (module)"
run_tofu_test module

for dir in module/examples/minimal module/examples/openedx-tutor; do
  step "plan $dir against a mocked hcloud provider (tofu test)"
  run_tofu_test "$dir"
done

step "render-config.sh (3 masters + 3 workers)"
render_dir="$log_dir/render"
if bash module/tests/render-config.sh "$render_dir" --token RenderCheckToken0123456789; then
  n=$(find "$render_dir" -name '*.yaml' ! -name '_*' | wc -l)
  [ "$n" -eq 6 ] || fail "render-config.sh wrote $n node configs, expected 6"
  # yamlencode quotes keys and strings: "server": "https://..."
  has() { grep -Eq "^\"?$2\"?: \"?$3\"?\$" "$render_dir/$1"; }
  grep -Eq '^"?server"?:' "$render_dir/tutor-master-0.yaml" && fail "tutor-master-0.yaml (initial server) must not have server:"
  has tutor-master-1.yaml server 'https://10\.0\.1\.2:9345' || fail "tutor-master-1.yaml lacks server: https://10.0.1.2:9345"
  has tutor-worker-2.yaml server 'https://10\.0\.1\.2:9345' || fail "tutor-worker-2.yaml lacks server: https://10.0.1.2:9345"
  has tutor-worker-2.yaml node-name tutor-worker-2 || fail "tutor-worker-2.yaml lacks node-name"
  has tutor-master-0.yaml cloud-provider-name external || fail "tutor-master-0.yaml lacks cloud-provider-name: external"
  [ "$(stat -c %a "$render_dir/tutor-master-0.yaml")" = 600 ] || fail "node configs must be mode 0600"
else
  fail "render-config.sh"
fi

printf '\n'
if [ "$step_failures" -gt 0 ] && [ "$failed" -eq 0 ]; then failed=$step_failures; fi
echo "module: $passed passed, $failed failed"
[ "$step_failures" -eq 0 ] && [ "$failed" -eq 0 ]
