################################################################################
# Cluster identity and credentials
################################################################################

variable "cluster_name" {
  description = "Name of the cluster. Prefix of every Hetzner resource and node name (<cluster_name>-master-0, ...). Lower-case letters, digits and '-', at most 32 characters."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must match ^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$ (lower-case letters, digits and '-', 1-32 characters, starting and ending with a letter or digit)."
  }
}

variable "hcloud_token" {
  description = "Hetzner Cloud API token for the in-cluster hcloud CCM and CSI driver: the kube-system/hcloud Secret, delivered to the masters over SSH by the node channel (never in user_data). Configure the hcloud provider separately in the root module."
  type        = string
  sensitive   = true
  nullable    = false

  validation {
    condition     = length(var.hcloud_token) == 64
    error_message = "hcloud_token must be a 64-character Hetzner Cloud API token."
  }
}

variable "rke2_token" {
  description = "RKE2 server token. null generates one. Set it to the original token when rebuilding a cluster from an etcd snapshot (the snapshot is encrypted with it). Only masters get it (over the node channel); workers join with a separate generated agent token."
  type        = string
  sensitive   = true
  default     = null

  validation {
    condition     = var.rke2_token == null || can(regex("^[A-Za-z0-9]{32,}$", var.rke2_token))
    error_message = "rke2_token must be null or at least 32 letters and digits."
  }
}

variable "rke2_version" {
  description = "Pinned RKE2 release installed by cloud-init (INSTALL_RKE2_VERSION). Changing it never replaces a server: tofu apply upgrades the nodes in place (pre-upgrade snapshot, masters one at a time, workers, health check; see upgrade and docs/ARCHITECTURE.md \"Operations\"). Downgrades are refused: going back is a restore."
  type        = string
  default     = "v1.34.4+rke2r1"
  nullable    = false

  validation {
    condition     = can(regex("^v1\\.[0-9]+\\.[0-9]+\\+rke2r[0-9]+$", var.rke2_version))
    error_message = "rke2_version must be an RKE2 release tag such as v1.34.4+rke2r1 (v1.<minor>.<patch>+rke2r<n>)."
  }
}

variable "rke2_install_script_url" {
  description = "URL of the RKE2 install script cloud-init downloads (with retries) and runs. A non-default URL is exported as ops_inventory.rke2.install_command for the ops actions."
  type        = string
  default     = "https://get.rke2.io"
  nullable    = false

  validation {
    condition     = can(regex("^https://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+$", var.rke2_install_script_url))
    error_message = "rke2_install_script_url must be an https:// URL without spaces or quotes."
  }
}

################################################################################
# Nodes
################################################################################

variable "master_count" {
  description = "Number of server (control-plane + etcd) nodes: 1, or an odd number from 3 to 9 for etcd quorum."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = floor(var.master_count) == var.master_count && (var.master_count == 1 || (var.master_count >= 3 && var.master_count <= 9 && var.master_count % 2 == 1))
    error_message = "master_count must be one of: 1, 3, 5, 7, 9."
  }
}

variable "worker_count" {
  description = "Number of agent (worker) nodes, 0 to 100."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = floor(var.worker_count) == var.worker_count && var.worker_count >= 0 && var.worker_count <= 100
    error_message = "worker_count must be a whole number from 0 to 100."
  }
}

variable "master_server_type" {
  description = "Hetzner server type for new masters (RKE2 servers need at least 2 vCPU / 4 GB). Existing masters are never resized by tofu (Hetzner powers a server off to resize it; tofu would do all at once): resize one at a time as docs/ARCHITECTURE.md describes."
  type        = string
  default     = "cx23"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.master_server_type))
    error_message = "master_server_type must be a Hetzner server type name such as cx23, cpx31 or ccx23."
  }
}

variable "worker_server_type" {
  description = "Hetzner server type for new workers. Existing workers are not resized by tofu (that powers them off, all at once); resize one at a time as docs/ARCHITECTURE.md describes."
  type        = string
  default     = "cx33"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.worker_server_type))
    error_message = "worker_server_type must be a Hetzner server type name such as cx33, cpx41 or ccx33."
  }
}

