# Switching backups on for a cluster that already runs: nothing happens to a server. Applied with
# the mocked provider (node channel off: nothing may try to reach the mocked servers), then
# planned and applied with etcd backups and Velero on. The S3 settings reach the masters only
# through the node channel: their channel re-runs (a rolling restart for the drop-in), the
# workers' does not, and no server's user_data, image, type or location changes - not even the
# cloud-init a new server would get.

mock_provider "hcloud" {
  mock_resource "hcloud_network" {
    defaults = { id = "1001" }
  }
  mock_resource "hcloud_network_subnet" {
    defaults = { id = "1001-10.0.1.0/24" }
  }
  mock_resource "hcloud_firewall" {
    defaults = { id = "2001" }
  }
  mock_resource "hcloud_placement_group" {
    defaults = { id = "3001" }
  }
  mock_resource "hcloud_ssh_key" {
    defaults = { id = "4001" }
  }
  mock_resource "hcloud_server" {
    defaults = { id = "5001", ipv4_address = "203.0.113.10", ipv6_address = "2001:db8::10" }
  }
  mock_resource "hcloud_load_balancer" {
    defaults = { id = "6001", ipv4 = "203.0.113.100", ipv6 = "2001:db8::100" }
  }
}

# Keys and the token are mocked so that plan-time values are known.
mock_provider "tls" {
  mock_resource "tls_private_key" {
    defaults = {
      public_key_openssh  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyMockForTestsOnly000000000000000000\n"
      private_key_openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK\n-----END OPENSSH PRIVATE KEY-----\n"
    }
  }
}

mock_provider "random" {
  mock_resource "random_password" {
    defaults = { result = "MockRke2Token0123456789abcdefghijklmnopqrstuvwx" }
  }

  # Mocks give every instance of a type the same value: the agent token must differ.
  override_resource {
    target = random_password.rke2_agent_token
    values = { result = "MockAgentToken0123456789abcdefghijklmnopqrstuvw" }
  }
}

variables {
  cluster_name           = "test"
  hcloud_token           = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  master_count           = 3
  worker_count           = 2
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}

run "create_without_backups" {
  command = apply
}

# tofu test keeps only the latest run per module: park what is compared below.
run "capture" {
  command = apply

  module {
    source = "./tests/fixtures/compare"
  }

  variables {
    before = {
      user_data = { for n, c in run.create_without_backups.cloud_init : n => nonsensitive(sha256(c)) }
      masters   = run.create_without_backups.masters
      workers   = run.create_without_backups.workers
      channel   = run.create_without_backups.node_channel
    }
    after = null
  }
}

run "plan_enabling_backups" {
  command = plan

  variables {
    # Not module variables: what the assertions compare with.
    before = run.capture.before
    cluster_configuration = {
      etcd_backup = {
        enabled       = true
        s3_bucket     = "test-backups"
        s3_access_key = "MOCKACCESSKEY0000001"
        s3_secret_key = "MockSecretKey000000000000000000000000001"
      }
    }
    velero = { enabled = true }
  }

  assert {
    condition = (
      [for s in hcloud_server.master : nonsensitive(sha256(s.user_data))] == [for m in var.before.masters : var.before.user_data[m.name]] &&
      [for s in hcloud_server.worker : nonsensitive(sha256(s.user_data))] == [for w in var.before.workers : var.before.user_data[w.name]]
    )
    error_message = "Enabling backups must not change any server's planned user_data (ForceNew: it would replace the server)."
  }

  assert {
    condition     = jsonencode(output.masters) == jsonencode(var.before.masters) && jsonencode(output.workers) == jsonencode(var.before.workers)
    error_message = "Every server keeps its ID, addresses and location."
  }

  assert {
    condition     = alltrue([for s in concat(hcloud_server.master, hcloud_server.worker) : s.image == "ubuntu-24.04" && contains(["cx23", "cx33"], s.server_type)])
    error_message = "No server's image or type changes."
  }

  assert {
    condition     = jsonencode({ for n, c in output.cloud_init : n => nonsensitive(sha256(c)) }) == jsonencode(var.before.user_data)
    error_message = "The S3 settings never enter cloud-init, not even for servers created later (they come over the node channel)."
  }
}

run "enable_backups" {
  command = apply

  variables {
    cluster_configuration = {
      etcd_backup = {
        enabled       = true
        s3_bucket     = "test-backups"
        s3_access_key = "MOCKACCESSKEY0000001"
        s3_secret_key = "MockSecretKey000000000000000000000000001"
      }
    }
    velero = { enabled = true }
  }
}

run "enabling_backups_reruns_the_masters_channel_only" {
  module {
    source = "./tests/fixtures/channel-diff"
  }

  variables {
    before = run.capture.before.channel
    after  = run.enable_backups.node_channel
  }

  assert {
    condition     = jsonencode(output.changed_nodes) == jsonencode(["test-master-0", "test-master-1", "test-master-2"])
    error_message = "Enabling backups re-runs every master's channel and no worker's."
  }

  assert {
    condition = jsonencode(output.changed_files["test-master-1"]) == jsonencode([
      "/etc/rancher/rke2/config.yaml.d/30-rke2-ops-etcd-backup.yaml true",
      "/var/lib/rancher/rke2/server/manifests/rke2-ops-velero-credentials.yaml false",
      "/var/lib/rancher/rke2/server/manifests/rke2-ops-velero.yaml false",
    ]) && alltrue([for n, r in output.removed_files : length(r) == 0])
    error_message = "Exactly the etcd backup drop-in (a rolling restart) and the Velero manifests (read live) are added; nothing else changes."
  }
}
