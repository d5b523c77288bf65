# Cluster access key: its public half is registered in Hetzner and injected into
# root's authorized_keys; the private half is a sensitive output for the ops
# actions and wait_for_cluster_ready.
resource "tls_private_key" "ssh" {
  algorithm = "ED25519"
}

resource "hcloud_ssh_key" "this" {
  name       = "${var.cluster_name}-admin"
  public_key = tls_private_key.ssh.public_key_openssh
  labels     = local.common_labels
}

# Per-node SSH host keys, generated here and installed by cloud-init
# (ssh_keys.ed25519_private/ed25519_public), so every client can pin the host
# key from the very first connection (no trust-on-first-use). user_data is the
# only way onto the node before that first connection; pods are kept away from
# the metadata service that serves it (restrict_metadata_service, ARCHITECTURE §5).
resource "tls_private_key" "master_host" {
  count     = var.master_count
  algorithm = "ED25519"
}

resource "tls_private_key" "worker_host" {
  count     = var.worker_count
  algorithm = "ED25519"
}

resource "random_password" "rke2_token" {
  length  = 48
  special = false
}

# Workers join with this one (agent-token on the masters): a token read on a
# worker can register an agent, never a server (which would get etcd).
resource "random_password" "rke2_agent_token" {
  length  = 48
  special = false
}

locals {
  rke2_token       = coalesce(var.rke2_token, random_password.rke2_token.result)
  rke2_agent_token = random_password.rke2_agent_token.result

  master_host_public_keys = [for k in tls_private_key.master_host : trimspace(k.public_key_openssh)]
  worker_host_public_keys = [for k in tls_private_key.worker_host : trimspace(k.public_key_openssh)]
}