variable "image" {
  description = "Hetzner image for all nodes (must run cloud-init and systemd)."
  type        = string
  default     = "ubuntu-24.04"
  nullable    = false

  validation {
    condition     = length(trimspace(var.image)) > 0
    error_message = "image must be a non-empty Hetzner image name or ID, e.g. ubuntu-24.04."
  }
}

variable "locations" {
  description = "Hetzner locations; new masters and workers are spread round-robin over them. A server keeps the location it was created in (changing this list never moves or replaces one). All must be in one network zone (eu-central: fsn1, nbg1, hel1; us-east: ash; us-west: hil; ap-southeast: sin), and the zone cannot change after creation."
  type        = list(string)
  default     = ["fsn1", "nbg1", "hel1"]
  nullable    = false

  validation {
    condition     = length(var.locations) > 0 && alltrue([for l in var.locations : contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], l)])
    error_message = "locations must be a non-empty list of: fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "placement_groups" {
  description = "Put masters and workers into Hetzner spread placement groups (different physical hosts; at most 10 servers per group). Disable only if the API refuses them for a server type or location."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_ipv6" {
  description = "Give new nodes a public IPv6 address in addition to IPv4. Existing nodes keep what they were created with (changing it powers a server off)."
  type        = bool
  default     = true
  nullable    = false
}

variable "labels" {
  description = "Extra Hetzner labels for every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "delete_protection" {
  description = "Enable Hetzner delete and rebuild protection on servers and load balancers."
  type        = bool
  default     = false
  nullable    = false
}

variable "extra_ssh_public_keys" {
  description = "Additional OpenSSH public keys (admins) authorised for root on every node, next to the generated key."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for k in var.extra_ssh_public_keys : can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+", k))])
    error_message = "extra_ssh_public_keys entries must be OpenSSH public keys of type ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521."
  }
}

################################################################################
# Network and firewall
################################################################################

variable "network_ip_range" {
  description = "IPv4 range of the Hetzner private network. It should contain the pod CIDR when hcloud CCM routes are enabled."
  type        = string
  default     = "10.0.0.0/8"
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.network_ip_range))
    error_message = "network_ip_range must be an IPv4 CIDR such as 10.0.0.0/8."
  }
}

variable "subnet_ip_range" {
  description = "IPv4 range of the node subnet inside network_ip_range. Fixed addresses: .2 control-plane LB, .3 ingress LB, .11+ masters, .101+ workers."
  type        = string
  default     = "10.0.1.0/24"
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.subnet_ip_range)) && tonumber(split("/", var.subnet_ip_range)[1]) <= 24
    error_message = "subnet_ip_range must be an IPv4 CIDR of size /24 or larger, such as 10.0.1.0/24."
  }
}

variable "ssh_allowed_cidrs" {
  description = "Source CIDRs allowed to reach SSH (22/tcp) on every node's public interface. The machine running tofu (node channel, wait_for_cluster_ready) and the ops actions need it. Empty closes SSH on the public interface (then set node_channel.apply = false and deliver the node scripts yourself)."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
  nullable    = false

  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "ssh_allowed_cidrs must contain only IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or ::/0."
  }
}

variable "api_allowed_cidrs" {
  description = "Source CIDRs allowed to reach the Kubernetes API (6443/tcp) directly on the masters' public interfaces (Hetzner firewall rule). It does NOT cover load balancers: Hetzner load balancers take no firewall, so a public API load balancer (control_plane_load_balancer.public) answers the whole Internet whatever this says. Empty (default) closes 6443 on the masters' public interfaces."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.api_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "api_allowed_cidrs must contain only IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or ::/0."
  }
}

