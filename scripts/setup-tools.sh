#!/usr/bin/env bash
# Build the project's Go-built tools and link them into .tools/ of this checkout.
#
#   bash scripts/setup-tools.sh [SET...]     # default: every tools/<set>/ that has a go.mod
#   source .tools/env                        # PATH (+ TF_CLI_CONFIG_FILE when a set has providers)
#
# A set is a Go module at tools/<set>/go.mod whose `tool` directives name the tools. Each set is
# built once (`go install tool`) into a cache entry outside the repository, keyed by the hash of
# the set's build inputs, so another clone on the same machine reuses it in seconds:
#   ${RKE2OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rke2-ops}/tools/<set>-<key>/bin
# Optional files in tools/<set>/ (generic, no set is special-cased by name):
#   ldflags        extra -ldflags for the set's link step (e.g. -X for a version marker)
#   providers.txt  OpenTofu providers built by the set: laid out as a filesystem_mirror and
#                  written into a CLI config (.tools/tofu.tfrc) that never reaches a registry.
# Environment: RKE2OPS_CACHE (cache root), GOFLAGS etc. as usual for the go command.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${RKE2OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rke2-ops}/tools
local_dir=$repo/.tools

log() { printf '[setup-tools] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

command -v go >/dev/null || die "go is not on PATH (Go 1.24 or newer is needed for 'go install tool')"
go_version=$(go env GOVERSION)
case $go_version in
  go1.1[0-9]* | go1.2[0-3] | go1.2[0-3].* | go1.[0-9] | go1.[0-9].*)
    die "$go_version is too old: 'go install tool' needs Go 1.24 or newer" ;;
esac
goos=$(go env GOOS)
goarch=$(go env GOARCH)
if command -v sha256sum >/dev/null; then
  sha256() { sha256sum; }
elif command -v shasum >/dev/null; then
  sha256() { shasum -a 256; }
else
  die "neither sha256sum nor shasum is installed"
fi

# --- which sets -----------------------------------------------------------------------------
sets=()
if (($# > 0)); then
  sets=("$@")
else
  for mod in "$repo"/tools/*/go.mod; do
    [[ -e $mod ]] || continue
    sets+=("$(basename "$(dirname "$mod")")")
  done
fi
((${#sets[@]} > 0)) || die "no tool sets found (expected tools/<set>/go.mod)"
for set in "${sets[@]}"; do
  [[ $set =~ ^[A-Za-z0-9._-]+$ && -f $repo/tools/$set/go.mod ]] || die "unknown set '$set': no tools/$set/go.mod"
done

# The cache key: everything that changes what a set's build produces.
set_key() {
  local dir=$repo/tools/$1 f
  {
    printf 'key-format 1\n%s %s/%s\n' "$go_version" "$goos" "$goarch"
    for f in go.mod go.sum ldflags providers.txt; do
      if [[ -f $dir/$f ]]; then printf '== %s\n' "$f"; cat "$dir/$f"; fi
    done
  } | sha256 | cut -c1-12
}

# Lay out the providers of a set as an OpenTofu filesystem_mirror (unpacked layout):
#   <mirror>/registry.opentofu.org/<ns>/<type>/<version>/<os>_<arch>/terraform-provider-<type>_v<version>
# $3: "<package> <module version>" lines of the set's tools.
build_mirror() {
  local setdir=$1 out=$2 tool_versions=$3 addr version pkgver pkg modver bin ns type dest got n=0
  while read -r addr version pkgver _ || [[ -n ${addr:-} ]]; do
    [[ -z ${addr:-} || $addr == \#* ]] && continue
    [[ $addr =~ ^[a-z0-9-]+/[a-z0-9-]+$ ]] || die "providers.txt: bad source address '$addr'"
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "providers.txt: bad version '$version' for $addr"
    pkg=${pkgver%@*}
    modver=${pkgver#*@}
    [[ $pkg != "$pkgver" ]] || die "providers.txt: '$pkgver' needs <package>@<module version>"
    # The mapping must describe what go.mod really builds.
    got=$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$tool_versions")
    [[ -n $got ]] || die "providers.txt: $pkg is not a 'tool' in $setdir/go.mod"
    [[ $got == "$modver" ]] || die "providers.txt says $pkg@$modver but go.mod selects $got"
    bin=$out/bin/${pkg##*/}
    [[ -x $bin ]] || die "no binary $bin for $addr (is $pkg a 'tool' in go.mod?)"
    ns=${addr%/*}
    type=${addr#*/}
    dest=$out/mirror/registry.opentofu.org/$ns/$type/$version/${goos}_${goarch}
    mkdir -p "$dest"
    ln "$bin" "$dest/terraform-provider-${type}_v$version" 2>/dev/null ||
      cp "$bin" "$dest/terraform-provider-${type}_v$version"
    printf '%s %s\n' "registry.opentofu.org/$addr" "$version" >>"$out/providers.lock"
    n=$((n + 1))
  done <"$setdir/providers.txt"
  log "  mirror: $n provider(s) under $out/mirror"
}

