resource "hcloud_placement_group" "masters" {
  count = var.placement_groups ? 1 : 0

  name   = "${var.cluster_name}-masters"
  type   = "spread"
  labels = merge(local.common_labels, { "role" = "master" })
}

resource "hcloud_placement_group" "workers" {
  count  = local.worker_placement_group_count
  name   = "${var.cluster_name}-workers-${count.index}"
  type   = "spread"
  labels = merge(local.common_labels, { "role" = "worker" })
}

resource "hcloud_server" "master" {
  count = var.master_count

  name               = local.masters[count.index].name
  server_type        = var.master_server_type
  image              = var.image
  location           = local.masters[count.index].location
  placement_group_id = var.placement_groups ? hcloud_placement_group.masters[0].id : null
  firewall_ids       = [hcloud_firewall.masters.id]
  ssh_keys           = [hcloud_ssh_key.this.id]
  user_data          = local.node_cloud_init[local.masters[count.index].name]
  delete_protection  = var.delete_protection
  rebuild_protection = var.delete_protection
  labels = merge(local.common_labels, {
    "role" = "master"
    # master-0 is the initial server (no server: line); the ops actions rely on it.
    "rke2-initial-server" = count.index == 0 ? "true" : "false"
  })

  public_net {
    ipv4_enabled = true
    ipv6_enabled = var.enable_ipv6
  }

  network {
    network_id = hcloud_network.this.id
    ip         = local.masters[count.index].private_ip
    alias_ips  = []
  }

  # The server must not be created before its subnet exists (provider docs).
  depends_on = [hcloud_network_subnet.nodes]

  lifecycle {
    # Nothing may replace or power off a running master: replacing one
    # destroys an etcd member and its data (master-0: the cluster), and tofu
    # would do every master at once, losing etcd quorum.
    # - user_data, image, ssh_keys, location: ForceNew in the provider. They
    #   matter at creation only; changes reach live nodes over the node
    #   channel, upgrades happen in place. A server keeps the location it was
    #   created in (changing var.locations only affects new servers).
    # - server_type, public_net: the provider powers the server off to change
    #   them. Resize one server at a time instead (docs/ARCHITECTURE.md §8).
    ignore_changes = [user_data, image, ssh_keys, location, server_type, public_net]
  }
}

resource "hcloud_server" "worker" {
  count = var.worker_count

  name               = local.workers[count.index].name
  server_type        = var.worker_server_type
  image              = var.image
  location           = local.workers[count.index].location
  placement_group_id = var.placement_groups ? hcloud_placement_group.workers[floor(count.index / 10)].id : null
  firewall_ids       = [hcloud_firewall.workers.id]
  ssh_keys           = [hcloud_ssh_key.this.id]
  user_data          = local.node_cloud_init[local.workers[count.index].name]
  delete_protection  = var.delete_protection
  rebuild_protection = var.delete_protection
  labels             = merge(local.common_labels, { "role" = "worker" })

  public_net {
    ipv4_enabled = true
    ipv6_enabled = var.enable_ipv6
  }

  network {
    network_id = hcloud_network.this.id
    ip         = local.workers[count.index].private_ip
    alias_ips  = []
  }

  depends_on = [hcloud_network_subnet.nodes]

  lifecycle {
    # As for masters: tofu would power off or replace every worker at once.
    ignore_changes = [user_data, image, ssh_keys, location, server_type, public_net]
  }
}
