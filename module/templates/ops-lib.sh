# --- rke2-ops shell library (module/templates/ops-lib.sh), pasted into each rendered ops script ---
# Expects NODE, TIMEOUT and (optionally) API_FALLBACK to be set. Logs go to stdout, failures
# to stderr with "FAIL:"; every wait is bounded.
KUBECTL=/var/lib/rancher/rke2/bin/kubectl
# Masters have the admin kubeconfig; agents read the API with their kubelet's credentials (through
# the agent's local load balancer), which may read Nodes and patch their own.
if [ -z "${KUBECONFIG:-}" ]; then
  for k in /etc/rancher/rke2/rke2.yaml /var/lib/rancher/rke2/agent/kubelet.kubeconfig; do
    if [ -r "$k" ]; then
      export KUBECONFIG=$k
      break
    fi
  done
fi
# The install script puts rke2 in /usr/local/bin, or /opt/rke2/bin where /usr/local is read-only.
export PATH="/usr/local/bin:/opt/rke2/bin:$PATH"
POD_MANIFESTS=/var/lib/rancher/rke2/agent/pod-manifests
SCRIPT_NAME=${SCRIPT_NAME:-rke2-ops}

log() { printf '[%s %s] %s %s\n' "$SCRIPT_NAME" "$NODE" "$(date -u +%H:%M:%S.%3N)" "$*"; }
die() {
  printf '[%s %s] %s FAIL: %s\n' "$SCRIPT_NAME" "$NODE" "$(date -u +%H:%M:%S.%3N)" "$*" >&2
  DIED=1
  exit 1
}
# set -e ends a script silently: say which command did (and remove $CLEANUP).
on_exit() {
  local rc=$? cmd=$BASH_COMMAND
  [ -z "${CLEANUP:-}" ] || rm -f -- "$CLEANUP"
  if [ "$rc" -ne 0 ] && [ -z "${DIED:-}" ]; then
    printf '[%s %s] %s FAIL: stopped unexpectedly (exit %s) at: %s\n' "$SCRIPT_NAME" "$NODE" "$(date -u +%H:%M:%S.%3N)" "$rc" "$cmd" >&2
  fi
}
trap on_exit EXIT
now() { date +%s; }

# until "$@" succeeds, at most $1 seconds; 1 when the bound is hit.
wait_for() {
  local bound=$1
  shift
  local deadline=$(($(now) + bound))
  until "$@"; do
    [ "$(now)" -lt "$deadline" ] || return 1
    sleep 2
  done
}

# kubectl against this node's API endpoint, else the private control-plane endpoint (another
# master) while the local one restarts.
kc() { "$KUBECTL" --request-timeout=10s "$@" 2>/dev/null; }
kc_any() { kc "$@" || { [ -n "${API_FALLBACK:-}" ] && kc --server "$API_FALLBACK" "$@"; }; }

