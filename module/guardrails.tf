# Two layers (see docs/ARCHITECTURE.md):
# - hard rules that span several variables: lifecycle preconditions on
#   terraform_data.guardrails. They stop `tofu plan`.
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
  svc_prefix     = tonumber(split("/", var.cluster_configuration.service_cidr)[1])
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
}

resource "terraform_data" "guardrails" {
  input = {
    cluster_name = var.cluster_name
    rke2_version = var.rke2_version
  }

  lifecycle {
    precondition {
      condition     = length(local.location_zones) == 1
      error_message = "All locations must be in one Hetzner network zone (a private network spans one zone): got ${join(", ", var.locations)} in zones ${join(", ", local.location_zones)}. Use fsn1/nbg1/hel1 (eu-central), ash (us-east), hil (us-west) or sin (ap-southeast)."
    }

    precondition {
      condition     = local.location_network_zones[local.cp_lb_location] == local.network_zone && local.location_network_zones[local.ingress_lb_location] == local.network_zone
      error_message = "Load balancer locations (control plane: ${local.cp_lb_location}, ingress: ${local.ingress_lb_location}) must be in the network zone of the nodes (${local.network_zone})."
    }

    precondition {
      condition     = local.subnet_in_network
      error_message = "subnet_ip_range ${var.subnet_ip_range} must lie inside network_ip_range ${var.network_ip_range}."
    }

    precondition {
      condition     = !anytrue(local.cidr_overlaps)
      error_message = "subnet_ip_range (${var.subnet_ip_range}), cluster_configuration.cluster_cidr (${var.cluster_configuration.cluster_cidr}) and service_cidr (${var.cluster_configuration.service_cidr}) must not overlap."
    }

    precondition {
      condition     = !(local.ccm.enabled && local.ccm.networking) || local.pod_in_network
      error_message = "With hcloud CCM networking (routes) enabled, cluster_configuration.cluster_cidr (${var.cluster_configuration.cluster_cidr}) must lie inside network_ip_range (${var.network_ip_range}); widen the network (e.g. 10.0.0.0/8) or set hcloud_ccm.networking = false."
    }

    precondition {
      condition     = !(local.cp_lb_enabled && local.readyz_health) || local.rke2_supports_anonymous_config
      error_message = "control_plane_load_balancer.health_check = \"readyz\" needs anonymous access to /readyz through an AuthenticationConfiguration, which RKE2 accepts from v1.32.6+rke2r1, v1.33.1+rke2r1 and v1.34; rke2_version is ${var.rke2_version}. Use health_check = \"tcp\" or a newer RKE2."
    }

    precondition {
      condition     = !local.cp_lb_enabled || var.control_plane_load_balancer.public || length(var.api_extra_sans) > 0 || length(var.api_allowed_cidrs) > 0
      error_message = "A private-only control-plane load balancer with api_allowed_cidrs empty leaves no way to reach the Kubernetes API from outside the private network; open api_allowed_cidrs, make the LB public, or give api_extra_sans for your own access path."
    }
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
