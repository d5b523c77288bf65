variable "hcloud_token" {
  description = "Hetzner Cloud API token (provider and in-cluster CCM/CSI). Pass it as TF_VAR_hcloud_token."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "cluster_name" {
  description = "Cluster name."
  type        = string
  default     = "minimal"
  nullable    = false
}
