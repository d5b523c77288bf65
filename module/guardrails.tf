# Two layers (see docs/ARCHITECTURE.md §9):
# - hard rules that span several variables or the state: one lifecycle
#   precondition per terraform_data guard_*, so a failing plan (and a test's
#   expect_failures) names the rule. They stop `tofu plan`.
# - soft advice: check blocks. OpenTofu only WARNS on them; never put a rule
#   that must hold into a check block.

locals {
  # a contains b's base address, evaluated with a's prefix.
  network_prefix = tonumber(split("/", var.network_ip_range)[1])
  subnet_in_network = (
    local.subnet_prefix >= local.network_prefix &&
    cidrhost("${cidrhost(var.subnet_ip_range, 0)}/${local.network_prefix}", 0) == cidrhost(var.network_ip_range, 0)
  )

  pod_prefix     = tonumber(split("/", var.cluster_configuration.cluster_cidr)[1])
  pod_in_network = local.pod_prefix >= local.network_prefix && cidrhost("${cidrhost(var.cluster_configuration.cluster_cidr, 0)}/${local.network_prefix}", 0) == cidrhost(var.network_ip_range, 0)

  # Two CIDRs overlap exactly when one contains the other's base address.
  cidr_pairs = [
    [var.subnet_ip_range, var.cluster_configuration.cluster_cidr],
    [var.subnet_ip_range, var.cluster_configuration.service_cidr],
    [var.cluster_configuration.cluster_cidr, var.cluster_configuration.service_cidr],
  ]
  cidr_overlaps = [
    for p in local.cidr_pairs : (
      cidrhost("${cidrhost(p[1], 0)}/${split("/", p[0])[1]}", 0) == cidrhost(p[0], 0) ||
      cidrhost("${cidrhost(p[0], 0)}/${split("/", p[1])[1]}", 0) == cidrhost(p[1], 0)
    )
  ]

  # The user's kube-apiserver-arg entries (appended to the module's).
  user_apiserver_args = concat(
    [for a in flatten([try(var.rke2_extra_server_config["kube-apiserver-arg"], [])]) : tostring(a)],
    [for a in flatten([try(var.rke2_extra_server_config["kube-apiserver-arg+"], [])]) : tostring(a)],
  )
  conflicting_apiserver_args = [
    for a in local.user_apiserver_args : a
    if can(regex("^-{0,2}(authentication-config|anonymous-auth)=", a))
  ]

  channel_paths_ok = alltrue(flatten([
    for name, files in local.channel_files : [
      for f in files : can(regex("^(/etc/rancher/rke2/|/var/lib/rancher/rke2/server/manifests/)[A-Za-z0-9._-][A-Za-z0-9._/-]*$", f.path)) && !strcontains(f.path, "..") && !strcontains(f.path, "//")
    ]
  ]))
  channel_paths_unique = alltrue([for name, files in local.channel_files : length(distinct([for f in files : f.path])) == length(files)])
}

resource "terraform_data" "guard_one_network_zone" {
  lifecycle {
    precondition {
      condition     = length(local.location_zones) == 1
      error_message = "All locations must be in one Hetzner network zone (a private network spans one zone): got ${join(", ", var.locations)} in zones ${join(", ", local.location_zones)}. Use fsn1/nbg1/hel1 (eu-central), ash (us-east), hil (us-west) or sin (ap-southeast)."
    }
  }
}

resource "terraform_data" "guard_network_zone_fixed" {
  lifecycle {
    precondition {
      condition     = hcloud_network_subnet.nodes.network_zone == local.network_zone
      error_message = "The cluster's subnet is in network zone ${hcloud_network_subnet.nodes.network_zone}, fixed when it was created; locations (${join(", ", var.locations)}) now point to ${local.network_zone}. New servers there could not join the private network: keep locations in ${hcloud_network_subnet.nodes.network_zone}."
    }
  }
}