# Build one set into its cache entry (if not there yet); print the entry's path.
ensure_set() {
  local set=$1 setdir=$repo/tools/$1 key entry tmp lockfile fd ldflags t0 ticker tools locked owner
  key=$(set_key "$set")
  entry=$cache_root/$set-$key
  mkdir -p "$cache_root"
  if [[ -f $entry/.complete ]]; then
    log "$set: cached ($entry)"
    printf '%s\n' "$entry"
    return
  fi
  # One builder per entry at a time (two clones setting up at once); the loser just waits.
  # Without flock (macOS) both build and the atomic rename below still keeps one whole entry.
  lockfile=$cache_root/.$set-$key.lock
  exec {fd}>"$lockfile"
  locked=false
  if command -v flock >/dev/null; then flock "$fd" && locked=true; fi
  if [[ -f $entry/.complete ]]; then
    log "$set: cached ($entry, built by a concurrent run)"
  else
    if $locked; then
      rm -rf "$cache_root/.$set-$key.tmp."* # left over by an interrupted build
    fi
    if [[ -e $entry ]]; then rm -rf "$entry"; fi # incomplete entry from an older layout
    tmp=$(mktemp -d "$cache_root/.$set-$key.tmp.XXXXXX")
    ldflags="-s -w"
    if [[ -f $setdir/ldflags ]]; then
      ldflags+=" $(grep -v '^[[:space:]]*#' "$setdir/ldflags" | tr '\n' ' ')"
    fi
    tools=$(cd "$setdir" && go list -f '{{.ImportPath}} {{with .Module}}{{.Version}}{{end}}' tool) ||
      die "$set: cannot list the tools of tools/$set/go.mod"
    log "$set: building $(wc -l <<<"$tools") tool(s) with $go_version (key $key) ..."
    t0=$(now)
    # A heartbeat, since a big set (OpenTofu) compiles for minutes without a word.
    # It stops at once when killed (the trap ends its sleep), and by itself once this
    # (sub)shell is gone, even if the script is killed.
    owner=$BASHPID
    (
      sleeper=
      trap 'kill $sleeper 2>/dev/null; exit 0' TERM
      while kill -0 "$owner" 2>/dev/null; do
        sleep 30 &
        sleeper=$!
        wait "$sleeper"
        log "$set: still building ($(elapsed "$t0"))"
      done
    ) &
    ticker=$!
    if ! (cd "$setdir" && GOBIN=$tmp/bin go install -trimpath -ldflags="$ldflags" tool >&2); then
      kill "$ticker" 2>/dev/null || true
      die "$set: 'go install tool' failed (in tools/$set); the cache entry was not created"
    fi
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    log "$set: built in $(elapsed "$t0")"
    if [[ -f $setdir/providers.txt ]]; then
      build_mirror "$setdir" "$tmp" "$tools"
    fi
    {
      printf 'set=%s\nkey=%s\ngo=%s\nplatform=%s_%s\nbuilt=%s\n' "$set" "$key" "$go_version" \
        "$goos" "$goarch" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      printf '%s\n' "$tools"
    } >"$tmp/manifest.txt"
    touch "$tmp/.complete"
    chmod 755 "$tmp"
    # Atomic publish: until this rename the entry does not exist, so an interrupted build
    # never looks complete.
    if ! mv -T "$tmp" "$entry" 2>/dev/null; then
      [[ -f $entry/.complete ]] || die "$set: cannot move $tmp to $entry"
      rm -rf "$tmp" # a concurrent run published the same entry first
    fi
  fi
  exec {fd}>&- # releases the lock
  printf '%s\n' "$entry"
}