node_ready() { [ "$(kc_any get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
node_version() { kc_any get node "$1" -o 'jsonpath={.status.nodeInfo.kubeletVersion}' || true; }
# A master counts as up when its Node is Ready and, where RKE2 runs etcd as a static pod, that
# pod is Ready too.
master_up() {
  node_ready "$1" || return 1
  local etcd
  etcd=$(kc_any -n kube-system get pod "etcd-$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' || true)
  [ -z "$etcd" ] || [ "$etcd" = True ]
}

# The installed RKE2 release: "rke2 version v1.34.4+rke2r1 (<commit>)" -> v1.34.4+rke2r1.
rke2_installed() { rke2 --version 2>/dev/null | awk 'NR == 1 { print $3 }'; }

# v1.<minor>.<patch>+rke2r<n> -> a number that sorts like the release; empty when not a release.
ver_key() {
  if [[ $1 =~ ^v1\.([0-9]+)\.([0-9]+)\+rke2r([0-9]+)$ ]]; then
    printf '%d\n' $((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]} * 1000 + 10#${BASH_REMATCH[3]}))
  fi
}
ver_minor() { [[ $1 =~ ^v1\.([0-9]+)\. ]] && printf '%d\n' $((10#${BASH_REMATCH[1]})); }

# Refuses what an in-place upgrade cannot do: a downgrade (needs a snapshot restore: etcd 3.6
# refuses older binaries on its data, rke2-facts.md §3.1) and skipping a minor version.
# $1 = the node or "cluster", $2 = its version, $3 = the target.
check_step() {
  local what=$1 from=$2 to=$3
  [ -n "$(ver_key "$from")" ] || die "$what runs '$from', not an RKE2 release this script can compare"
  if [ "$(ver_key "$from")" -gt "$(ver_key "$to")" ]; then
    die "$what runs $from, newer than the target $to: refusing a downgrade. Going back needs the binaries downgraded AND the pre-upgrade etcd snapshot restored - run actions/rollback (or the runbook in module/docs/ARCHITECTURE.md, \"Operations: backup, upgrade, rollback\"), then set rke2_version to $from"
  fi
  if [ $(($(ver_minor "$to") - $(ver_minor "$from"))) -gt 1 ]; then
    die "$what runs $from; $to skips a minor version (Kubernetes upgrades one minor at a time): upgrade to the latest v1.$(($(ver_minor "$from") + 1)).x first"
  fi
}

unit_state() { systemctl is-active "$UNIT" 2>/dev/null || true; }
unit_log() { journalctl -u "$UNIT" -n 30 --no-pager 2>/dev/null | sed 's/^/    /' || true; }
active_since() { systemctl show -p ActiveEnterTimestampMonotonic --value "$UNIT" 2>/dev/null || true; }
# Active again after the restart we asked for. systemctl restart --no-block only queues the job,
# so "active" alone may still be the old process: the activation timestamp must have moved. (A
# systemctl without `show` - the lab's - restarts before returning: active is enough there.)
restarted() {
  local s
  s=$(unit_state)
  if [ "$s" = failed ]; then
    unit_log >&2
    die "$UNIT failed after the restart (journal above)"
  fi
  [ "$s" = active ] || return 1
  [ -z "$before_restart" ] || [ "$(active_since)" != "$before_restart" ]
}
readyz_ok() { [ "$(kc get --raw=/readyz)" = ok ]; }
pod_manifest_sums() {
  local f
  for f in "$POD_MANIFESTS"/*.yaml; do
    [ -e "$f" ] && printf '%s %s\n' "$(basename "$f" .yaml)" "$(sha256sum <"$f" | cut -d' ' -f1)"
  done
  return 0
}
# The static pod (mirror pod <component>-<node>) runs a container started after $restart_epoch,
# and every container is ready.
static_pod_renewed() {
  local started ready
  started=$(kc -n kube-system get pod "$1-$NODE" -o 'jsonpath={.status.containerStatuses[0].state.running.startedAt}') || return 1
  [ -n "$started" ] && [ "$(date -d "$started" +%s)" -ge "$restart_epoch" ] || return 1
  ready=$(kc -n kube-system get pod "$1-$NODE" -o 'jsonpath={.status.containerStatuses[*].ready}') || return 1
  [ -n "$ready" ] && [[ " $ready " != *" false "* ]]
}

# systemctl restart --no-block, then: the unit active again; on servers the local /readyz and
# every static pod whose manifest RKE2 rewrote renewed and ready (until the kubelet swaps it, the
# old apiserver/etcd pod still answers); the Node Ready. Each step bounded by $TIMEOUT.
restart_and_wait() {
  before_restart=$(active_since)
  local before_manifests after component sum
  before_manifests=$(pod_manifest_sums)
  restart_epoch=$(now)
  systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
  systemctl restart --no-block "$UNIT"
  wait_for "$TIMEOUT" restarted || {
    unit_log >&2
    die "$UNIT is $(unit_state), not active, $TIMEOUT s after the restart"
  }
  log "$UNIT active"
  if [ "$ROLE" = server ]; then
    wait_for "$TIMEOUT" readyz_ok || die "the local API server's /readyz is not ok $TIMEOUT s after the restart"
    log "API server /readyz ok"
    after=$(pod_manifest_sums)
    while read -r component sum; do
      [ -n "$component" ] || continue
      if [ "$(printf '%s\n' "$before_manifests" | awk -v c="$component" '$1 == c { print $2 }')" != "$sum" ]; then
        wait_for "$TIMEOUT" static_pod_renewed "$component" || die "static pod $component-$NODE did not come back ready $TIMEOUT s after its manifest changed"
        log "static pod $component-$NODE renewed and ready"
      fi
    done <<<"$after"
  fi
  wait_for "$TIMEOUT" node_ready "$NODE" || die "Node $NODE is not Ready $TIMEOUT s after the restart"
  log "Node $NODE Ready"
}
# --- end of the rke2-ops shell library ---
