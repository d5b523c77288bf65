# One run per precondition (hard rule, stops the plan; each on its own terraform_data guard_*, so
# expect_failures names the rule) and per check block (soft, only warns). guard_network_zone_fixed
# needs an existing cluster: day2.tftest.hcl. guard_channel_paths guards the module's own channel
# entries (no input reaches a path); the node script refuses such paths again.

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
}

# No assert needed: the run fails if any precondition or check fires on the defaults.
run "defaults_pass_every_rule" {
  command = plan
}

run "locations_in_one_network_zone" {
  command = plan

  variables {
    locations = ["fsn1", "ash"]
  }

  expect_failures = [terraform_data.guard_one_network_zone]
}

run "load_balancer_in_network_zone" {
  command = plan

  variables {
    locations                   = ["ash"]
    control_plane_load_balancer = { location = "fsn1" }
  }

  expect_failures = [terraform_data.guard_load_balancer_zone]
}

run "subnet_inside_network" {
  command = plan

  variables {
    network_ip_range      = "10.0.0.0/16"
    subnet_ip_range       = "10.1.1.0/24"
    cluster_configuration = { hcloud_ccm = { networking = false } }
  }

  expect_failures = [terraform_data.guard_subnet_in_network]
}

run "cidrs_do_not_overlap" {
  command = plan

  variables {
    subnet_ip_range = "10.42.1.0/24"
  }

  expect_failures = [terraform_data.guard_cidrs_disjoint]
}

run "pod_cidr_inside_network_for_ccm_routes" {
  command = plan

  variables {
    network_ip_range = "10.0.0.0/16"
    subnet_ip_range  = "10.0.1.0/24"
  }

  expect_failures = [terraform_data.guard_pod_cidr_routable]
}

# Without CCM routes the pod CIDR may lie outside the network: the plan passes.
run "pod_cidr_outside_network_allowed_without_ccm_routes" {
  command = plan

  variables {
    network_ip_range      = "10.0.0.0/16"
    subnet_ip_range       = "10.0.1.0/24"
    cluster_configuration = { hcloud_ccm = { networking = false } }
  }
}

run "readyz_health_check_needs_recent_rke2" {
  command = plan

  variables {
    rke2_version = "v1.32.5+rke2r1"
  }

  expect_failures = [terraform_data.guard_readyz_needs_recent_rke2]
}

run "tcp_health_check_works_with_older_rke2" {
  command = plan

  variables {
    rke2_version                = "v1.31.5+rke2r1"
    control_plane_load_balancer = { health_check = "tcp" }
  }

  assert {
    condition     = one(hcloud_load_balancer_service.kube_api[0].health_check).protocol == "tcp"
    error_message = "health_check = tcp must give a TCP health check on 6443."
  }
}

run "apiserver_args_must_not_fight_the_auth_config" {
  command = plan

  variables {
    rke2_extra_server_config = { "kube-apiserver-arg" = ["anonymous-auth=true"] }
  }

  expect_failures = [terraform_data.guard_apiserver_args]
}

run "second_authentication_config_refused" {
  command = plan

  variables {
    rke2_extra_server_config = { "kube-apiserver-arg+" = "--authentication-config=/etc/other.yaml" }
  }

  expect_failures = [terraform_data.guard_apiserver_args]
}

# With the tcp check the module passes no authentication config: the user may.
run "apiserver_auth_args_allowed_with_tcp_check" {
  command = plan

  variables {
    control_plane_load_balancer = { health_check = "tcp" }
    rke2_extra_server_config    = { "kube-apiserver-arg" = ["anonymous-auth=false"] }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["kube-apiserver-arg"] == ["anonymous-auth=false"]
    error_message = "In tcp mode the user's apiserver arguments pass through unchanged."
  }
}

run "node_channel_needs_ssh" {
  command = plan

  variables {
    ssh_allowed_cidrs = []
  }

  expect_failures = [terraform_data.guard_channel_needs_ssh]
}

run "check_warns_on_ha_without_control_plane_lb" {
  command = plan

  variables {
    master_count                = 3
    control_plane_load_balancer = { enabled = false }
  }

  # check blocks only warn; expect_failures proves the warning fires.
  expect_failures = [check.ha_without_control_plane_lb]
}

