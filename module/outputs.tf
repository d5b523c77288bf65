output "ops_inventory" {
  description = "Cluster inventory for the ops actions and CLI (schema version 1, snake_case). masters[0] is the initial server. Contains no secret."
  value = {
    version = 1
    cluster = var.cluster_name
    ssh = {
      user    = "root"
      port    = 22
      bastion = null
    }
    masters = [
      for i, s in hcloud_server.master : {
        name      = local.masters[i].name
        address   = s.ipv4_address
        host_keys = [local.master_host_public_keys[i]]
      }
    ]
    workers = [
      for i, s in hcloud_server.worker : {
        name      = local.workers[i].name
        address   = s.ipv4_address
        host_keys = [local.worker_host_public_keys[i]]
      }
    ]
    rke2 = {
      version  = var.rke2_version
      data_dir = local.data_dir
      # As RKE2 reads disable-kube-proxy from the rendered server config.
      kube_proxy = module.rke2_config.kube_proxy_enabled
      # null: the actions' default install script (get.rke2.io).
      install_command = local.inventory_install_command
    }
    # Where the etcd snapshots go (no keys: the actions get them as secret inputs).
    # ISSUE 11 (actions/snapshot): drives the snapshot action with this block - bucket, folder,
    # endpoint and region locate <folder>/<file> for its S3 verification. Not wired here.
    etcd_s3 = local.etcd_backup_enabled ? {
      endpoint = local.etcd_s3_endpoint
      bucket   = local.etcd_backup.s3_bucket
      folder   = local.etcd_s3_folder
      region   = local.etcd_s3_region
      insecure = false
    } : null
    velero = local.velero_enabled ? {
      namespace = local.velero_namespace
      schedule  = local.velero_schedule
    } : null
    health = {
      urls = var.health_check_urls
    }
  }
}

output "masters" {
  description = "Masters in order (masters[0] is the initial server): name, public IPv4/IPv6, private IP, location, server ID."
  value = [
    for i, s in hcloud_server.master : {
      name         = local.masters[i].name
      id           = s.id
      ipv4_address = s.ipv4_address
      ipv6_address = s.ipv6_address
      private_ip   = local.masters[i].private_ip
      location     = s.location
    }
  ]
}

output "workers" {
  description = "Workers: name, public IPv4/IPv6, private IP, location, server ID."
  value = [
    for i, s in hcloud_server.worker : {
      name         = local.workers[i].name
      id           = s.id
      ipv4_address = s.ipv4_address
      ipv6_address = s.ipv6_address
      private_ip   = local.workers[i].private_ip
      location     = s.location
    }
  ]
}

output "control_plane_lb" {
  description = "Private control-plane load balancer (null when disabled): ID and private IP (6443, 9345). It has no public interface."
  value = local.cp_lb_enabled ? {
    id         = hcloud_load_balancer.control_plane[0].id
    private_ip = local.cp_lb_private_ip
  } : null
}

output "api_lb" {
  description = "Public API load balancer (null unless control_plane_load_balancer.public): public IPv4/IPv6 and private IP; forwards 6443 only, to anyone."
  value = local.api_lb_enabled ? {
    id         = hcloud_load_balancer.api[0].id
    ipv4       = hcloud_load_balancer.api[0].ipv4
    ipv6       = hcloud_load_balancer.api[0].ipv6
    private_ip = local.api_lb_private_ip
  } : null
}

output "ingress_lb" {
  description = "Ingress load balancer (null when disabled): public IPv4/IPv6 and private IP."
  value = local.ingress_lb_enabled ? {
    id         = hcloud_load_balancer.ingress[0].id
    ipv4       = hcloud_load_balancer.ingress[0].ipv4
    ipv6       = hcloud_load_balancer.ingress[0].ipv6
    private_ip = local.ingress_private_ip
  } : null
}

output "kube_api_endpoint" {
  description = "https URL of the Kubernetes API: the public API load balancer when there is one, else master-0's public IPv4 when api_allowed_cidrs opens it, else the private control-plane endpoint (reach it from the private network or through an SSH tunnel)."
  value = "https://${(local.api_lb_enabled ? hcloud_load_balancer.api[0].ipv4 :
    length(var.api_allowed_cidrs) > 0 ? hcloud_server.master[0].ipv4_address :
  local.cp_lb_enabled ? local.cp_lb_private_ip : local.masters[0].private_ip)}:6443"
}

output "network_id" {
  description = "ID of the Hetzner private network."
  value       = hcloud_network.this.id
}

output "join_url" {
  description = "Supervisor URL joining masters and agents use (server: in config.yaml)."
  value       = module.rke2_config.join_url
}

output "node_roles" {
  description = "Role per node name: server-init (master-0), server-join or agent."
  value       = module.rke2_config.roles
}

output "ssh_private_key" {
  description = "OpenSSH private key (ED25519) for root on every node."
  value       = tls_private_key.ssh.private_key_openssh
  sensitive   = true
}

output "ssh_public_key" {
  description = "OpenSSH public key matching ssh_private_key."
  value       = trimspace(tls_private_key.ssh.public_key_openssh)
}

output "rke2_token" {
  description = "RKE2 cluster token. Keep it: restoring an etcd snapshot onto new hosts needs the original token."
  value       = local.rke2_token
  sensitive   = true
}

output "rke2_configs" {
  description = "Effective RKE2 configuration per node name: config.yaml (from cloud-init) merged with the node channel's drop-ins, the etcd backup's included (contains the tokens and S3 keys)."
  value = {
    for name, c in module.rke2_config.config_objects : name => yamlencode(
      # Expanded from a list, not a conditional: that would turn the drop-in's numbers and
      # booleans into strings.
      merge(c, [for d in [local.etcd_backup_dropin] : d if local.etcd_backup_enabled && contains(local.master_names, name)]...)
    )
  }
  sensitive = true
}

output "cloud_init" {
  description = "Rendered cloud-config (user_data) per node name, as sent at creation. No RKE2 or Hetzner token; it holds the node's SSH host private key."
  value       = local.node_cloud_init
  sensitive   = true
}

output "node_channel" {
  description = "What the node channel delivers per node name: sha256 of the payload (the re-run trigger, also the rke2-ops.io/channel-sha256 annotation of an applied master), files (path, restart) and, for masters, the masters that must have applied theirs first."
  value       = local.channel_summary
}

output "node_channel_scripts" {
  description = "The node channel's script per node name (bash; no secret): run as root with the node's payload file as its argument."
  value       = local.channel_scripts
}

output "node_channel_payloads" {
  description = "The node channel's payload per node name (the files to write, with tokens and the hcloud token). For node_channel.apply = false: copy it to the node (0600) and run the node's script on it."
  value       = local.channel_payloads
  sensitive   = true
}

output "etcd_backup_enabled" {
  description = "Whether the masters take scheduled etcd snapshots and upload them to S3 (cluster_configuration.etcd_backup.enabled)."
  value       = local.etcd_backup_enabled
}

output "velero_enabled" {
  description = "Whether Velero (Kopia file-system backups, schedule velero-full-cluster) is installed (velero.enabled)."
  value       = local.velero_enabled
}

output "upgrade_scripts" {
  description = "The upgrade chain's scripts (bash, no secret), run as root: pre_upgrade_snapshot and health_check on masters[0], upgrade.<node> on each node (masters in order, then workers). What tofu runs on an rke2_version change; for upgrade.apply = false, another runner runs them in that order."
  value = {
    pre_upgrade_snapshot = local.upgrade_snapshot_script
    upgrade              = local.upgrade_node_scripts
    health_check         = local.health_check_script
  }
}