# --- build / reuse each requested set -------------------------------------------------------
mkdir -p "$local_dir/sets"
total0=$(now)
for set in "${sets[@]}"; do
  t0=$(now)
  entry=$(ensure_set "$set")
  ln -sfn "$entry" "$local_dir/sets/$set"
  log "$set: ready in $(elapsed "$t0")"
done

# --- this checkout's view of every set set up so far (not only the ones named now) ----------
# .tools/bin is updated in place (others may be using it right now): links are replaced
# atomically with ln -sfn, and links of tools that no set provides any more are removed.
mkdir -p "$local_dir/bin"
declare -A linked=()
path_dirs=()
mirrors=()
for link in "$local_dir"/sets/*; do
  set=$(basename "$link")
  if [[ ! -f $repo/tools/$set/go.mod || ! -f $link/.complete ]]; then
    log "dropping stale set link .tools/sets/$set"
    rm -f "$link"
    continue
  fi
  if [[ $(readlink "$link") != "$cache_root/$set-$(set_key "$set")" ]]; then
    log "warning: set '$set' is out of date (tools/$set changed): run scripts/setup-tools.sh $set"
  fi
  entry=$(readlink -f "$link")
  path_dirs+=("$entry/bin")
  for tool in "$entry"/bin/*; do
    name=$(basename "$tool")
    [[ -e $tool ]] || continue
    if [[ -n ${linked[$name]:-} ]]; then
      log "warning: $name is provided by more than one set; keeping ${linked[$name]}"
      continue
    fi
    ln -sfn "$tool" "$local_dir/bin/$name"
    linked[$name]=$tool
  done
  if [[ -d $entry/mirror ]]; then mirrors+=("$entry"); fi
done
for link in "$local_dir"/bin/*; do
  if [[ -L $link && -z ${linked[$(basename "$link")]:-} ]]; then rm -f "$link"; fi
done

tfrc=$local_dir/tofu.tfrc
if ((${#mirrors[@]} > 0)); then
  {
    printf '# Generated by scripts/setup-tools.sh: providers come from the local filesystem mirror\n'
    printf '# only. There is no "direct" block, so no provider is ever fetched from a registry.\n'
    printf 'provider_installation {\n'
    for entry in "${mirrors[@]}"; do
      printf '  filesystem_mirror {\n    path    = "%s"\n    include = [' "$entry/mirror"
      sep=""
      while read -r addr _; do
        printf '%s"%s"' "$sep" "$addr"
        sep=", "
      done <"$entry/providers.lock"
      printf ']\n  }\n'
    done
    printf '}\n'
  } >"$tfrc.tmp"
  mv "$tfrc.tmp" "$tfrc"
else
  rm -f "$tfrc"
fi

{
  printf '# Generated by scripts/setup-tools.sh - do not edit. Use: source .tools/env\n'
  for ((i = ${#path_dirs[@]} - 1; i >= 0; i--)); do
    # shellcheck disable=SC2016 # $PATH is for the shell that sources the file
    printf 'case ":$PATH:" in *":%s:"*) ;; *) PATH="%s:$PATH" ;; esac\n' "${path_dirs[i]}" "${path_dirs[i]}"
  done
  printf 'export PATH\n'
  if [[ -f $tfrc ]]; then
    printf 'export TF_CLI_CONFIG_FILE="%s"\n' "$tfrc"
  fi
} >"$local_dir/env.tmp"
mv "$local_dir/env.tmp" "$local_dir/env"

tools=("$local_dir"/bin/*)
log "done in $(elapsed "$total0"): ${#tools[@]} tool(s) in .tools/bin: ${tools[*]##*/}"
log "use: source .tools/env"
