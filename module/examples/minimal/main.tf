# The smallest useful cluster: 1 master, 1 worker, the control-plane load
# balancer with the /readyz health check, hcloud CCM and CSI.
module "cluster" {
  source = "../.."

  cluster_name = var.cluster_name
  hcloud_token = var.hcloud_token
}