variable "allow_icmp" {
  description = "Allow inbound ICMP (ping) on the public interfaces."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Load balancers
################################################################################

variable "control_plane_load_balancer" {
  description = <<-EOT
    Private control-plane load balancer (no public interface) at the subnet's .2: 6443 (Kubernetes API) and 9345 (RKE2 supervisor, the join address), targets = masters via private IPs.
    public = true adds a second, public load balancer that forwards only 6443 (the supervisor is never public). Hetzner load balancers take no firewall: a public one answers the whole Internet, api_allowed_cidrs does not apply to it.
    health_check: "readyz" = HTTPS GET /readyz expecting 200 (needs anonymous access to /readyz, configured by this module; RKE2 >= v1.32.6 / v1.33.1 / v1.34),
    "tcp" = TCP connect only (fallback for older RKE2). When disabled, joining nodes use master-0's private IP.
  EOT
  type = object({
    enabled      = optional(bool, true)
    type         = optional(string, "lb11")
    location     = optional(string)
    public       = optional(bool, false)
    health_check = optional(string, "readyz")
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["lb11", "lb21", "lb31"], var.control_plane_load_balancer.type)
    error_message = "control_plane_load_balancer.type must be one of: lb11, lb21, lb31."
  }

  validation {
    condition     = contains(["readyz", "tcp"], var.control_plane_load_balancer.health_check)
    error_message = "control_plane_load_balancer.health_check must be one of: readyz, tcp."
  }

  validation {
    condition     = var.control_plane_load_balancer.location == null || contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], coalesce(var.control_plane_load_balancer.location, "fsn1"))
    error_message = "control_plane_load_balancer.location must be null (first of locations) or one of: fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "ingress_load_balancer" {
  description = "Optional ingress load balancer forwarding 80/443 (TCP passthrough) to the workers' private IPs (to the masters when worker_count = 0), where RKE2's ingress controller listens."
  type = object({
    enabled  = optional(bool, false)
    type     = optional(string, "lb11")
    location = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["lb11", "lb21", "lb31"], var.ingress_load_balancer.type)
    error_message = "ingress_load_balancer.type must be one of: lb11, lb21, lb31."
  }

  validation {
    condition     = var.ingress_load_balancer.location == null || contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], coalesce(var.ingress_load_balancer.location, "fsn1"))
    error_message = "ingress_load_balancer.location must be null (first of locations) or one of: fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "api_extra_sans" {
  description = "Extra DNS names or IPs for the apiserver certificate (tls-san), e.g. api.example.com. The control-plane LB's private and public IPs are always included."
  type        = list(string)
  default     = []
  nullable    = false
}

################################################################################
# Kubernetes / RKE2 configuration
################################################################################

