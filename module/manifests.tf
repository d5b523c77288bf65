# In-cluster components installed by RKE2 itself: files in server/manifests on
# every master, delivered by the node channel (node_channel.tf). RKE2's deploy
# controller applies them and its helm-controller installs the charts, so
# OpenTofu needs no kubeconfig and no helm/kubernetes provider (ARCHITECTURE §6).

locals {
  manifests_dir = "${local.data_dir}/server/manifests"

  # The load balancers the CCM creates for Services go where the control-plane
  # LB is - the location it was created in, not a re-derived one.
  cp_lb_location_pinned = local.cp_lb_enabled ? hcloud_load_balancer.control_plane[0].location : local.cp_lb_location

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
          HCLOUD_LOAD_BALANCERS_LOCATION       = { value = local.cp_lb_location_pinned }
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
      # The node plugin asks the metadata service for its server ID and
      # location, and the controller for its default volume location: with
      # pods kept away from it (restrict_metadata_service) the node plugin runs
      # on the host network and the controller is told the location.
      valuesContent = yamlencode(merge(
        {
          controller = merge(
            { hcloudToken = { existingSecret = { name = "hcloud", key = "token" } } },
            var.restrict_metadata_service ? { hcloudVolumeDefaultLocation = local.cp_lb_location_pinned } : {},
          )
        },
        var.restrict_metadata_service ? { node = { hostNetwork = true } } : {},
      ))
    }
  })

  hcloud_manifest_files = concat(
    local.ccm.enabled || local.csi.preinstall ? [{ path = "${local.manifests_dir}/hcloud-secret.yaml", content = local.hcloud_secret_manifest, restart = false }] : [],
    local.ccm.enabled ? [{ path = "${local.manifests_dir}/hcloud-ccm.yaml", content = local.hcloud_ccm_manifest, restart = false }] : [],
    local.csi.preinstall ? [{ path = "${local.manifests_dir}/hcloud-csi.yaml", content = local.hcloud_csi_manifest, restart = false }] : [],
  )
}
