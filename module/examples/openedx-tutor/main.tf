# Open edX (Tutor) on RKE2: 3 masters for etcd quorum spread over fsn1/nbg1/hel1,
# 3 workers sized for the LMS/CMS, MySQL, MongoDB, Meilisearch and Redis
# (cpx41: 8 vCPU, 16 GB each), an ingress load balancer for 80/443, the LMS
# heartbeat as the application health check, etcd snapshots every 6 h to Hetzner
# Object Storage and Velero file-system backups of the databases' volumes (with
# mysqldump/mongodump hooks) into the same bucket.
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

  cluster_configuration = {
    etcd_backup = {
      enabled = true
      # Endpoint fsn1.your-objectstorage.com (the control plane's location), folder "tutor";
      # 3 masters x 10 snapshots kept in S3.
      s3_bucket     = var.backup_bucket
      s3_access_key = var.s3_access_key
      s3_secret_key = var.s3_secret_key
    }
  }

  # Same bucket and keys (prefix velero/tutor), every 6 h, kept 30 days.
  velero = {
    enabled = true
  }

  delete_protection = true

  labels = {
    app = "openedx"
  }
}