variable "cluster_configuration" {
  description = <<-EOT
    In-cluster configuration. cni: canal | calico | cilium. hcloud_ccm and hcloud_csi are installed as RKE2 HelmChart
    manifests from charts.hetzner.cloud (see docs/ARCHITECTURE.md).
    etcd_backup: RKE2's scheduled etcd snapshots, kept on every master and uploaded to S3 (Hetzner Object Storage), rendered as
    etcd-snapshot-*/etcd-s3-* keys into the masters' 30-rke2-ops-etcd-backup.yaml drop-in (node channel: a change reaches live
    masters with a rolling restart, never a server replacement; 0600 root, so the keys are readable by root only).
    enabled; schedule_cron (default every 6 h); retention = snapshots each master keeps locally; s3_retention = snapshots kept in S3
    for the WHOLE cluster (every master uploads on every run; null = master_count x retention; at least 2 x master_count);
    compress (.zip); s3_endpoint = host[:port] without scheme (empty: <location>.your-objectstorage.com of the control plane's
    location; required in ash/hil/sin, where Hetzner has no Object Storage); s3_bucket (must exist); s3_folder (empty: cluster_name);
    s3_region (empty: the location code for a Hetzner endpoint, else us-east-1); s3_access_key/s3_secret_key (treated as
    sensitive by the module; pass them from sensitive variables).
  EOT
  type = object({
    cni          = optional(string, "canal")
    cluster_cidr = optional(string, "10.42.0.0/16")
    service_cidr = optional(string, "10.43.0.0/16")
    hcloud_ccm = optional(object({
      enabled       = optional(bool, true)
      chart_version = optional(string, "1.25.1")
      networking    = optional(bool, true)
    }), {})
    hcloud_csi = optional(object({
      preinstall    = optional(bool, true)
      chart_version = optional(string, "2.19.0")
    }), {})
    etcd_backup = optional(object({
      enabled       = optional(bool, false)
      schedule_cron = optional(string, "0 */6 * * *")
      retention     = optional(number, 10)
      s3_retention  = optional(number)
      compress      = optional(bool, true)
      s3_endpoint   = optional(string, "")
      s3_bucket     = optional(string, "")
      s3_folder     = optional(string, "")
      s3_region     = optional(string, "")
      s3_access_key = optional(string, "")
      s3_secret_key = optional(string, "")
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["canal", "calico", "cilium"], var.cluster_configuration.cni)
    error_message = "cluster_configuration.cni must be one of: canal, calico, cilium."
  }

  validation {
    condition     = can(cidrnetmask(var.cluster_configuration.cluster_cidr)) && can(cidrnetmask(var.cluster_configuration.service_cidr))
    error_message = "cluster_configuration.cluster_cidr and service_cidr must be IPv4 CIDRs such as 10.42.0.0/16."
  }

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.cluster_configuration.hcloud_ccm.chart_version)) && can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.cluster_configuration.hcloud_csi.chart_version))
    error_message = "cluster_configuration.hcloud_ccm.chart_version and hcloud_csi.chart_version must be exact chart versions such as 1.25.1."
  }

  # The snapshot schedule is a five-field cron expression (RKE2 uses robfig/cron with the standard parser).
  validation {
    condition     = can(regex("^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,-]+$", var.cluster_configuration.etcd_backup.schedule_cron))
    error_message = "cluster_configuration.etcd_backup.schedule_cron must be a five-field cron expression such as \"0 */6 * * *\"."
  }

  validation {
    condition     = floor(var.cluster_configuration.etcd_backup.retention) == var.cluster_configuration.etcd_backup.retention && var.cluster_configuration.etcd_backup.retention >= 1 && var.cluster_configuration.etcd_backup.retention <= 1000
    error_message = "cluster_configuration.etcd_backup.retention must be a whole number from 1 to 1000 (snapshots each master keeps locally)."
  }

  validation {
    condition     = var.cluster_configuration.etcd_backup.s3_retention == null || try(floor(var.cluster_configuration.etcd_backup.s3_retention) == var.cluster_configuration.etcd_backup.s3_retention && var.cluster_configuration.etcd_backup.s3_retention >= 1 && var.cluster_configuration.etcd_backup.s3_retention <= 10000, false)
    error_message = "cluster_configuration.etcd_backup.s3_retention must be null (master_count x retention) or a whole number from 1 to 10000."
  }

  # Host[:port] only: RKE2 adds the scheme itself (etcd-s3-endpoint; rke2-facts.md §0 item 2), and the
  # ops inventory's etcd_s3.endpoint takes the same form.
  validation {
    condition     = var.cluster_configuration.etcd_backup.s3_endpoint == "" || can(regex("^[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.cluster_configuration.etcd_backup.s3_endpoint))
    error_message = "cluster_configuration.etcd_backup.s3_endpoint must be empty (the Hetzner endpoint of the control plane's location) or a host[:port] without scheme or path, such as fsn1.your-objectstorage.com."
  }

  validation {
    condition     = var.cluster_configuration.etcd_backup.s3_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.cluster_configuration.etcd_backup.s3_bucket))
    error_message = "cluster_configuration.etcd_backup.s3_bucket must be an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.cluster_configuration.etcd_backup.s3_folder)) || var.cluster_configuration.etcd_backup.s3_folder == ""
    error_message = "cluster_configuration.etcd_backup.s3_folder must be empty (the cluster name) or a key prefix of letters, digits, '.', '_', '-' and inner '/'."
  }

  validation {
    condition     = var.cluster_configuration.etcd_backup.s3_region == "" || can(regex("^[a-z0-9-]+$", var.cluster_configuration.etcd_backup.s3_region))
    error_message = "cluster_configuration.etcd_backup.s3_region must be empty or lower-case letters, digits and '-', such as fsn1 or us-east-1."
  }
}

