# A small Hetzner Cloud configuration, exercised by `tofu test` with a mocked hcloud provider
# (tests/hcloud.tftest.hcl): no token, no API call. The SSH key is generated for real by tls.
terraform {
  required_version = ">= 1.10.0"
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = ">= 1.50.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0.0"
    }
  }
}

variable "name" {
  type        = string
  description = "Name prefix of every resource."
  default     = "rke2-lab"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be lower-case letters, digits and dashes (2-31 characters)."
  }
}

variable "location" {
  type        = string
  description = "Hetzner location of the server."
  default     = "fsn1"
  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "location must be a Hetzner Cloud location."
  }
}

variable "server_type" {
  type    = string
  default = "cx22"
}

resource "tls_private_key" "ssh" {
  algorithm = "ED25519"
}

resource "hcloud_ssh_key" "this" {
  name       = "${var.name}-admin"
  public_key = tls_private_key.ssh.public_key_openssh
}

resource "hcloud_network" "this" {
  name     = var.name
  ip_range = "10.0.0.0/16"
  labels   = { cluster = var.name }
}

resource "hcloud_network_subnet" "nodes" {
  network_id   = hcloud_network.this.id
  type         = "cloud"
  network_zone = "eu-central"
  ip_range     = "10.0.1.0/24"
}

resource "hcloud_server" "master" {
  name        = "${var.name}-master-0"
  server_type = var.server_type
  image       = "ubuntu-24.04"
  location    = var.location
  ssh_keys    = [hcloud_ssh_key.this.id]
  labels      = { cluster = var.name, role = "master" }

  network {
    network_id = hcloud_network.this.id
    ip         = cidrhost(hcloud_network_subnet.nodes.ip_range, 10)
  }

  depends_on = [hcloud_network_subnet.nodes]
}

output "master_ipv4" {
  value = hcloud_server.master.ipv4_address
}

output "master_private_ip" {
  value = one(hcloud_server.master.network[*].ip)
}
