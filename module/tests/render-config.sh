#!/usr/bin/env bash
# Render the RKE2 configuration of every node of a cluster (config.yaml merged
# with the node channel's drop-ins: what RKE2 ends up with) with real `tofu`,
# through the same provider-free submodule (modules/rke2-config) the module
# uses. No Hetzner token, no network, no mocks.
#
# Usage: module/tests/render-config.sh OUT_DIR [options]
#   --cluster-name NAME   cluster name (default: tutor, as in examples/openedx-tutor)
#   --masters N           1, 3, 5, 7 or 9 (default: 3)
#   --workers M           0..100 (default: 3)
#   --subnet CIDR         node subnet, /24 or larger (default: 10.0.1.0/24);
#                         masters get .11+, workers .101+, the control-plane LB .2
#   --rke2-version V      default: v1.34.4+rke2r1
#   --token T             RKE2 token (default: $RKE2_TOKEN, else a random one)
#   --no-lb               join through master-0's private IP instead of the LB (.2)
#   --tcp-health-check    do not configure anonymous /readyz (no authentication-config)
#
# Contract (docs/ARCHITECTURE.md, "Rendered node configs"): OUT_DIR gets one
# file per node, <node-name>.yaml (mode 0600, it holds the token), plus
# _index.json (nodes in order with role and private_ip; masters first, the
# first is the initial server) and _auth-config.yaml (when anonymous /readyz is on).
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
out_dir=$1; shift

cluster=tutor masters=3 workers=3 subnet=10.0.1.0/24 version=v1.34.4+rke2r1
token=${RKE2_TOKEN:-} via_lb=true anonymous=true
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster-name) cluster=${2:?}; shift 2 ;;
    --masters) masters=${2:?}; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --subnet) subnet=${2:?}; shift 2 ;;
    --rke2-version) version=${2:?}; shift 2 ;;
    --token) token=${2:?}; shift 2 ;;
    --no-lb) via_lb=false; shift ;;
    --tcp-health-check) anonymous=false; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "render-config.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Only simple values reach the generated HCL; everything else is refused here
# and validated again by the submodule's variable rules.
[[ $cluster =~ ^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$ ]] || { echo "bad --cluster-name '$cluster'" >&2; exit 2; }
[[ $masters =~ ^[0-9]+$ && $workers =~ ^[0-9]+$ ]] || { echo "--masters/--workers must be numbers" >&2; exit 2; }
[[ $subnet =~ ^[0-9.]+/[0-9]+$ ]] || { echo "bad --subnet '$subnet'" >&2; exit 2; }
[[ $version =~ ^v1\.[0-9]+\.[0-9]+\+rke2r[0-9]+$ ]] || { echo "bad --rke2-version '$version'" >&2; exit 2; }
if [ -z "$token" ]; then token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n'); fi
[[ $token =~ ^[A-Za-z0-9]+$ ]] || { echo "--token must be letters and digits" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module_dir=$(cd "$here/.." && pwd)
repo_root=$(cd "$module_dir/.." && pwd)
if ! command -v tofu >/dev/null 2>&1 && [ -f "$repo_root/.tools/env" ]; then
  # shellcheck disable=SC1091
  . "$repo_root/.tools/env"
fi
command -v tofu >/dev/null 2>&1 || { echo "render-config.sh: tofu not found (run scripts/setup-tools.sh, then source .tools/env)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/main.tf" <<HCL
module "rke2_config" {
  source = "$module_dir/modules/rke2-config"

  cluster_name               = "$cluster"
  rke2_version               = "$version"
  token                      = "$token"
  subnet_ip_range            = "$subnet"
  master_count               = $masters
  worker_count               = $workers
  join_via_load_balancer     = $via_lb
  anonymous_health_endpoints = $anonymous
}

# Local rendering only: the values go to files, never to a shared state.
# (tofu output -json prints sensitive values.)
output "configs" {
  value     = module.rke2_config.configs
  sensitive = true
}

output "index" {
  value = {
    cluster          = "$cluster"
    rke2_version     = "$version"
    join_url         = module.rke2_config.join_url
    auth_config_path = module.rke2_config.auth_config_path
    auth_config_yaml = module.rke2_config.auth_config_yaml
    nodes = concat(
      [for m in module.rke2_config.masters : { name = m.name, role = module.rke2_config.roles[m.name], private_ip = m.private_ip }],
      [for w in module.rke2_config.workers : { name = w.name, role = "agent", private_ip = w.private_ip }],
    )
  }
}
HCL

(
  cd "$work"
  tofu init -backend=false -input=false -no-color >init.log 2>&1 || { cat init.log >&2; exit 1; }
  tofu apply -auto-approve -input=false -no-color >apply.log 2>&1 || { cat apply.log >&2; exit 1; }
  tofu output -json configs >configs.json
  tofu output -json index >index.json
)

mkdir -p "$out_dir"
umask 077
python3 - "$work" "$out_dir" <<'PY'
import json, os, sys
work, out = sys.argv[1], sys.argv[2]
configs = json.load(open(os.path.join(work, "configs.json")))
index = json.load(open(os.path.join(work, "index.json")))
for node in index["nodes"]:
    path = os.path.join(out, node["name"] + ".yaml")
    with open(path, "w") as f:
        f.write(configs[node["name"]])
    os.chmod(path, 0o600)
auth = index.pop("auth_config_yaml")
if auth is not None:
    with open(os.path.join(out, "_auth-config.yaml"), "w") as f:
        f.write(auth)
index["files"] = {n["name"]: n["name"] + ".yaml" for n in index["nodes"]}
with open(os.path.join(out, "_index.json"), "w") as f:
    json.dump(index, f, indent=2)
    f.write("\n")
print("rendered %d node configs into %s" % (len(index["nodes"]), out))
PY