variable "rke2_extra_server_config" {
  description = "Extra RKE2 config keys for every master (e.g. {\"etcd-expose-metrics\" = true}), delivered as a config.yaml.d drop-in by the node channel, so a change reaches live masters (rolling restart). tls-san and kube-apiserver-arg (also as key+) are appended to the module's own entries; every other key the module sets is refused: token, agent-token, token-file, agent-token-file, server, node-name, node-ip, cloud-provider-name, cni, cluster-cidr, service-cidr, write-kubeconfig-mode, data-dir, and every etcd-* key (snapshots and S3 belong to cluster_configuration.etcd_backup) except the etcd process settings etcd-arg, etcd-expose-metrics, etcd-extra-env, etcd-extra-mount and etcd-image."
  type        = any
  default     = {}
  nullable    = false

  validation {
    condition     = length(setintersection([for k in keys(var.rke2_extra_server_config) : trimsuffix(k, "+")], ["token", "agent-token", "token-file", "agent-token-file", "server", "node-name", "node-ip", "cloud-provider-name", "cni", "cluster-cidr", "service-cidr", "write-kubeconfig-mode", "data-dir"])) == 0
    error_message = "rke2_extra_server_config must not set keys owned by the module: token, agent-token, token-file, agent-token-file, server, node-name, node-ip, cloud-provider-name, cni, cluster-cidr, service-cidr, write-kubeconfig-mode, data-dir (tls-san and kube-apiserver-arg are appended to the module's entries instead)."
  }

  # etcd snapshots and their S3 upload are cluster_configuration.etcd_backup (its drop-in is read
  # after the extra config's and would silently win), and the ops scripts rely on RKE2's snapshot
  # directory and names. Only the etcd process settings stay open.
  validation {
    condition = length([
      for k in keys(var.rke2_extra_server_config) : k
      if startswith(trimsuffix(k, "+"), "etcd-") && !contains(["etcd-arg", "etcd-expose-metrics", "etcd-extra-env", "etcd-extra-mount", "etcd-image"], trimsuffix(k, "+"))
    ]) == 0
    error_message = "rke2_extra_server_config must not set etcd-* keys (etcd-snapshot-*, etcd-s3*, etcd-disable-snapshots, ...): configure snapshots and their S3 upload with cluster_configuration.etcd_backup. Allowed: etcd-arg, etcd-expose-metrics, etcd-extra-env, etcd-extra-mount, etcd-image."
  }

  validation {
    condition = alltrue([
      for k, v in var.rke2_extra_server_config : can([for s in flatten([v]) : tostring(s)])
      if contains(["tls-san", "kube-apiserver-arg"], trimsuffix(k, "+"))
    ])
    error_message = "rke2_extra_server_config: tls-san and kube-apiserver-arg must be a string or a list of strings."
  }
}

variable "rke2_extra_agent_config" {
  description = "Extra RKE2 config keys for every worker, delivered as a config.yaml.d drop-in by the node channel. Keys the module sets are refused: token, token-file, server, node-name, node-ip, cloud-provider-name, data-dir."
  type        = any
  default     = {}
  nullable    = false

  validation {
    condition     = length(setintersection([for k in keys(var.rke2_extra_agent_config) : trimsuffix(k, "+")], ["token", "token-file", "server", "node-name", "node-ip", "cloud-provider-name", "data-dir"])) == 0
    error_message = "rke2_extra_agent_config must not set keys owned by the module: token, token-file, server, node-name, node-ip, cloud-provider-name, data-dir."
  }
}

