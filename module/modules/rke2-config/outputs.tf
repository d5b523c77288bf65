output "configs" {
  description = "Effective RKE2 configuration per node name as YAML (config.yaml merged with the drop-ins). Contains the token."
  value       = { for name, cfg in local.config_objects : name => yamlencode(cfg) }
  sensitive   = true
}

output "config_objects" {
  description = "The same configuration as objects, for assertions."
  value       = local.config_objects
  sensitive   = true
}

output "base_configs" {
  description = "/etc/rancher/rke2/config.yaml per node name (YAML): node identity and cluster shape, written once at creation. No secret."
  value       = merge({ for n, c in local.base_master_configs : n => yamlencode(c) }, { for n, c in local.base_worker_configs : n => yamlencode(c) })
}

output "dropins" {
  description = "Per node name: drop-in file name in dropin_dir => YAML. The token drop-in (10-) and the server/agent drop-in (20-) with the module's changeable keys and the extra config."
  value       = local.dropins
  sensitive   = true
}

output "dropin_names" {
  description = "Per node name: the drop-in file names in dropin_dir, in the order RKE2 reads them."
  value       = local.dropin_names
}

output "dropin_dir" {
  description = "RKE2's drop-in directory (config.yaml.d)."
  value       = local.dropin_dir
}

output "kube_proxy_enabled" {
  description = "false when the server config disables kube-proxy (disable-kube-proxy, parsed like RKE2 does)."
  value       = !local.kube_proxy_disabled
}

output "roles" {
  description = "Role per node name: server-init (masters[0]), server-join or agent."
  value       = local.roles
}

output "node_names" {
  description = "Node names in order: masters first, then workers."
  value       = concat([for m in local.masters : m.name], [for w in local.workers : w.name])
}

output "auth_config_path" {
  description = "Where the AuthenticationConfiguration file must be written on servers."
  value       = local.auth_config_path
}

output "auth_config_yaml" {
  description = "AuthenticationConfiguration allowing anonymous access to /readyz, /livez and /healthz only (null when disabled)."
  value       = var.anonymous_health_endpoints ? local.auth_config_yaml : null
}

output "join_url" {
  description = "Supervisor URL used by joining servers and agents."
  value       = local.join_url
}

output "masters" {
  description = "Masters in order: index, name, private_ip. masters[0] is the initial server."
  value       = local.masters
}

output "workers" {
  description = "Workers in order: index, name, private_ip."
  value       = local.workers
}

output "control_plane_lb_private_ip" {
  description = "Fixed private IP of the control-plane load balancer (.2)."
  value       = local.cp_lb_private_ip
}

output "ingress_lb_private_ip" {
  description = "Fixed private IP of the ingress load balancer (.3)."
  value       = local.ingress_private_ip
}

output "api_lb_private_ip" {
  description = "Fixed private IP of the public API load balancer (.4)."
  value       = local.api_lb_private_ip
}
