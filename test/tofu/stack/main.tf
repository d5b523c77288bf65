# A cluster shaped like module/ (masters with the module's labels and names, a control-plane
# load balancer's services, the masters' firewall rules, backup settings, a resource carrying
# rke2_version, an ops_inventory output and sensitive values) built from terraform_data,
# random and tls, so real plans, applies and local state work offline. The tofu action's tests
# plan it with different variables to prove what the plan summary finds (the module itself is
# planned too, in test/integration/tofu-action.test.ts).
terraform {
  required_version = ">= 1.10.0"
  required_providers {
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6.0"
    }
  }
}

variable "cluster_name" {
  type    = string
  default = "stack"
}

variable "rke2_version" {
  type    = string
  default = "v1.34.4+rke2r1"
}

variable "master_count" {
  type    = number
  default = 3
}

variable "worker_count" {
  type    = number
  default = 1
}

# Servers are replaced when it changes: the mistake the plan summary must catch (the module
# itself ignores image changes).
variable "image" {
  type    = string
  default = "ubuntu-24.04"
}

variable "api_allowed_cidrs" {
  type    = list(string)
  default = ["0.0.0.0/0"]
}

variable "etcd_public" {
  description = "Adds a firewall rule opening etcd (2379-2380) to the world."
  type        = bool
  default     = false
}

variable "supervisor_port" {
  type    = number
  default = 9345
}

variable "etcd_backup" {
  type    = bool
  default = true
}

variable "velero" {
  type    = bool
  default = true
}

variable "hcloud_token" {
  type      = string
  sensitive = true
  default   = "stack-hcloud-token-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
}

variable "plan_padding" {
  description = "Lines of padding (rounded up to a thousand), to make the plan text large."
  type        = number
  default     = 0
}

resource "random_password" "rke2_token" {
  length  = 48
  special = false
}

resource "tls_private_key" "master_host" {
  count     = var.master_count
  algorithm = "ED25519"
}

resource "terraform_data" "master" {
  count = var.master_count
  input = {
    name        = "${var.cluster_name}-master-${count.index}"
    server_type = "cx23"
    labels = {
      role                  = "master"
      "rke2-initial-server" = count.index == 0 ? "true" : "false"
    }
    host_key = trimspace(tls_private_key.master_host[count.index].public_key_openssh)
  }
  triggers_replace = [var.image]
}

resource "terraform_data" "worker" {
  count = var.worker_count
  input = {
    name        = "${var.cluster_name}-worker-${count.index}"
    server_type = "cx33"
    labels      = { role = "worker" }
  }
  triggers_replace = [var.image]
}

resource "terraform_data" "guardrails" {
  input = {
    cluster_name = var.cluster_name
    rke2_version = var.rke2_version
  }
}

resource "terraform_data" "control_plane_lb_service" {
  for_each = { kube_api = 6443, supervisor = var.supervisor_port }
  input = {
    protocol         = "tcp"
    listen_port      = each.value
    destination_port = each.value
    health_check     = { protocol = "tcp", port = each.value, interval = 10 }
  }
}

resource "terraform_data" "firewall_masters" {
  input = {
    name = "${var.cluster_name}-masters"
    rules = concat(
      [{ description = "SSH", direction = "in", protocol = "tcp", port = "22", source_ips = ["0.0.0.0/0", "::/0"] }],
      [{ description = "Kubernetes API", direction = "in", protocol = "tcp", port = "6443", source_ips = var.api_allowed_cidrs }],
      var.etcd_public ? [{ description = "etcd", direction = "in", protocol = "tcp", port = "2379-2380", source_ips = ["0.0.0.0/0"] }] : [],
    )
  }
}

resource "terraform_data" "cluster_config" {
  input = {
    etcd_backup = { enabled = var.etcd_backup, schedule = "0 */6 * * *", retention = 10 }
    velero      = { enabled = var.velero, schedule = "velero-full-cluster" }
  }
}

# The hcloud token travels like the module's (a sensitive value inside a resource).
resource "terraform_data" "ccm_secret" {
  input = var.hcloud_token
}

# range() stops at 1024 values: 1000 lines per resource.
resource "terraform_data" "padding" {
  count = ceil(var.plan_padding / 1000)
  input = [for i in range(1000) : "padding line ${count.index * 1000 + i}: plan text that makes a plan long enough to truncate"]
}

output "ops_inventory" {
  value = {
    version = 1
    cluster = var.cluster_name
    masters = [for i, m in terraform_data.master : { name = m.output.name, address = "127.0.9.${10 + i}", host_keys = [m.output.host_key] }]
    workers = [for i, w in terraform_data.worker : { name = w.output.name, address = "127.0.9.${100 + i}", host_keys = [] }]
    rke2    = { version = var.rke2_version }
    etcd_s3 = var.etcd_backup ? { endpoint = "s3.example.test", bucket = "snapshots", folder = var.cluster_name, region = "fsn1", insecure = false } : null
    velero  = var.velero ? { namespace = "velero", schedule = "velero-full-cluster" } : null
    health  = { urls = [] }
  }
}

output "rke2_token" {
  value     = random_password.rke2_token.result
  sensitive = true
}
