output "ops_inventory" {
  description = "Inventory for the ops actions: tofu output -json ops_inventory > inventory.json"
  value       = module.cluster.ops_inventory
}

output "kube_api_endpoint" {
  description = "Kubernetes API URL."
  value       = module.cluster.kube_api_endpoint
}

output "ssh_private_key" {
  description = "Root SSH key for every node."
  value       = module.cluster.ssh_private_key
  sensitive   = true
}
