# Hetzner Cloud firewalls filter the public interfaces only. Cluster-internal
# ports (etcd 2379-2381, supervisor 9345, kubelet 10250, CNI overlay ports) are
# therefore reachable only through the private network: they are deliberately
# absent here, and everything not listed is dropped on the public side.

resource "hcloud_firewall" "masters" {
  name   = "${var.cluster_name}-masters"
  labels = merge(local.common_labels, { "role" = "master" })

  dynamic "rule" {
    for_each = length(var.ssh_allowed_cidrs) > 0 ? [1] : []
    content {
      description = "SSH"
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = var.ssh_allowed_cidrs
    }
  }

  dynamic "rule" {
    for_each = length(var.api_allowed_cidrs) > 0 ? [1] : []
    content {
      description = "Kubernetes API"
      direction   = "in"
      protocol    = "tcp"
      port        = "6443"
      source_ips  = var.api_allowed_cidrs
    }
  }

  dynamic "rule" {
    for_each = var.allow_icmp ? [1] : []
    content {
      description = "ICMP"
      direction   = "in"
      protocol    = "icmp"
      source_ips  = ["0.0.0.0/0", "::/0"]
    }
  }
}

resource "hcloud_firewall" "workers" {
  name   = "${var.cluster_name}-workers"
  labels = merge(local.common_labels, { "role" = "worker" })

  dynamic "rule" {
    for_each = length(var.ssh_allowed_cidrs) > 0 ? [1] : []
    content {
      description = "SSH"
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = var.ssh_allowed_cidrs
    }
  }

  dynamic "rule" {
    for_each = var.allow_icmp ? [1] : []
    content {
      description = "ICMP"
      direction   = "in"
      protocol    = "icmp"
      source_ips  = ["0.0.0.0/0", "::/0"]
    }
  }
}
