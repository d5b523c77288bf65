# Open edX (Tutor) on RKE2: 3 masters for etcd quorum spread over fsn1/nbg1/hel1,
# 3 workers sized for the LMS/CMS, MySQL, MongoDB, Meilisearch and Redis
# (cpx41: 8 vCPU, 16 GB each), an ingress load balancer for 80/443 and the LMS
# heartbeat as the application health check.
module "cluster" {
  source = "../.."

  cluster_name = var.cluster_name
  hcloud_token = var.hcloud_token
  rke2_version = "v1.34.4+rke2r1"

  master_count       = 3
  master_server_type = "cpx31"
  worker_count       = 3
  worker_server_type = "cpx41"
  locations          = ["fsn1", "nbg1", "hel1"]

  ssh_allowed_cidrs = var.admin_cidrs
  api_allowed_cidrs = var.admin_cidrs

  control_plane_load_balancer = {
    type         = "lb11"
    health_check = "readyz"
  }

  ingress_load_balancer = {
    enabled = true
    type    = "lb11"
  }

  health_check_urls = ["https://${var.lms_host}/heartbeat"]

  delete_protection = true

  labels = {
    app = "openedx"
  }
}
