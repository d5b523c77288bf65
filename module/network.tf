resource "hcloud_network" "this" {
  name     = var.cluster_name
  ip_range = var.network_ip_range
  labels   = local.common_labels
}

resource "hcloud_network_subnet" "nodes" {
  network_id   = hcloud_network.this.id
  type         = "cloud"
  network_zone = local.network_zone
  ip_range     = var.subnet_ip_range

  lifecycle {
    # ForceNew, and every server is attached to this subnet: the zone is fixed
    # at creation. A guardrail (guard_network_zone_fixed) refuses locations in
    # another zone instead of planning a subnet replacement.
    ignore_changes = [network_zone]
  }
}