resource "terraform_data" "guard_load_balancer_zone" {
  lifecycle {
    precondition {
      condition     = local.location_network_zones[local.cp_lb_location] == local.network_zone && local.location_network_zones[local.ingress_lb_location] == local.network_zone
      error_message = "Load balancer locations (control plane: ${local.cp_lb_location}, ingress: ${local.ingress_lb_location}) must be in the network zone of the nodes (${local.network_zone})."
    }
  }
}

resource "terraform_data" "guard_subnet_in_network" {
  lifecycle {
    precondition {
      condition     = local.subnet_in_network
      error_message = "subnet_ip_range ${var.subnet_ip_range} must lie inside network_ip_range ${var.network_ip_range}."
    }
  }
}

resource "terraform_data" "guard_cidrs_disjoint" {
  lifecycle {
    precondition {
      condition     = !anytrue(local.cidr_overlaps)
      error_message = "subnet_ip_range (${var.subnet_ip_range}), cluster_configuration.cluster_cidr (${var.cluster_configuration.cluster_cidr}) and service_cidr (${var.cluster_configuration.service_cidr}) must not overlap."
    }
  }
}

resource "terraform_data" "guard_pod_cidr_routable" {
  lifecycle {
    precondition {
      condition     = !(local.ccm.enabled && local.ccm.networking) || local.pod_in_network
      error_message = "With hcloud CCM networking (routes) enabled, cluster_configuration.cluster_cidr (${var.cluster_configuration.cluster_cidr}) must lie inside network_ip_range (${var.network_ip_range}); widen the network (e.g. 10.0.0.0/8) or set hcloud_ccm.networking = false."
    }
  }
}

resource "terraform_data" "guard_readyz_needs_recent_rke2" {
  lifecycle {
    precondition {
      condition     = !(local.cp_lb_enabled && local.readyz_health) || local.rke2_supports_anonymous_config
      error_message = "control_plane_load_balancer.health_check = \"readyz\" needs anonymous access to /readyz through an AuthenticationConfiguration, which RKE2 accepts from v1.32.6+rke2r1, v1.33.1+rke2r1 and v1.34; rke2_version is ${var.rke2_version}. Use health_check = \"tcp\" or a newer RKE2."
    }
  }
}

resource "terraform_data" "guard_apiserver_args" {
  lifecycle {
    precondition {
      condition     = !local.readyz_health || length(local.conflicting_apiserver_args) == 0
      error_message = "rke2_extra_server_config kube-apiserver-arg ${jsonencode(local.conflicting_apiserver_args)} conflicts with the module's authentication config for the /readyz health check (kube-apiserver refuses anonymous-auth next to AuthenticationConfiguration.anonymous, and a second authentication-config replaces it). Drop the argument or set control_plane_load_balancer.health_check = \"tcp\"."
    }
  }
}

resource "terraform_data" "guard_channel_needs_ssh" {
  lifecycle {
    precondition {
      condition     = !local.channel_apply || length(var.ssh_allowed_cidrs) > 0
      error_message = "ssh_allowed_cidrs is empty, but the node channel (node_channel.apply = true) delivers every node's tokens and config over SSH from the machine running tofu. Allow that machine's address, or set node_channel.apply = false and deliver the node_channel_scripts/payloads through your own path."
    }
  }
}

resource "terraform_data" "guard_channel_paths" {
  lifecycle {
    precondition {
      condition     = local.channel_paths_ok && local.channel_paths_unique
      error_message = "Every node channel file must have a unique absolute path under /etc/rancher/rke2/ or /var/lib/rancher/rke2/server/manifests/ made of letters, digits, '.', '_', '-' and '/' (no '..')."
    }
  }
}

# --- backups (backup.tf) -------------------------------------------------------------------

