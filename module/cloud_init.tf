# Node configs, rendered by the provider-free submodule so that tests and
# scripts (tests/render-config.sh) render exactly what the servers get.
module "rke2_config" {
  source = "./modules/rke2-config"

  cluster_name = var.cluster_name
  rke2_version = var.rke2_version
  token        = local.rke2_token
  agent_token  = local.rke2_agent_token
  # Joining masters and agents register through the control-plane LB's fixed
  # private IP, or master-0 directly when there is no LB.
  subnet_ip_range        = var.subnet_ip_range
  master_count           = var.master_count
  worker_count           = var.worker_count
  join_via_load_balancer = local.cp_lb_enabled
  # tls-san is a drop-in (node channel), so it may name addresses that exist
  # only after the servers do: every way a client may reach the apiserver.
  tls_san = concat(
    local.api_lb_enabled ? [hcloud_load_balancer.api[0].ipv4, hcloud_load_balancer.api[0].ipv6] : [],
    length(var.api_allowed_cidrs) > 0 ? [for s in hcloud_server.master : s.ipv4_address] : [],
    var.api_extra_sans,
  )
  cni                        = var.cluster_configuration.cni
  cluster_cidr               = var.cluster_configuration.cluster_cidr
  service_cidr               = var.cluster_configuration.service_cidr
  anonymous_health_endpoints = local.readyz_health
  extra_server_config        = var.rke2_extra_server_config
  extra_agent_config         = var.rke2_extra_agent_config
}