variable "restrict_metadata_service" {
  description = "Drop traffic from pods to the Hetzner metadata service (169.254.169.254), which serves user_data (it holds each node's SSH host key). The node itself and host-network pods keep access; the hcloud CSI driver is switched to the host network for it. false leaves the metadata service open to every pod."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Backups and upgrades (docs/ARCHITECTURE.md "Operations: backup, upgrade, rollback")
################################################################################

variable "velero" {
  description = <<-EOT
    Velero with Kopia file-system backup of every pod volume (Hetzner volumes have no snapshots), installed by RKE2 from a HelmChart manifest
    the node channel delivers to the masters (read live, no restart). version: Velero chart 11.x (Velero 1.17); plugin_version: velero-plugin-for-aws
    v1.13.x, the plugin line for Velero 1.17. backup_schedule/backup_ttl: the full-cluster Schedule velero-full-cluster (every namespace, every volume).
    s3_endpoint (host[:port]), s3_bucket, s3_region, s3_access_key, s3_secret_key: empty = the etcd backup's value (keys treated as sensitive).
    s3_prefix (empty: velero/<cluster_name>): Velero's folder in the bucket, apart from the etcd snapshots (Velero marks a location whose
    root holds foreign folders unavailable). backup_hooks: pre-backup exec hooks (null: mysqldump and mongodump of Tutor's mysql and mongodb
    pods onto their own volumes, 30 min each); [] for none.
  EOT
  type = object({
    enabled         = optional(bool, false)
    version         = optional(string, "11.3.2")
    plugin_version  = optional(string, "v1.13.2")
    backup_schedule = optional(string, "0 */6 * * *")
    backup_ttl      = optional(string, "720h")
    s3_endpoint     = optional(string, "")
    s3_bucket       = optional(string, "")
    s3_prefix       = optional(string, "")
    s3_region       = optional(string, "")
    s3_access_key   = optional(string, "")
    s3_secret_key   = optional(string, "")
    backup_hooks = optional(list(object({
      name           = string
      namespaces     = optional(list(string), ["*"])
      label_selector = map(string)
      container      = string
      command        = list(string)
      timeout        = optional(string, "30m")
      on_error       = optional(string, "Fail")
    })))
  })
  default  = {}
  nullable = false

  # rke2-facts.md §5.6: chart 11.x ships Velero 1.17, whose AWS plugin line is v1.13.x (v1.11.x is
  # for Velero 1.15; the v1.14 line breaks uploads to Ceph-based stores such as Hetzner's, §6.2).
  validation {
    condition     = can(regex("^11\\.[0-9]+\\.[0-9]+$", var.velero.version)) && can(regex("^v1\\.13\\.[0-9]+$", var.velero.plugin_version))
    error_message = "velero.version must be a Velero chart 11.x release (e.g. 11.3.2, Velero 1.17) and velero.plugin_version a velero-plugin-for-aws v1.13.x release (e.g. v1.13.2), the plugin line for Velero 1.17."
  }

  validation {
    condition     = can(regex("^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,-]+$", var.velero.backup_schedule))
    error_message = "velero.backup_schedule must be a five-field cron expression such as \"0 */6 * * *\"."
  }

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.velero.backup_ttl))
    error_message = "velero.backup_ttl must be a duration such as 720h or 168h30m."
  }

  validation {
    condition     = var.velero.s3_endpoint == "" || can(regex("^[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.velero.s3_endpoint))
    error_message = "velero.s3_endpoint must be empty (the etcd backup's) or a host[:port] without scheme, such as fsn1.your-objectstorage.com."
  }

  validation {
    condition     = var.velero.s3_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.velero.s3_bucket))
    error_message = "velero.s3_bucket must be an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'."
  }

  validation {
    condition     = var.velero.s3_prefix == "" || can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.velero.s3_prefix))
    error_message = "velero.s3_prefix must be empty (velero/<cluster_name>) or a key prefix of letters, digits, '.', '_', '-' and inner '/'."
  }

  validation {
    condition     = var.velero.s3_region == "" || can(regex("^[a-z0-9-]+$", var.velero.s3_region))
    error_message = "velero.s3_region must be empty or lower-case letters, digits and '-'."
  }

  validation {
    condition = alltrue([
      for h in coalesce(var.velero.backup_hooks, []) :
      can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", h.name)) && can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", h.container)) &&
      length(h.command) > 0 && contains(["Fail", "Continue"], h.on_error) && can(regex("^([0-9]+(h|m|s))+$", h.timeout))
    ])
    error_message = "velero.backup_hooks entries need a DNS-label name and container, a non-empty command (run without a shell: use [\"/bin/sh\", \"-c\", \"...\"]), on_error Fail or Continue and a timeout such as 30m."
  }
}