resource "terraform_data" "guard_etcd_backup_s3_settings" {
  lifecycle {
    precondition {
      condition     = !local.etcd_backup_enabled || (trimspace(local.etcd_backup.s3_bucket) != "" && trimspace(nonsensitive(local.etcd_s3_access_key)) != "" && trimspace(nonsensitive(local.etcd_s3_secret_key)) != "")
      error_message = "cluster_configuration.etcd_backup.enabled needs s3_bucket (an existing bucket: RKE2 does not create it), s3_access_key and s3_secret_key. Without them every master would keep its snapshots on its own disk only."
    }
  }
}

resource "terraform_data" "guard_etcd_backup_endpoint" {
  lifecycle {
    precondition {
      condition     = !local.etcd_backup_enabled || local.etcd_s3_endpoint != ""
      error_message = "cluster_configuration.etcd_backup: Hetzner has no Object Storage in ${local.control_plane_location} (only ${join(", ", local.object_storage_locations)}), so no endpoint can be derived: set s3_endpoint, e.g. fsn1.your-objectstorage.com."
    }
  }
}

resource "terraform_data" "guard_etcd_s3_retention" {
  lifecycle {
    precondition {
      condition     = !local.etcd_backup_enabled || local.etcd_s3_retention_effective >= 2 * var.master_count
      error_message = "S3 keeps ${local.etcd_s3_retention_effective} etcd snapshots for the whole cluster, but each of the ${var.master_count} masters uploads one on every scheduled run: that is ${local.etcd_s3_restore_points} point(s) in time, and one run after an incident would replace the last good one. Set cluster_configuration.etcd_backup.s3_retention to at least ${2 * var.master_count} (null = master_count x retention)${local.rke2_has_s3_retention ? "" : "; rke2_version ${var.rke2_version} has no etcd-s3-retention, so retention applies to S3 - raise retention"}."
    }
  }
}

resource "terraform_data" "guard_velero_s3_settings" {
  lifecycle {
    precondition {
      condition     = !local.velero_enabled || (local.velero_s3_bucket != "" && trimspace(nonsensitive(local.velero_s3_access_key)) != "" && trimspace(nonsensitive(local.velero_s3_secret_key)) != "")
      error_message = "velero.enabled needs a bucket and S3 keys: set velero.s3_bucket, s3_access_key and s3_secret_key, or turn on cluster_configuration.etcd_backup with them (Velero reuses them when its own are empty)."
    }
  }
}

resource "terraform_data" "guard_velero_endpoint" {
  lifecycle {
    precondition {
      condition     = !local.velero_enabled || local.velero_s3_endpoint != ""
      error_message = "velero: Hetzner has no Object Storage in ${local.control_plane_location} and the etcd backup gives no endpoint: set velero.s3_endpoint, e.g. fsn1.your-objectstorage.com."
    }
  }
}

# Velero restores file-system backups into volumes it creates (rke2-facts.md §5.4): without a
# CSI driver nothing provisions them on Hetzner.
resource "terraform_data" "guard_velero_needs_csi" {
  lifecycle {
    precondition {
      condition     = !local.velero_enabled || local.csi.preinstall
      error_message = "velero.enabled needs the hcloud CSI driver (cluster_configuration.hcloud_csi.preinstall = true): Velero's file-system backups are restored into new PersistentVolumeClaims, which only the CSI driver can provision on Hetzner."
    }
  }
}

# Velero marks a storage location whose root holds folders it does not know unavailable
# (velero-io/velero#8918): in a bucket shared with the etcd snapshots its prefix must be apart.
resource "terraform_data" "guard_velero_prefix_apart" {
  lifecycle {
    precondition {
      condition = !(local.velero_enabled && local.velero_shares_etcd_place) || !(
        local.velero_s3_prefix == local.etcd_s3_folder ||
        startswith("${local.velero_s3_prefix}/", "${local.etcd_s3_folder}/") ||
        startswith("${local.etcd_s3_folder}/", "${local.velero_s3_prefix}/")
      )
      error_message = "velero.s3_prefix (${local.velero_s3_prefix}) and the etcd snapshots' folder (${local.etcd_s3_folder}) share bucket ${local.velero_s3_bucket}: neither may contain the other (Velero refuses foreign folders under its prefix). Use e.g. velero/${var.cluster_name}."
    }
  }
}

