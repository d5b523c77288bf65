# A cluster configuration whose apply really upgrades a lab (test/lab), the way module/upgrade.tf
# upgrades a real cluster: rke2_version is the reviewed change, and each node's terraform_data
# runs the install in place over SSH (pinned host key, loopback only), the masters before the
# workers (the module also orders masters among themselves; the act suite's lab has one). The
# act suite (test/act/upgrade.test.ts) applies it through upgrade.yml.
#
# What differs from the module, on purpose: the nodes come from a variable (the lab's
# inventory) instead of hcloud_server resources, and the SSH key is read from the lab's key
# file on the runner (the module generates its own key in state). The install command is the
# lab's stand-in for `curl -sfL https://get.rke2.io | sh -`. Only built-in resources: no
# provider to install, init works offline.
terraform {
  required_version = ">= 1.10.0"
  # The state lives where -backend-config=path=... says (outside the checkout, as a remote
  # backend would keep it between runs).
  backend "local" {}
}

variable "cluster_name" {
  type = string
}

# The reviewed change: an upgrade pull request edits this (terraform.tfvars.json).
variable "rke2_version" {
  type = string
}

variable "ssh_port" {
  type    = number
  default = 2222
}

# Path of the SSH private key on the runner (the lab's id_ed25519).
variable "ssh_private_key_file" {
  type = string
}

variable "install_command" {
  type    = string
  default = "/usr/local/bin/rke2-install.sh"
}

variable "masters" {
  description = "The lab's masters: name, address (127.0.0.0/8), host_key."
  type        = list(object({ name = string, address = string, host_key = string }))
}

variable "workers" {
  type    = list(object({ name = string, address = string, host_key = string }))
  default = []
}

locals {
  # One script per role: a no-op on a node already at the version (a re-run only does what is
  # left), else install and restart the unit (the lab's restart returns once the unit is active).
  upgrade_script = {
    for role, unit in { server = "rke2-server", agent = "rke2-agent" } : role => join("\n", [
      "#!/bin/bash",
      "set -euo pipefail",
      "target='${var.rke2_version}'",
      "current=$(/usr/local/bin/rke2 --version | awk 'NR == 1 { print $3 }')",
      "if [ \"$current\" = \"$target\" ]; then echo \"already at $target\"; exit 0; fi",
      "echo \"upgrading from $current to $target\"",
      "INSTALL_RKE2_VERSION=\"$target\" INSTALL_RKE2_TYPE=${role} ${var.install_command}",
      "systemctl restart ${unit}",
    ])
  }
}

# The version the plan summary reads (`rke2_version` changes -> rke2-upgrade, snapshot first).
resource "terraform_data" "cluster" {
  input = {
    cluster_name = var.cluster_name
    rke2_version = var.rke2_version
  }
}

resource "terraform_data" "upgrade_master" {
  count            = length(var.masters)
  triggers_replace = [var.rke2_version]
  input            = { node = var.masters[count.index].name }

  connection {
    type        = "ssh"
    host        = var.masters[count.index].address
    port        = var.ssh_port
    user        = "root"
    private_key = file(var.ssh_private_key_file)
    host_key    = var.masters[count.index].host_key
    timeout     = "30s"
  }

  provisioner "remote-exec" {
    inline = [local.upgrade_script.server]
  }
}

resource "terraform_data" "upgrade_worker" {
  count            = length(var.workers)
  triggers_replace = [var.rke2_version]
  input            = { node = var.workers[count.index].name }

  connection {
    type        = "ssh"
    host        = var.workers[count.index].address
    port        = var.ssh_port
    user        = "root"
    private_key = file(var.ssh_private_key_file)
    host_key    = var.workers[count.index].host_key
    timeout     = "30s"
  }

  provisioner "remote-exec" {
    inline = [local.upgrade_script.agent]
  }

  # Every master first: never a kubelet newer than the API servers.
  depends_on = [terraform_data.upgrade_master]
}
