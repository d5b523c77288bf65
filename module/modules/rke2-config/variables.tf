variable "cluster_name" {
  description = "Cluster name; used only for comments and validation of node names."
  type        = string
  nullable    = false
}

variable "rke2_version" {
  description = "RKE2 release, e.g. v1.34.4+rke2r1. Decides the AuthenticationConfiguration apiVersion."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^v1\\.[0-9]+\\.[0-9]+\\+rke2r[0-9]+$", var.rke2_version))
    error_message = "rke2_version must look like v1.34.4+rke2r1."
  }
}

variable "token" {
  description = "RKE2 server token (token: on servers; also on agents when agent_token is null)."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "agent_token" {
  description = "RKE2 agent token: agent-token on servers, token on agents, so agents never hold the server token. null: agents use the server token (the lab's render contract)."
  type        = string
  sensitive   = true
  default     = null
}

variable "subnet_ip_range" {
  description = "IPv4 subnet the nodes live in. Fixed host numbers: .2 control-plane LB, .3 ingress LB, .11+ masters, .101+ workers."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrnetmask(var.subnet_ip_range)) && tonumber(split("/", var.subnet_ip_range)[1]) <= 24
    error_message = "subnet_ip_range must be an IPv4 CIDR of size /24 or larger, such as 10.0.1.0/24."
  }
}

variable "master_count" {
  description = "Number of servers: 1, 3, 5, 7 or 9. Server 0 is the initial server (no server: line)."
  type        = number
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 9], var.master_count)
    error_message = "master_count must be one of: 1, 3, 5, 7, 9."
  }
}

variable "worker_count" {
  description = "Number of agents, 0 to 100."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = floor(var.worker_count) == var.worker_count && var.worker_count >= 0 && var.worker_count <= 100
    error_message = "worker_count must be a whole number from 0 to 100."
  }
}

variable "join_via_load_balancer" {
  description = "Join through the control-plane load balancer's private IP (.2); false joins through master-0's private IP."
  type        = bool
  default     = true
  nullable    = false
}

variable "tls_san" {
  description = "Extra Subject Alternative Names for the apiserver and supervisor certificates (the control-plane LB private IP is added when joining through it)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "cni" {
  description = "RKE2 CNI plugin."
  type        = string
  default     = "canal"
  nullable    = false

  validation {
    condition     = contains(["canal", "calico", "cilium"], var.cni)
    error_message = "cni must be one of: canal, calico, cilium."
  }
}

variable "cluster_cidr" {
  description = "Pod CIDR (cluster-cidr)."
  type        = string
  default     = "10.42.0.0/16"
  nullable    = false
}

variable "service_cidr" {
  description = "Service CIDR (service-cidr)."
  type        = string
  default     = "10.43.0.0/16"
  nullable    = false
}

variable "anonymous_health_endpoints" {
  description = "Write an AuthenticationConfiguration that lets anonymous requests reach only /readyz, /livez and /healthz, and pass it with kube-apiserver-arg authentication-config=..."
  type        = bool
  default     = true
  nullable    = false
}

variable "extra_server_config" {
  description = "Additional config keys for every server. List keys the module also sets (tls-san, kube-apiserver-arg; also given as key+) are appended to the module's entries; every other key the module sets is refused by the caller."
  type        = any
  default     = {}
  nullable    = false
}

variable "extra_agent_config" {
  description = "Additional config keys for every agent (keys the module sets are refused by the caller)."
  type        = any
  default     = {}
  nullable    = false
}
