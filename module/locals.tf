locals {
  # Hetzner private networks live in exactly one network zone.
  location_network_zones = {
    fsn1 = "eu-central"
    nbg1 = "eu-central"
    hel1 = "eu-central"
    ash  = "us-east"
    hil  = "us-west"
    sin  = "ap-southeast"
  }
  network_zone   = local.location_network_zones[var.locations[0]]
  location_zones = distinct([for l in var.locations : local.location_network_zones[l]])

  common_labels = merge(var.labels, {
    "cluster"    = var.cluster_name
    "managed-by" = "rke2-ops"
  })

  data_dir = "/var/lib/rancher/rke2"

  ccm = var.cluster_configuration.hcloud_ccm
  csi = var.cluster_configuration.hcloud_csi

  cp_lb_enabled       = var.control_plane_load_balancer.enabled
  api_lb_enabled      = local.cp_lb_enabled && var.control_plane_load_balancer.public
  cp_lb_location      = coalesce(var.control_plane_load_balancer.location, var.locations[0])
  ingress_lb_enabled  = var.ingress_load_balancer.enabled
  ingress_lb_location = coalesce(var.ingress_load_balancer.location, var.locations[0])
  readyz_health       = var.control_plane_load_balancer.health_check == "readyz"

  # Fixed private addresses come from the rke2-config submodule (one address
  # plan for the servers, the tests and tests/render-config.sh): .2 control-plane
  # LB, .3 ingress LB, .11+ masters, .101+ workers. subnet_ip_range is /24 or
  # larger and worker_count <= 100, so every address exists.
  subnet_prefix      = tonumber(split("/", var.subnet_ip_range)[1])
  cp_lb_private_ip   = module.rke2_config.control_plane_lb_private_ip
  ingress_private_ip = module.rke2_config.ingress_lb_private_ip
  api_lb_private_ip  = module.rke2_config.api_lb_private_ip

  # The location a NEW server gets. An existing server keeps the one it was
  # created in (lifecycle.ignore_changes = [location] in servers.tf).
  masters = [
    for m in module.rke2_config.masters : merge(m, { location = var.locations[m.index % length(var.locations)] })
  ]
  workers = [
    for w in module.rke2_config.workers : merge(w, { location = var.locations[w.index % length(var.locations)] })
  ]

  # Spread placement groups hold at most 10 servers each.
  worker_placement_group_count = var.placement_groups ? ceil(var.worker_count / 10) : 0

  # RKE2 version gate for the anonymous /readyz health check.
  rke2_version_parts = regex("^v1\\.([0-9]+)\\.([0-9]+)\\+rke2r([0-9]+)$", var.rke2_version)
  kube_minor         = tonumber(local.rke2_version_parts[0])
  kube_patch         = tonumber(local.rke2_version_parts[1])
  rke2_supports_anonymous_config = (
    local.kube_minor >= 34 ||
    (local.kube_minor == 33 && local.kube_patch >= 1) ||
    (local.kube_minor == 32 && local.kube_patch >= 6)
  )
}
