output "ops_inventory" {
  description = "Inventory for the ops actions: tofu output -json ops_inventory > inventory.json"
  value       = module.cluster.ops_inventory
}

output "kube_api_endpoint" {
  description = "Kubernetes API URL (master-0, reachable from admin_cidrs)."
  value       = module.cluster.kube_api_endpoint
}

output "ingress_ipv4" {
  description = "Point the LMS/CMS DNS records (A) here."
  value       = module.cluster.ingress_lb.ipv4
}

output "ssh_private_key" {
  description = "Root SSH key for every node."
  value       = module.cluster.ssh_private_key
  sensitive   = true
}

output "rke2_token" {
  description = "RKE2 token: store it with the etcd snapshots (restores onto new hosts need it)."
  value       = module.cluster.rke2_token
  sensitive   = true
}

output "etcd_backup_enabled" {
  description = "etcd snapshots go to S3."
  value       = module.cluster.etcd_backup_enabled
}

output "velero_enabled" {
  description = "Velero backs up the volumes."
  value       = module.cluster.velero_enabled
}
