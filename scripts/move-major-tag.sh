#!/usr/bin/env bash
# Moves the major tag (v1) to a release tag (v1.4.2) and pushes it, so that
# `uses: rke2-ops/ops/actions/<name>@v1` and `.../.github/workflows/<x>.yml@v1` get the release.
# The release workflow runs it after CI and check-dist passed on the tagged commit.
#
#   scripts/move-major-tag.sh <tag> [--remote origin] [--branch main] [--dry-run]
#
# Refuses (exit 1, nothing moved):
#   - a tag that is not vMAJOR.MINOR.PATCH: pre-releases (v1.5.0-rc.1) never move v1;
#   - a tagged commit that is not on <remote>/<branch>: only reviewed code is released;
#   - a release older than the newest vMAJOR.x.y: re-tagging an old version must not move
#     everyone backwards.
# Moving to where the major tag already points is a no-op (a re-run of the workflow).
set -euo pipefail

die() { printf 'move-major-tag: %s\n' "$*" >&2; exit 1; }

tag=${1:-}
[[ -n $tag ]] || die "usage: move-major-tag.sh <tag> [--remote origin] [--branch main] [--dry-run]"
shift
remote=origin branch=main dry_run=false
while (($# > 0)); do
  case $1 in
    --remote) remote=${2:?}; shift 2 ;;
    --branch) branch=${2:?}; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    *) die "unknown option $1" ;;
  esac
done

[[ $tag =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
  die "$tag is not a release tag vMAJOR.MINOR.PATCH (pre-releases do not move the major tag)"
major=v${BASH_REMATCH[1]}
commit=$(git rev-parse -q --verify "refs/tags/$tag^{commit}") || die "no tag $tag in this repository"

git rev-parse -q --verify "refs/remotes/$remote/$branch" >/dev/null ||
  die "no $remote/$branch here (fetch it: actions/checkout with fetch-depth: 0)"
git merge-base --is-ancestor "$commit" "refs/remotes/$remote/$branch" ||
  die "$tag ($commit) is not on $remote/$branch: only commits on $branch are released"

newest=$(git tag --list "$major.*" | grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -V | tail -n 1)
[[ $newest == "$tag" ]] || die "$tag is older than $newest, the newest $major release: $major stays where it is"

current=$(git rev-parse -q --verify "refs/tags/$major^{commit}" || true)
if [[ $current == "$commit" ]]; then
  echo "move-major-tag: $major already points at $tag ($commit)"
  exit 0
fi
echo "move-major-tag: $major: ${current:-none} -> $tag ($commit)"
if $dry_run; then exit 0; fi
git tag --force "$major" "$commit"
git push --force "$remote" "refs/tags/$major"
