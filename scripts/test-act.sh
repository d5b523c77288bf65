#!/usr/bin/env bash
# The reusable workflows run for real (test/act/*.test.ts): nektos/act (tools/act) runs the
# jobs on this host, offline, against the lab, the GitHub REST stand-in and real tofu.
#   bash scripts/test-act.sh [test files] [jest args...]
# Builds (or links from the machine-wide cache) the act, tofu and lab tool sets, then runs the
# files through scripts/test-lab.sh: root, in band, a private lab directory, and every lab torn
# down on exit whatever happened.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup-tools.sh act tofu lab

# Jest ORs its path patterns: test/act only when no file is named.
for arg in "$@"; do
  if [[ $arg == *.ts || -e $arg ]]; then exec bash scripts/test-lab.sh "$@"; fi
done
exec bash scripts/test-lab.sh test/act "$@"
