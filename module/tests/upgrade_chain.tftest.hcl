# The upgrade chain on rke2_version (upgrade.tf): which resources exist and re-run, and what their
# rendered scripts say. Plan only: provisioners never run in a plan, and the scripts themselves run
# on a lab (test/lab/module-ops.test.ts).

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
  cluster_name = "test"
  hcloud_token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  master_count = 3
  worker_count = 2
  node_channel = { apply = false }
}

run "chain_off_with_the_channel_off" {
  command = plan

  assert {
    condition = (
      length(terraform_data.pre_upgrade_snapshot) == 0 && length(terraform_data.upgrade_master) == 0 &&
      length(terraform_data.upgrade_worker) == 0 && length(terraform_data.health_check) == 0
    )
    error_message = "node_channel.apply = false connects nowhere: no upgrade step either."
  }

  assert {
    condition     = length(output.upgrade_scripts.upgrade) == 5 && startswith(output.upgrade_scripts.pre_upgrade_snapshot, "#!/usr/bin/env bash\n") && startswith(output.upgrade_scripts.health_check, "#!/usr/bin/env bash\n")
    error_message = "The scripts are still rendered, for another runner."
  }
}

run "chain_layout" {
  command = plan

  variables {
    node_channel = { apply = true }
  }

  assert {
    condition = (
      length(terraform_data.pre_upgrade_snapshot) == 1 && length(terraform_data.upgrade_master) == 3 &&
      length(terraform_data.upgrade_worker) == 2 && length(terraform_data.health_check) == 1
    )
    error_message = "One snapshot and one health check (master-0), one upgrade step per node."
  }

  assert {
    condition = alltrue([
      for r in concat(terraform_data.pre_upgrade_snapshot, terraform_data.upgrade_master, terraform_data.upgrade_worker) : r.triggers_replace == ["v1.34.4+rke2r1"]
    ])
    error_message = "Snapshot and upgrade steps re-run on a new rke2_version only (not on every config change)."
  }

  assert {
    condition     = terraform_data.health_check[0].triggers_replace == ["v1.34.4+rke2r1", sha256(output.upgrade_scripts.health_check)]
    error_message = "The health check re-runs on a new version or new checks (URLs, nodes)."
  }
}

run "chain_left_to_another_runner" {
  command = plan

  variables {
    node_channel = { apply = true }
    upgrade      = { apply = false }
  }

  assert {
    condition = (
      length(terraform_data.node_channel_master) == 3 && length(terraform_data.pre_upgrade_snapshot) == 0 &&
      length(terraform_data.upgrade_master) == 0 && length(terraform_data.upgrade_worker) == 0 && length(terraform_data.health_check) == 0
    )
    error_message = "upgrade.apply = false keeps the channel and runs no upgrade step."
  }
}

run "scripts_in_order" {
  command = plan

  variables {
    worker_count = 4
    upgrade      = { worker_concurrency = 2 }
  }

  assert {
    condition = [for n in ["test-master-0", "test-master-1", "test-master-2", "test-worker-0", "test-worker-1", "test-worker-2", "test-worker-3"] : one(regexall("(?m)^WAIT_FOR=\\((.*)\\)$", output.upgrade_scripts.upgrade[n]))[0]] == [
      "",
      "test-master-0",
      "test-master-0 test-master-1",
      "test-master-0 test-master-1 test-master-2",
      "test-master-0 test-master-1 test-master-2",
      "test-master-0 test-master-1 test-master-2 test-worker-0",
      "test-master-0 test-master-1 test-master-2 test-worker-1",
    ]
    error_message = "Masters one at a time from master-0; workers after every master, two at a time."
  }

  assert {
    condition = (
      strcontains(output.upgrade_scripts.upgrade["test-master-1"], "ROLE='server'\nUNIT='rke2-server'\nTARGET='v1.34.4+rke2r1'\nINSTALL_URL='https://get.rke2.io'") &&
      strcontains(output.upgrade_scripts.upgrade["test-worker-3"], "ROLE='agent'\nUNIT='rke2-agent'\nTARGET='v1.34.4+rke2r1'")
    )
    error_message = "Each node's script installs the pinned version for its role from the install script URL."
  }

  assert {
    condition     = strcontains(output.upgrade_scripts.upgrade["test-worker-0"], "API_FALLBACK='https://10.0.1.2:6443'")
    error_message = "While a node's own API endpoint restarts, the scripts ask the private control-plane endpoint."
  }
}