check "etcd_s3_keeps_fewer_points_than_the_masters" {
  assert {
    # Below two points the guard above already stops the plan.
    condition     = !local.etcd_backup_enabled || local.etcd_s3_retention_effective < 2 * var.master_count || local.etcd_s3_restore_points >= local.etcd_backup.retention
    error_message = "S3 keeps ${local.etcd_s3_restore_points} point(s) in time (${local.etcd_s3_retention_effective} snapshots / ${var.master_count} masters) while each master keeps ${local.etcd_backup.retention} locally: a lost master takes the older points with it. Raise s3_retention to ${var.master_count * local.etcd_backup.retention} if that is not what you want."
  }
}

check "etcd_s3_retention_needs_recent_rke2" {
  assert {
    condition     = !local.etcd_backup_enabled || local.rke2_has_s3_retention || local.etcd_backup.s3_retention == null
    error_message = "rke2_version ${var.rke2_version} has no etcd-s3-retention (from v1.31.12, v1.32.8, v1.33.4, v1.34.0): s3_retention is ignored and retention (${local.etcd_backup.retention}) applies to S3 across the cluster."
  }
}

check "ha_without_control_plane_lb" {
  assert {
    condition     = var.master_count == 1 || local.cp_lb_enabled
    error_message = "master_count is ${var.master_count} but the control-plane load balancer is disabled: nodes join through master-0 only and the Kubernetes API has no highly available endpoint."
  }
}

check "ingress_lb_on_masters" {
  assert {
    condition     = !local.ingress_lb_enabled || var.worker_count > 0
    error_message = "The ingress load balancer targets the masters because worker_count is 0; application traffic will share the control-plane nodes."
  }
}

# Existing servers keep their type, location and public IPv6 (servers.tf):
# say so when the variables have moved on.
check "servers_keep_their_type" {
  assert {
    condition = alltrue(concat(
      [for s in hcloud_server.master : s.server_type == var.master_server_type],
      [for s in hcloud_server.worker : s.server_type == var.worker_server_type],
    ))
    error_message = "Existing servers keep their server type (tofu would power them all off at once to resize): ${join(", ", concat([for s in hcloud_server.master : "${s.name}=${s.server_type}" if s.server_type != var.master_server_type], [for s in hcloud_server.worker : "${s.name}=${s.server_type}" if s.server_type != var.worker_server_type]))}. Only new servers get master_server_type/worker_server_type; resize existing ones one at a time (docs/ARCHITECTURE.md §8)."
  }
}

check "servers_keep_their_location" {
  assert {
    condition = alltrue(concat(
      [for i, s in hcloud_server.master : s.location == local.masters[i].location],
      [for i, s in hcloud_server.worker : s.location == local.workers[i].location],
    ))
    error_message = "Existing servers stay in the location they were created in (moving one means replacing it); only new servers follow the changed locations list."
  }
}

check "servers_keep_their_ipv6" {
  assert {
    condition = alltrue([
      for s in concat(hcloud_server.master, hcloud_server.worker) : one(s.public_net).ipv6_enabled == var.enable_ipv6
    ])
    error_message = "Existing servers keep their public IPv6 setting (changing it powers a server off); enable_ipv6 = ${var.enable_ipv6} applies to new servers only."
  }
}

check "metadata_restriction_with_cilium_kpr" {
  assert {
    condition     = !(var.restrict_metadata_service && var.cluster_configuration.cni == "cilium" && !module.rke2_config.kube_proxy_enabled)
    error_message = "Cilium without kube-proxy may route pod traffic past netfilter (eBPF host routing), where restrict_metadata_service cannot drop it: add a CiliumClusterwideNetworkPolicy denying egress to 169.254.169.254/32."
  }
}
