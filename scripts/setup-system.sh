#!/usr/bin/env bash
# Debian packages the tests need: a real sshd, shellcheck (actionlint's run: checks), unzip
# (@actions/tool-cache unpacks the OpenTofu release with it, as on a runner), and the
# lab's packages (scripts/lab-packages.txt). Installs only what is missing, so a warm machine
# pays nothing; `apt-get update` runs once, only when something must be installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(openssh-server openssh-client shellcheck git ca-certificates unzip)
while read -r pkg; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  packages+=("$pkg")
done < <(cat scripts/lab-packages.txt 2>/dev/null || true)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-system: missing packages ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup-system: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# sshd refuses to start without its privilege separation directory (no systemd here).
if [[ $(id -u) -eq 0 ]]; then mkdir -p /run/sshd; fi
echo "setup-system: ok (${#packages[@]} packages present)"
