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
  description = "Networks allowed to reach SSH and the Kubernetes API (your office, VPN and CI runners)."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
  nullable    = false
}
