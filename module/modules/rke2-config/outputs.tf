output "configs" {
  description = "Rendered /etc/rancher/rke2/config.yaml per node name (YAML text). Contains the token."
  value       = { for name, cfg in local.configs : name => yamlencode(cfg) }
  sensitive   = true
}

output "config_objects" {
  description = "The same configuration as objects, for assertions."
  value       = local.configs
  sensitive   = true
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