run "new_version_new_targets" {
  command = plan

  variables {
    node_channel            = { apply = true }
    rke2_version            = "v1.35.1+rke2r1"
    rke2_install_script_url = "https://mirror.example.com/rke2/install.sh"
  }

  assert {
    condition = (
      alltrue([for s in values(output.upgrade_scripts.upgrade) : strcontains(s, "TARGET='v1.35.1+rke2r1'") && strcontains(s, "INSTALL_URL='https://mirror.example.com/rke2/install.sh'")]) &&
      strcontains(output.upgrade_scripts.pre_upgrade_snapshot, "TARGET='v1.35.1+rke2r1'") &&
      strcontains(output.upgrade_scripts.health_check, "TARGET='v1.35.1+rke2r1'") &&
      terraform_data.upgrade_master[2].triggers_replace == ["v1.35.1+rke2r1"]
    )
    error_message = "A new rke2_version becomes every step's target and trigger; a custom install script is used for it."
  }
}

run "snapshot_script_without_backups" {
  command = plan

  assert {
    condition = (
      strcontains(output.upgrade_scripts.pre_upgrade_snapshot, "NODE='test-master-0'\nTARGET='v1.34.4+rke2r1'\nNODES=(test-master-0 test-master-1 test-master-2 test-worker-0 test-worker-1)\nS3=0\n") &&
      strcontains(output.upgrade_scripts.pre_upgrade_snapshot, "VELERO=0\n")
    )
    error_message = "Without backups the snapshot is local only and no Velero backup is made."
  }
}

run "snapshot_script_with_s3_and_velero" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
    velero = { enabled = true }
  }

  assert {
    condition = (
      strcontains(output.upgrade_scripts.pre_upgrade_snapshot, "S3=1\nS3_TARGET='s3://test-backups/test at fsn1.your-objectstorage.com'\nVELERO=1\nVELERO_NS='velero'\nVELERO_SCHEDULE='velero-full-cluster'\n")
    )
    error_message = "With backups on, the snapshot must have a ready S3 copy and a Velero backup is made from the schedule."
  }

  assert {
    condition = alltrue([
      for s in concat([output.upgrade_scripts.pre_upgrade_snapshot, output.upgrade_scripts.health_check], values(output.upgrade_scripts.upgrade)) :
      !strcontains(s, "MockSecretKey") && !strcontains(s, "MOCKACCESSKEY") && !strcontains(s, "MockRke2Token") && !strcontains(s, "MockAgentToken") && !strcontains(s, "aaaaaaaaaaaaaaaa")
    ])
    error_message = "The scripts carry no secret (tofu shows their output; RKE2 reads the keys from its drop-in)."
  }
}

run "snapshot_script_velero_backup_off" {
  command = plan

  variables {
    velero  = { enabled = true, s3_bucket = "velero-bucket", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    upgrade = { velero_backup = false }
  }

  assert {
    condition     = strcontains(output.upgrade_scripts.pre_upgrade_snapshot, "VELERO=0\n")
    error_message = "upgrade.velero_backup = false skips the pre-upgrade Velero backup."
  }
}

run "health_check_script" {
  command = plan

  variables {
    health_check_urls = ["https://lms.example.com/heartbeat", "https://studio.example.com/it's"]
    upgrade           = { health_timeout = 300 }
  }

  assert {
    condition = strcontains(output.upgrade_scripts.health_check, join("\n", [
      "NODE='test-master-0'",
      "TARGET='v1.34.4+rke2r1'",
      "NODES=(test-master-0 test-master-1 test-master-2 test-worker-0 test-worker-1)",
      "KUBE_PROXY=1",
      "CCM=1",
      "URLS=('https://lms.example.com/heartbeat' 'https://studio.example.com/it'\\''s')",
      "TIMEOUT=$${HEALTH_TIMEOUT:-300}",
    ]))
    error_message = "The health check expects every node at the target, kube-proxy and the CCM, and the URLs (single-quoted for bash)."
  }
}

run "health_check_without_kube_proxy_and_ccm" {
  command = plan

  variables {
    rke2_extra_server_config  = { "disable-kube-proxy" = true }
    cluster_configuration     = { cni = "cilium", hcloud_ccm = { enabled = false } }
    restrict_metadata_service = false
  }

  assert {
    condition     = strcontains(output.upgrade_scripts.health_check, "KUBE_PROXY=0\nCCM=0\n")
    error_message = "No kube-proxy pods are expected when it is disabled, no CCM pods without the CCM."
  }
}
