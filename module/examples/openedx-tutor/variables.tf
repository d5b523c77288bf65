variable "hcloud_token" {
  description = "Hetzner Cloud API token (provider and in-cluster CCM/CSI). Pass it as TF_VAR_hcloud_token."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "cluster_name" {
  description = "Cluster name."
  type        = string
  default     = "tutor"
  nullable    = false
}

variable "lms_host" {
  description = "Public host name of the Open edX LMS (Tutor LMS_HOST); its /heartbeat is the application health check."
  type        = string
  default     = "lms.example.com"
  nullable    = false
}

variable "admin_cidrs" {
  description = "Networks allowed to reach SSH (tofu's node channel, the ops actions) and the Kubernetes API on the masters: your office, VPN and CI runners. No default: say who may."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.admin_cidrs) > 0
    error_message = "admin_cidrs must name at least one network (tofu itself connects over SSH to deliver the node configs)."
  }
}

variable "backup_bucket" {
  description = "Existing Hetzner Object Storage bucket (in fsn1) for the etcd snapshots and Velero backups."
  type        = string
  default     = "tutor-backups"
  nullable    = false
}

variable "s3_access_key" {
  description = "Hetzner Object Storage access key for backup_bucket. Pass it as TF_VAR_s3_access_key."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "s3_secret_key" {
  description = "Hetzner Object Storage secret key for backup_bucket. Pass it as TF_VAR_s3_secret_key."
  type        = string
  sensitive   = true
  nullable    = false
}
