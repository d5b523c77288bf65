#!/usr/bin/env bash
# Test the project's OpenTofu set-up end to end, offline, with the real tofu and providers
# built by scripts/setup-tools.sh:
#   - tofu is the pinned release (not a -dev build);
#   - `tofu init` installs every provider from the filesystem mirror, at the versions of
#     tools/tofu/providers.txt, with any network access made to fail;
#   - fmt/validate on test/tofu/*; `tofu test` (mocked hcloud) passes all its runs;
#   - a real plan/apply/plan/destroy with local state for tls, random and terraform_data.
# Works on a copy in a temp dir, removed on exit. Closing line: "tofu: N passed, M failed".
#   bash scripts/test-tofu.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
passed=0
failed=0

log() { printf '[test-tofu] %s\n' "$*"; }
ok() {
  passed=$((passed + 1))
  log "ok   - $*"
}
not_ok() {
  failed=$((failed + 1))
  log "FAIL - $*"
}
# check "description" command...: one assertion, never aborts the script.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
  printf 'tofu: %d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0))
}

bash "$repo/scripts/setup-tools.sh" tofu
# shellcheck source=/dev/null
source "$repo/.tools/env"

work=$(mktemp -d "${TMPDIR:-/tmp}/rke2ops-tofu.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$repo/test/tofu/." "$work/"

# Offline for real: any HTTP(S) request tofu or a provider makes goes to a closed port.
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY='' no_proxy=''
export TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR
# tf DIR ARGS...: tofu ARGS in the copy of test/tofu/DIR.
tf() {
  local dir=$1
  shift
  (cd "$work/$dir" && tofu "$@")
}
out=$work/.out
# quiet CMD...: run it, show its output only when it fails.
quiet() { "$@" >"$out.q" 2>&1 || { cat "$out.q"; return 1; }; }

# --- the binary ---------------------------------------------------------------------------
want_tofu=$(cd "$repo/tools/tofu" && go list -m -f '{{.Version}}' github.com/opentofu/opentofu)
tofu_bin=$(command -v tofu)
set_dir=$(readlink -f "$repo/.tools/sets/tofu")
check "tofu on PATH ($tofu_bin) is the one built in $set_dir" test "$(readlink -f "$tofu_bin")" = "$set_dir/bin/tofu"
tofu version | tee "$out"
check "tofu version is the pinned release ${want_tofu#v}" grep -qx "OpenTofu ${want_tofu}" "$out"

# --- init from the mirror only ------------------------------------------------------------
providers_version() { awk -v a="$1" '$1 == a { print $2 }' "$repo/tools/tofu/providers.txt"; }
for dir in local hcloud stack; do
  if tf "$dir" init -no-color -input=false >"$out" 2>&1; then
    ok "$dir: tofu init (offline, filesystem mirror)"
  else
    cat "$out"
    not_ok "$dir: tofu init (offline, filesystem mirror)"
    continue
  fi
  while read -r addr; do
    want=$(providers_version "${addr#registry.opentofu.org/}")
    got=$(awk -v a="provider \"$addr\"" 'index($0, a) == 1 { f = 1 } f && /version/ { gsub(/"/, "", $3); print $3; exit }' \
      "$work/$dir/.terraform.lock.hcl")
    check "$dir: $addr locked at $got = providers.txt ${want:-<missing>}" test "$got" = "$want"
  done < <(grep -o 'registry.opentofu.org/[a-z0-9-]*/[a-z0-9-]*' "$work/$dir/.terraform.lock.hcl")
  check "$dir: tofu validate" quiet tf "$dir" validate -no-color
done
check "tofu fmt -check on test/tofu" quiet tofu fmt -check -recursive "$work"

# --- tofu test with a mocked hcloud -------------------------------------------------------
runs=$(cat "$work"/hcloud/tests/*.tftest.hcl | grep -c '^run "')
if tf hcloud test -no-color >"$out" 2>&1; then ok "hcloud: tofu test exits 0"; else not_ok "hcloud: tofu test exits 0"; fi
cat "$out"
check "hcloud: tofu test passed all $runs runs" grep -q "Success! $runs passed, 0 failed" "$out"

# --- real plan / apply / destroy with local state -----------------------------------------
if tf local plan -no-color -input=false -out=tfplan >"$out" 2>&1; then
  ok "local: tofu plan"
  check "local: plan creates 4 resources" grep -q 'Plan: 4 to add, 0 to change, 0 to destroy' "$out"
else
  cat "$out"
  not_ok "local: tofu plan"
fi
if tf local apply -no-color -input=false tfplan >"$out" 2>&1; then
  ok "local: tofu apply"
  pub=$(tf local output -raw public_key_openssh)
  check "local: public_key_openssh starts with ssh-ed25519" test "${pub#ssh-ed25519 }" != "$pub"
  fp=$(tf local output -raw fingerprint)
  if command -v ssh-keygen >/dev/null; then
    keygen_fp=$(printf '%s\n' "$pub" | ssh-keygen -l -f - | awk '{ print $2 }')
    check "local: ssh-keygen reads the key, fingerprint $keygen_fp matches tls'" test "$keygen_fp" = "$fp"
  fi
  name=$(tf local output -raw node_name)
  check "local: terraform_data carries the random name ($name)" \
    grep -Eqx '[a-z]+-[a-z]+-[0-9a-f]{8}' <<<"$name"
  check "local: state holds 4 resources" test "$(tf local state list | wc -l)" -eq 4
  check "local: a second plan has no changes" quiet tf local plan -no-color -input=false -detailed-exitcode
  if tf local destroy -no-color -input=false -auto-approve >"$out" 2>&1; then
    ok "local: tofu destroy"
    check "local: state is empty after destroy" test -z "$(tf local state list)"
  else
    cat "$out"
    not_ok "local: tofu destroy"
  fi
else
  cat "$out"
  not_ok "local: tofu apply"
fi

# --- nothing outside the mirror is installable (no "direct" fallback, no network) ---------
mkdir -p "$work/outside"
printf 'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n' >"$work/outside/main.tf"
if tf outside init -no-color -input=false >"$out" 2>&1; then
  not_ok "init of a provider outside the mirror (hashicorp/null) must fail"
else
  check "init of a provider outside the mirror fails with 'not found in any of the search locations'" \
    grep -q 'not found in any of the search locations' <<<"$(tr -s '\n' ' ' <"$out")"
fi

finish