locals {
  rke2_install_script_default = "https://get.rke2.io"

  # Installs the pinned RKE2 at creation. The install script is downloaded
  # first (with retries) and only then run, so a failed or truncated download
  # is a failed step - never an empty script piped into sh that "succeeds".
  install_rke2_script = <<-EOT
    #!/usr/bin/env bash
    # rke2-ops: install RKE2 (cloud-init runcmd). Env: INSTALL_RKE2_VERSION, INSTALL_RKE2_TYPE.
    set -euo pipefail
    url='${var.rke2_install_script_url}'
    export INSTALL_RKE2_VERSION="$${INSTALL_RKE2_VERSION:-${var.rke2_version}}"
    export INSTALL_RKE2_TYPE="$${INSTALL_RKE2_TYPE:-server}"
    script=$(mktemp)
    trap 'rm -f "$script"' EXIT
    for attempt in 1 2 3 4 5; do
      if curl -sfL --connect-timeout 10 --max-time 300 -o "$script" "$url" && [ -s "$script" ]; then
        if sh "$script"; then exit 0; fi
        echo "rke2-ops: RKE2 $INSTALL_RKE2_VERSION install failed (attempt $attempt of 5)" >&2
      else
        echo "rke2-ops: download of $url failed (attempt $attempt of 5)" >&2
      fi
      [ "$attempt" -lt 5 ] && sleep $((attempt * 10))
    done
    echo "rke2-ops: could not install RKE2 $INSTALL_RKE2_VERSION from $url" >&2
    exit 1
  EOT

  # Pods reach the metadata service through this host's PREROUTING hook (they
  # live in other network namespaces); the node's own processes - cloud-init,
  # host-network pods - go through OUTPUT and keep their access. nftables when
  # present (a drop in any base chain is final, whatever a CNI adds), else the
  # iptables raw table.
  restrict_metadata_script = <<-EOT
    #!/bin/sh
    # rke2-ops: keep pods away from the Hetzner metadata service (169.254.169.254).
    set -eu
    if command -v nft >/dev/null 2>&1; then
      nft -f - <<'NFT'
    table ip rke2_ops_metadata
    delete table ip rke2_ops_metadata
    table ip rke2_ops_metadata {
      chain prerouting {
        type filter hook prerouting priority -300; policy accept;
        ip daddr 169.254.169.254 counter drop
      }
    }
    NFT
    else
      iptables -t raw -C PREROUTING -d 169.254.169.254/32 -j DROP 2>/dev/null ||
        iptables -t raw -I PREROUTING 1 -d 169.254.169.254/32 -j DROP
    fi
  EOT

  restrict_metadata_unit = <<-EOT
    [Unit]
    Description=rke2-ops: keep pods away from the Hetzner metadata service
    DefaultDependencies=no
    After=local-fs.target
    Before=network-pre.target rke2-server.service rke2-agent.service
    Wants=network-pre.target

    [Service]
    Type=oneshot
    RemainAfterExit=yes
    ExecStart=/usr/local/sbin/rke2-ops-restrict-metadata

    [Install]
    WantedBy=multi-user.target
  EOT

  restrict_metadata_files = var.restrict_metadata_service ? [
    { path = "/usr/local/sbin/rke2-ops-restrict-metadata", permissions = "0755", owner = "root:root", content = local.restrict_metadata_script },
    { path = "/etc/systemd/system/rke2-ops-restrict-metadata.service", permissions = "0644", owner = "root:root", content = local.restrict_metadata_unit },
  ] : []
  restrict_metadata_runcmd = var.restrict_metadata_service ? [
    ["systemctl", "daemon-reload"],
    ["systemctl", "enable", "--now", "rke2-ops-restrict-metadata.service"],
  ] : []

  # ops_inventory.rke2.install_command: null means "the actions' default
  # (get.rke2.io)"; a custom URL is passed on. The actions run it with
  # INSTALL_RKE2_VERSION (and INSTALL_RKE2_TYPE=agent) in its environment.
  inventory_install_command = var.rke2_install_script_url == local.rke2_install_script_default ? null : "curl -sfL --retry 5 --retry-connrefused -o /tmp/rke2-ops-install.sh '${var.rke2_install_script_url}' && sh /tmp/rke2-ops-install.sh"

  # One cloud-config per node, used once at creation (lifecycle.ignore_changes
  # on user_data). It carries no RKE2 secret: tokens, the hcloud token and
  # everything that may change later come over the node channel
  # (node_channel.tf), which also starts RKE2 - so RKE2 never starts without
  # its token. What it does carry is the node's SSH host key (the only way to
  # pin it from the first connection); restrict_metadata_service keeps pods
  # from reading it.
  node_cloud_init = merge(
    {
      for m in local.masters : m.name => join("\n", ["#cloud-config", yamlencode({
        hostname            = m.name
        ssh_deletekeys      = true
        ssh_genkeytypes     = []
        ssh_keys            = { ed25519_private = tls_private_key.master_host[m.index].private_key_openssh, ed25519_public = local.master_host_public_keys[m.index] }
        ssh_authorized_keys = var.extra_ssh_public_keys
        write_files = concat(
          [
            { path = "/etc/rancher/rke2/config.yaml", permissions = "0600", owner = "root:root", content = module.rke2_config.base_configs[m.name] },
            { path = "/usr/local/sbin/rke2-ops-install-rke2", permissions = "0755", owner = "root:root", content = local.install_rke2_script },
          ],
          local.restrict_metadata_files,
        )
        runcmd = concat(local.restrict_metadata_runcmd, [
          ["env", "INSTALL_RKE2_TYPE=server", "/usr/local/sbin/rke2-ops-install-rke2"],
        ])
      })])
    },
    {
      for w in local.workers : w.name => join("\n", ["#cloud-config", yamlencode({
        hostname            = w.name
        ssh_deletekeys      = true
        ssh_genkeytypes     = []
        ssh_keys            = { ed25519_private = tls_private_key.worker_host[w.index].private_key_openssh, ed25519_public = local.worker_host_public_keys[w.index] }
        ssh_authorized_keys = var.extra_ssh_public_keys
        write_files = concat(
          [
            { path = "/etc/rancher/rke2/config.yaml", permissions = "0600", owner = "root:root", content = module.rke2_config.base_configs[w.name] },
            { path = "/usr/local/sbin/rke2-ops-install-rke2", permissions = "0755", owner = "root:root", content = local.install_rke2_script },
          ],
          local.restrict_metadata_files,
        )
        runcmd = concat(local.restrict_metadata_runcmd, [
          ["env", "INSTALL_RKE2_TYPE=agent", "/usr/local/sbin/rke2-ops-install-rke2"],
        ])
      })])
    },
  )
}