variable "upgrade" {
  description = <<-EOT
    What tofu apply does when rke2_version changes, in place, over SSH with the pinned host keys, after the node channel:
    (1) pre-upgrade etcd snapshot on master-0, recording its real file name (rke2 etcd-snapshot ls -o json) and, with etcd_backup on, proving
    its S3 copy exists; a Velero backup from the schedule when velero is on (velero_backup); downgrades and skipped minor versions are refused;
    (2) rolling install: masters one at a time from master-0, then workers (worker_concurrency at a time): cordon, install the pinned version
    (rke2_install_script_url with INSTALL_RKE2_VERSION), restart, wait until Ready at the target kubeletVersion, uncordon;
    (3) health check on master-0: every node Ready at the target version, CoreDNS (k8s-app=kube-dns), kube-proxy (component=kube-proxy,
    unless disabled) and the hcloud CCM healthy, health_check_urls answering 2xx/3xx, within health_timeout seconds.
    apply = false, or node_channel.apply = false: nothing runs; the output upgrade_scripts holds the scripts for another runner.
    timeout: seconds each wait of steps 1-2 may take.
  EOT
  type = object({
    apply              = optional(bool, true)
    velero_backup      = optional(bool, true)
    worker_concurrency = optional(number, 1)
    timeout            = optional(number, 1800)
    health_timeout     = optional(number, 600)
  })
  default  = {}
  nullable = false

  validation {
    condition     = floor(var.upgrade.worker_concurrency) == var.upgrade.worker_concurrency && var.upgrade.worker_concurrency >= 1 && var.upgrade.worker_concurrency <= 100
    error_message = "upgrade.worker_concurrency must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.upgrade.timeout >= 60 && var.upgrade.timeout <= 14400 && var.upgrade.health_timeout >= 30 && var.upgrade.health_timeout <= 7200
    error_message = "upgrade.timeout must be between 60 and 14400 seconds and upgrade.health_timeout between 30 and 7200 seconds."
  }
}

################################################################################
# Readiness and operations
################################################################################

variable "node_channel" {
  description = <<-EOT
    The node channel writes each node's RKE2 drop-ins (config.yaml.d), manifests and secrets over SSH (generated key, pinned host key),
    re-runs for a node when the sha256 of its content changes and restarts masters one at a time, waiting for readiness after each.
    apply = true: tofu does it (SSH from the machine running tofu). false: tofu only renders node_channel_scripts and the sensitive
    node_channel_payloads for a runner that delivers them itself (e.g. through a bastion), and for offline tests; RKE2 does not start on
    a node until its script ran. timeout: seconds each wait may take (SSH connect, cloud-init, the masters before this one, restart readiness).
  EOT
  type = object({
    apply   = optional(bool, true)
    timeout = optional(number, 900)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.node_channel.timeout >= 60 && var.node_channel.timeout <= 7200
    error_message = "node_channel.timeout must be between 60 and 7200 seconds."
  }
}

variable "wait_for_cluster_ready" {
  description = "After the node channel ran, SSH to master-0 (generated key, pinned host key) and wait until /readyz is ok and every node is Ready."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_ready_timeout" {
  description = "Seconds wait_for_cluster_ready may take (SSH connect retries and the readiness loop each get this bound)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.cluster_ready_timeout >= 60 && var.cluster_ready_timeout <= 7200
    error_message = "cluster_ready_timeout must be between 60 and 7200 seconds."
  }
}

variable "health_check_urls" {
  description = "HTTP(S) URLs that must answer 2xx/3xx for the cluster to count as healthy (e.g. https://lms.example.com/heartbeat): probed from master-0 by the upgrade chain's health check (TLS verified) and from the runner by the health-check action (ops_inventory.health.urls)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for u in var.health_check_urls : can(regex("^https?://[^\\s]+$", u))])
    error_message = "health_check_urls must contain only http:// or https:// URLs without spaces."
  }
}