run "check_warns_on_ingress_lb_without_workers" {
  command = plan

  variables {
    worker_count          = 0
    ingress_load_balancer = { enabled = true }
  }

  expect_failures = [check.ingress_lb_on_masters]
}

run "check_warns_on_cilium_without_kube_proxy" {
  command = plan

  variables {
    cluster_configuration    = { cni = "cilium" }
    rke2_extra_server_config = { "disable-kube-proxy" = true }
  }

  expect_failures = [check.metadata_restriction_with_cilium_kpr]
}

# --- backups (backup.tf) ------------------------------------------------------------------------

run "backups_and_velero_on_pass_every_rule" {
  command = plan

  variables {
    master_count = 3
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
    velero = { enabled = true }
  }
}

run "etcd_backup_needs_a_bucket" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [terraform_data.guard_etcd_backup_s3_settings]
}

run "etcd_backup_needs_keys" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001" }
    }
  }

  expect_failures = [terraform_data.guard_etcd_backup_s3_settings]
}

run "etcd_backup_endpoint_where_hetzner_has_no_object_storage" {
  command = plan

  variables {
    locations = ["ash"]
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [terraform_data.guard_etcd_backup_endpoint]
}

run "etcd_backup_in_ash_with_an_explicit_endpoint" {
  command = plan

  variables {
    locations = ["ash"]
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_endpoint = "fsn1.your-objectstorage.com", s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  assert {
    condition     = output.ops_inventory.etcd_s3.endpoint == "fsn1.your-objectstorage.com" && output.ops_inventory.etcd_s3.region == "fsn1"
    error_message = "An explicit endpoint works where none can be derived (its region follows it)."
  }
}

# Every master uploads on every run and etcd-s3-retention counts across the cluster: 5 keeps
# less than two points in time for 3 masters.
run "etcd_s3_retention_too_low_for_the_masters" {
  command = plan

  variables {
    master_count = 3
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_retention = 5, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [terraform_data.guard_etcd_s3_retention]
}

# Without etcd-s3-retention (before v1.33.4), retention is what S3 keeps across the cluster.
run "etcd_s3_retention_on_older_rke2_is_the_local_one" {
  command = plan

  variables {
    master_count = 3
    rke2_version = "v1.33.3+rke2r1"
    cluster_configuration = {
      etcd_backup = { enabled = true, retention = 5, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [terraform_data.guard_etcd_s3_retention]
}

run "check_warns_when_s3_keeps_fewer_points_than_the_masters" {
  command = plan

  variables {
    master_count = 3
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_retention = 6, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [check.etcd_s3_keeps_fewer_points_than_the_masters]
}

run "check_warns_when_s3_retention_is_ignored" {
  command = plan

  variables {
    rke2_version = "v1.33.3+rke2r1"
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_retention = 30, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
  }

  expect_failures = [check.etcd_s3_retention_needs_recent_rke2]
}

run "velero_needs_a_bucket_and_keys" {
  command = plan

  variables {
    velero = { enabled = true }
  }

  expect_failures = [terraform_data.guard_velero_s3_settings]
}

run "velero_endpoint_where_hetzner_has_no_object_storage" {
  command = plan

  variables {
    locations = ["sin"]
    velero    = { enabled = true, s3_bucket = "velero-bucket", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
  }

  expect_failures = [terraform_data.guard_velero_endpoint]
}

run "velero_needs_the_csi_driver" {
  command = plan

  variables {
    cluster_configuration = {
      hcloud_csi  = { preinstall = false }
      etcd_backup = { enabled = true, s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
    velero = { enabled = true }
  }

  expect_failures = [terraform_data.guard_velero_needs_csi]
}

run "velero_prefix_inside_the_etcd_folder" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_folder = "backups", s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
    velero = { enabled = true, s3_prefix = "backups/velero" }
  }

  expect_failures = [terraform_data.guard_velero_prefix_apart]
}

run "velero_prefix_in_another_bucket_may_match" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = { enabled = true, s3_folder = "test", s3_bucket = "test-backups", s3_access_key = "MOCKACCESSKEY0000001", s3_secret_key = "MockSecretKey000000000000000000000000001" }
    }
    velero = { enabled = true, s3_bucket = "velero-bucket", s3_prefix = "test" }
  }
}
