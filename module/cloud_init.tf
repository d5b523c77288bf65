# config.yaml per node, rendered by the provider-free submodule so that tests
# and scripts (tests/render-config.sh) render exactly what the servers get.
module "rke2_config" {
  source = "./modules/rke2-config"

  cluster_name = var.cluster_name
  rke2_version = var.rke2_version
  token        = local.rke2_token
  # Joining masters and agents register through the control-plane LB's fixed
  # private IP, or master-0 directly when there is no LB.
  subnet_ip_range        = var.subnet_ip_range
  master_count           = var.master_count
  worker_count           = var.worker_count
  join_via_load_balancer = local.cp_lb_enabled
  tls_san = concat(
    local.cp_lb_enabled && var.control_plane_load_balancer.public ? [hcloud_load_balancer.control_plane[0].ipv4] : [],
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
  manifests_dir = "${local.data_dir}/server/manifests"

  # RKE2's deploy controller applies every file in server/manifests on each
  # server. HelmChart objects are installed by RKE2's helm-controller inside
  # the cluster, so OpenTofu needs no kubeconfig and no helm/kubernetes provider.
  hcloud_secret_manifest = yamlencode({
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "hcloud", namespace = "kube-system" }
    type       = "Opaque"
    stringData = {
      token   = var.hcloud_token
      network = hcloud_network.this.id
    }
  })

  hcloud_ccm_manifest = yamlencode({
    apiVersion = "helm.cattle.io/v1"
    kind       = "HelmChart"
    metadata   = { name = "hcloud-cloud-controller-manager", namespace = "kube-system" }
    spec = {
      repo            = "https://charts.hetzner.cloud"
      chart           = "hcloud-cloud-controller-manager"
      version         = local.ccm.chart_version
      targetNamespace = "kube-system"
      # Every node carries node.cloudprovider.kubernetes.io/uninitialized until
      # the CCM runs: the install job must run on the host network before that.
      bootstrap = true
      valuesContent = yamlencode({
        networking = {
          enabled     = local.ccm.networking
          clusterCIDR = var.cluster_configuration.cluster_cidr
        }
        env = {
          HCLOUD_LOAD_BALANCERS_USE_PRIVATE_IP = { value = "true" }
          HCLOUD_LOAD_BALANCERS_LOCATION       = { value = local.cp_lb_location }
        }
      })
    }
  })

  hcloud_csi_manifest = yamlencode({
    apiVersion = "helm.cattle.io/v1"
    kind       = "HelmChart"
    metadata   = { name = "hcloud-csi", namespace = "kube-system" }
    spec = {
      repo            = "https://charts.hetzner.cloud"
      chart           = "hcloud-csi"
      version         = local.csi.chart_version
      targetNamespace = "kube-system"
      # The chart reads the token from Secret kube-system/hcloud, key "token".
      valuesContent = yamlencode({
        controller = { hcloudToken = { existingSecret = { name = "hcloud", key = "token" } } }
      })
    }
  })

  server_manifest_files = concat(
    local.ccm.enabled || local.csi.preinstall ? [{ path = "${local.manifests_dir}/hcloud-secret.yaml", content = local.hcloud_secret_manifest }] : [],
    local.ccm.enabled ? [{ path = "${local.manifests_dir}/hcloud-ccm.yaml", content = local.hcloud_ccm_manifest }] : [],
    local.csi.preinstall ? [{ path = "${local.manifests_dir}/hcloud-csi.yaml", content = local.hcloud_csi_manifest }] : [],
  )

  auth_config_files = local.readyz_health ? [{ path = module.rke2_config.auth_config_path, content = module.rke2_config.auth_config_yaml }] : []

  install_command = {
    server = "curl -sfL ${var.rke2_install_script_url} | INSTALL_RKE2_VERSION='${var.rke2_version}' sh -"
    agent  = "curl -sfL ${var.rke2_install_script_url} | INSTALL_RKE2_VERSION='${var.rke2_version}' INSTALL_RKE2_TYPE=agent sh -"
  }

  # One cloud-config per node. Only user_data carries secrets; it is ignored
  # after creation (lifecycle.ignore_changes), so edits here never replace a
  # server. Upgrades are done in place (docs/ARCHITECTURE.md).
  node_cloud_init = merge(
    {
      for m in local.masters : m.name => join("\n", ["#cloud-config", yamlencode({
        hostname            = m.name
        ssh_deletekeys      = true
        ssh_genkeytypes     = []
        ssh_keys            = { ed25519_private = tls_private_key.master_host[m.index].private_key_openssh, ed25519_public = local.master_host_public_keys[m.index] }
        ssh_authorized_keys = var.extra_ssh_public_keys
        write_files = concat(
          [{ path = "/etc/rancher/rke2/config.yaml", permissions = "0600", owner = "root:root", content = module.rke2_config.configs[m.name] }],
          [for f in local.auth_config_files : merge(f, { permissions = "0600", owner = "root:root" })],
          [for f in local.server_manifest_files : merge(f, { permissions = "0600", owner = "root:root" })],
        )
        runcmd = [
          ["sh", "-c", local.install_command.server],
          ["systemctl", "enable", "--now", "rke2-server.service"],
        ]
      })])
    },
    {
      for w in local.workers : w.name => join("\n", ["#cloud-config", yamlencode({
        hostname            = w.name
        ssh_deletekeys      = true
        ssh_genkeytypes     = []
        ssh_keys            = { ed25519_private = tls_private_key.worker_host[w.index].private_key_openssh, ed25519_public = local.worker_host_public_keys[w.index] }
        ssh_authorized_keys = var.extra_ssh_public_keys
        write_files = [
          { path = "/etc/rancher/rke2/config.yaml", permissions = "0600", owner = "root:root", content = module.rke2_config.configs[w.name] },
        ]
        runcmd = [
          ["sh", "-c", local.install_command.agent],
          ["systemctl", "enable", "--now", "rke2-agent.service"],
        ]
      })])
    },
  )
}
