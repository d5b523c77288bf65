################################################################################
# Control-plane load balancer: private only. 6443 (Kubernetes API) and 9345
# (RKE2 supervisor, the join address) on the subnet's .2.
#
# Hetzner load balancers take no firewall, and a service listens on every
# interface of its load balancer: the supervisor (9345: node join, etcd
# snapshot CLI) must never share a load balancer with a public interface.
################################################################################

resource "hcloud_load_balancer" "control_plane" {
  count = local.cp_lb_enabled ? 1 : 0

  name               = "${var.cluster_name}-control-plane"
  load_balancer_type = var.control_plane_load_balancer.type
  location           = local.cp_lb_location
  delete_protection  = var.delete_protection
  labels             = merge(local.common_labels, { "role" = "control-plane" })

  algorithm {
    type = "round_robin"
  }

  lifecycle {
    # ForceNew: a replaced load balancer gets new addresses. It keeps the
    # location it was created in (var.locations may be reordered).
    ignore_changes = [location]
  }
}

resource "hcloud_load_balancer_network" "control_plane" {
  count = local.cp_lb_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.control_plane[0].id
  subnet_id        = hcloud_network_subnet.nodes.id
  # Fixed address: it is the join address in every node's config.yaml.
  ip                      = local.cp_lb_private_ip
  enable_public_interface = false
}

resource "hcloud_load_balancer_target" "control_plane" {
  count = local.cp_lb_enabled ? var.master_count : 0

  type             = "server"
  load_balancer_id = hcloud_load_balancer.control_plane[0].id
  server_id        = hcloud_server.master[count.index].id
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.control_plane]
}

resource "hcloud_load_balancer_service" "kube_api" {
  count = local.cp_lb_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.control_plane[0].id
  protocol         = "tcp"
  listen_port      = 6443
  destination_port = 6443

  # readyz: HTTPS GET /readyz must return 200 "ok". It tells a ready apiserver
  # (etcd reachable, post-start hooks done) from one that merely accepts TLS.
  # It needs anonymous access to /readyz, which rke2-config grants through an
  # AuthenticationConfiguration limited to /readyz, /livez and /healthz.
  # tcp: fallback for RKE2 releases that cannot take that configuration.
  health_check {
    protocol = local.readyz_health ? "http" : "tcp"
    port     = 6443
    interval = 10
    timeout  = 5
    retries  = 3

    dynamic "http" {
      for_each = local.readyz_health ? [1] : []
      content {
        path         = "/readyz"
        tls          = true
        status_codes = ["200"]
        response     = "ok"
      }
    }
  }
}

# The supervisor has no documented unauthenticated readiness endpoint
# (rke2-facts.md section 7: /ping is unverified), so TCP it is.
resource "hcloud_load_balancer_service" "supervisor" {
  count = local.cp_lb_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.control_plane[0].id
  protocol         = "tcp"
  listen_port      = 9345
  destination_port = 9345

  health_check {
    protocol = "tcp"
    port     = 9345
    interval = 10
    timeout  = 5
    retries  = 3
  }
}

################################################################################
# Optional public API load balancer (control_plane_load_balancer.public): 6443
# only, at the subnet's .4. Reachable from the whole Internet: Hetzner load
# balancers take no firewall, and api_allowed_cidrs filters only the masters'
# own interfaces.
################################################################################

resource "hcloud_load_balancer" "api" {
  count = local.api_lb_enabled ? 1 : 0

  name               = "${var.cluster_name}-api"
  load_balancer_type = var.control_plane_load_balancer.type
  location           = local.cp_lb_location
  delete_protection  = var.delete_protection
  labels             = merge(local.common_labels, { "role" = "api" })

  algorithm {
    type = "round_robin"
  }

  lifecycle {
    ignore_changes = [location]
  }
}

resource "hcloud_load_balancer_network" "api" {
  count = local.api_lb_enabled ? 1 : 0

  load_balancer_id        = hcloud_load_balancer.api[0].id
  subnet_id               = hcloud_network_subnet.nodes.id
  ip                      = local.api_lb_private_ip
  enable_public_interface = true
}

resource "hcloud_load_balancer_target" "api" {
  count = local.api_lb_enabled ? var.master_count : 0

  type             = "server"
  load_balancer_id = hcloud_load_balancer.api[0].id
  server_id        = hcloud_server.master[count.index].id
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.api]
}

resource "hcloud_load_balancer_service" "api" {
  count = local.api_lb_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.api[0].id
  protocol         = "tcp"
  listen_port      = 6443
  destination_port = 6443

  # Same check as the private 6443 service.
  health_check {
    protocol = local.readyz_health ? "http" : "tcp"
    port     = 6443
    interval = 10
    timeout  = 5
    retries  = 3

    dynamic "http" {
      for_each = local.readyz_health ? [1] : []
      content {
        path         = "/readyz"
        tls          = true
        status_codes = ["200"]
        response     = "ok"
      }
    }
  }
}

################################################################################
# Optional ingress load balancer: 80/443 TCP passthrough to the ingress controller
################################################################################

locals {
  ingress_targets = var.worker_count > 0 ? [for s in hcloud_server.worker : s.id] : [for s in hcloud_server.master : s.id]
}

resource "hcloud_load_balancer" "ingress" {
  count = local.ingress_lb_enabled ? 1 : 0

  name               = "${var.cluster_name}-ingress"
  load_balancer_type = var.ingress_load_balancer.type
  location           = local.ingress_lb_location
  delete_protection  = var.delete_protection
  labels             = merge(local.common_labels, { "role" = "ingress" })

  algorithm {
    type = "round_robin"
  }

  lifecycle {
    ignore_changes = [location]
  }
}

resource "hcloud_load_balancer_network" "ingress" {
  count = local.ingress_lb_enabled ? 1 : 0

  load_balancer_id = hcloud_load_balancer.ingress[0].id
  subnet_id        = hcloud_network_subnet.nodes.id
  ip               = local.ingress_private_ip
}

resource "hcloud_load_balancer_target" "ingress" {
  count = local.ingress_lb_enabled ? (var.worker_count > 0 ? var.worker_count : var.master_count) : 0

  type             = "server"
  load_balancer_id = hcloud_load_balancer.ingress[0].id
  server_id        = local.ingress_targets[count.index]
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.ingress]
}

resource "hcloud_load_balancer_service" "ingress" {
  for_each = local.ingress_lb_enabled ? toset(["80", "443"]) : toset([])

  load_balancer_id = hcloud_load_balancer.ingress[0].id
  protocol         = "tcp"
  listen_port      = tonumber(each.key)
  destination_port = tonumber(each.key)

  health_check {
    protocol = "tcp"
    port     = tonumber(each.key)
    interval = 10
    timeout  = 5
    retries  = 3
  }
}
