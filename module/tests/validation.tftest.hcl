# One run per variable validation rule: each must stop the plan on its own.

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

run "cluster_name_uppercase" {
  command = plan

  variables {
    cluster_name = "Prod"
  }

  expect_failures = [var.cluster_name]
}

run "cluster_name_too_long" {
  command = plan

  variables {
    cluster_name = "a23456789012345678901234567890123"
  }

  expect_failures = [var.cluster_name]
}

run "hcloud_token_length" {
  command = plan

  variables {
    hcloud_token = "short"
  }

  expect_failures = [var.hcloud_token]
}

run "rke2_token_too_short" {
  command = plan

  variables {
    rke2_token = "abc"
  }

  expect_failures = [var.rke2_token]
}

run "rke2_version_format" {
  command = plan

  variables {
    rke2_version = "1.34.4"
  }

  expect_failures = [var.rke2_version]
}

run "install_script_not_https" {
  command = plan

  variables {
    rke2_install_script_url = "http://get.rke2.io"
  }

  expect_failures = [var.rke2_install_script_url]
}

# The URL is single-quoted in the install script and the inventory's install command.
run "install_script_url_with_a_quote" {
  command = plan

  variables {
    rke2_install_script_url = "https://mirror.example.com/install.sh'; rm -rf /'"
  }

  expect_failures = [var.rke2_install_script_url]
}

run "master_count_even" {
  command = plan

  variables {
    master_count = 2
  }

  expect_failures = [var.master_count]
}

run "master_count_too_many" {
  command = plan

  variables {
    master_count = 11
  }

  expect_failures = [var.master_count]
}

run "worker_count_negative" {
  command = plan

  variables {
    worker_count = -1
  }

  expect_failures = [var.worker_count]
}

run "worker_count_too_many" {
  command = plan

  variables {
    worker_count = 101
  }

  expect_failures = [var.worker_count]
}

run "master_server_type_name" {
  command = plan

  variables {
    master_server_type = "CX 23"
  }

  expect_failures = [var.master_server_type]
}

run "worker_server_type_name" {
  command = plan

  variables {
    worker_server_type = ""
  }

  expect_failures = [var.worker_server_type]
}

run "image_empty" {
  command = plan

  variables {
    image = " "
  }

  expect_failures = [var.image]
}

run "locations_unknown" {
  command = plan

  variables {
    locations = ["fra1"]
  }

  expect_failures = [var.locations]
}

run "locations_empty" {
  command = plan

  variables {
    locations = []
  }

  expect_failures = [var.locations]
}

run "extra_ssh_public_keys_format" {
  command = plan

  variables {
    extra_ssh_public_keys = ["not-a-key"]
  }

  expect_failures = [var.extra_ssh_public_keys]
}

run "network_ip_range_cidr" {
  command = plan

  variables {
    network_ip_range = "10.0.0.0"
  }

  expect_failures = [var.network_ip_range]
}

run "subnet_ip_range_too_small" {
  command = plan

  variables {
    subnet_ip_range = "10.0.1.0/25"
  }

  expect_failures = [var.subnet_ip_range]
}

run "ssh_allowed_cidrs_format" {
  command = plan

  variables {
    ssh_allowed_cidrs = ["anywhere"]
  }

  expect_failures = [var.ssh_allowed_cidrs]
}

run "api_allowed_cidrs_format" {
  command = plan

  variables {
    api_allowed_cidrs = ["192.0.2.1"]
  }

  expect_failures = [var.api_allowed_cidrs]
}

run "control_plane_lb_type" {
  command = plan

  variables {
    control_plane_load_balancer = { type = "lb99" }
  }

  expect_failures = [var.control_plane_load_balancer]
}

run "control_plane_lb_health_check" {
  command = plan

  variables {
    control_plane_load_balancer = { health_check = "http" }
  }

  expect_failures = [var.control_plane_load_balancer]
}

run "control_plane_lb_location" {
  command = plan

  variables {
    control_plane_load_balancer = { location = "fra1" }
  }

  expect_failures = [var.control_plane_load_balancer]
}

run "ingress_lb_type" {
  command = plan

  variables {
    ingress_load_balancer = { enabled = true, type = "lb1" }
  }

  expect_failures = [var.ingress_load_balancer]
}

run "ingress_lb_location" {
  command = plan

  variables {
    ingress_load_balancer = { enabled = true, location = "fra1" }
  }

  expect_failures = [var.ingress_load_balancer]
}

run "cni_unknown" {
  command = plan

  variables {
    cluster_configuration = { cni = "flannel" }
  }

  expect_failures = [var.cluster_configuration]
}

run "cluster_cidr_format" {
  command = plan

  variables {
    cluster_configuration = { cluster_cidr = "10.42.0.0" }
  }

  expect_failures = [var.cluster_configuration]
}

run "chart_version_exact" {
  command = plan

  variables {
    cluster_configuration = { hcloud_csi = { chart_version = "latest" } }
  }

  expect_failures = [var.cluster_configuration]
}

run "extra_server_config_reserved_key" {
  command = plan

  variables {
    rke2_extra_server_config = { token = "override" }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_server_config_agent_token" {
  command = plan

  variables {
    rke2_extra_server_config = { "agent-token" = "override" }
  }

  expect_failures = [var.rke2_extra_server_config]
}

# RKE2's append form of a reserved key is the same key.
run "extra_server_config_reserved_key_appended" {
  command = plan

  variables {
    rke2_extra_server_config = { "token+" = "override" }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_server_config_data_dir" {
  command = plan

  variables {
    rke2_extra_server_config = { "data-dir" = "/srv/rke2" }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_server_config_list_key_type" {
  command = plan

  variables {
    rke2_extra_server_config = { "kube-apiserver-arg" = { "audit-log-path" = "/var/log/audit.log" } }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_agent_config_reserved_key" {
  command = plan

  variables {
    rke2_extra_agent_config = { server = "https://elsewhere:9345" }
  }

  expect_failures = [var.rke2_extra_agent_config]
}

run "extra_agent_config_token_file" {
  command = plan

  variables {
    rke2_extra_agent_config = { "token-file" = "/root/token" }
  }

  expect_failures = [var.rke2_extra_agent_config]
}

run "node_channel_timeout_range" {
  command = plan

  variables {
    node_channel = { timeout = 10 }
  }

  expect_failures = [var.node_channel]
}

run "cluster_ready_timeout_range" {
  command = plan

  variables {
    cluster_ready_timeout = 30
  }

  expect_failures = [var.cluster_ready_timeout]
}

run "health_check_urls_scheme" {
  command = plan

  variables {
    health_check_urls = ["ftp://lms.example.com/heartbeat"]
  }

  expect_failures = [var.health_check_urls]
}

run "etcd_backup_schedule_cron_format" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { schedule_cron = "every 6 hours" } }
  }

  expect_failures = [var.cluster_configuration]
}

run "etcd_backup_retention_range" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { retention = 0 } }
  }

  expect_failures = [var.cluster_configuration]
}

run "etcd_backup_s3_retention_whole_number" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { s3_retention = 7.5 } }
  }

  expect_failures = [var.cluster_configuration]
}

# RKE2 takes a host (etcd-s3-endpoint); a scheme or path is an error there.
run "etcd_backup_endpoint_without_scheme" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { s3_endpoint = "https://fsn1.your-objectstorage.com" } }
  }

  expect_failures = [var.cluster_configuration]
}

run "etcd_backup_bucket_name" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { s3_bucket = "My_Bucket" } }
  }

  expect_failures = [var.cluster_configuration]
}

run "etcd_backup_folder_relative" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { s3_folder = "/etcd" } }
  }

  expect_failures = [var.cluster_configuration]
}

run "etcd_backup_region_format" {
  command = plan

  variables {
    cluster_configuration = { etcd_backup = { s3_region = "EU Central" } }
  }

  expect_failures = [var.cluster_configuration]
}

# Snapshots and S3 belong to cluster_configuration.etcd_backup (its drop-in would silently win).
run "extra_server_config_etcd_snapshot_key" {
  command = plan

  variables {
    rke2_extra_server_config = { "etcd-snapshot-retention" = 3 }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_server_config_etcd_s3_key_appended" {
  command = plan

  variables {
    rke2_extra_server_config = { "etcd-s3-bucket+" = "other" }
  }

  expect_failures = [var.rke2_extra_server_config]
}

run "extra_server_config_etcd_disable_snapshots" {
  command = plan

  variables {
    rke2_extra_server_config = { "etcd-disable-snapshots" = true }
  }

  expect_failures = [var.rke2_extra_server_config]
}

# Chart 11.x is Velero 1.17, whose AWS plugin line is v1.13 (rke2-facts.md §5.6).
run "velero_chart_line" {
  command = plan

  variables {
    velero = { version = "12.1.0" }
  }

  expect_failures = [var.velero]
}

run "velero_plugin_line" {
  command = plan

  variables {
    velero = { plugin_version = "v1.11.1" }
  }

  expect_failures = [var.velero]
}

run "velero_schedule_format" {
  command = plan

  variables {
    velero = { backup_schedule = "@every 6h" }
  }

  expect_failures = [var.velero]
}

run "velero_ttl_format" {
  command = plan

  variables {
    velero = { backup_ttl = "30d" }
  }

  expect_failures = [var.velero]
}

run "velero_endpoint_without_scheme" {
  command = plan

  variables {
    velero = { s3_endpoint = "https://nbg1.your-objectstorage.com" }
  }

  expect_failures = [var.velero]
}

run "velero_bucket_name" {
  command = plan

  variables {
    velero = { s3_bucket = "Velero" }
  }

  expect_failures = [var.velero]
}

run "velero_prefix_relative" {
  command = plan

  variables {
    velero = { s3_prefix = "velero/" }
  }

  expect_failures = [var.velero]
}

run "velero_region_format" {
  command = plan

  variables {
    velero = { s3_region = "Falkenstein 1" }
  }

  expect_failures = [var.velero]
}

run "velero_hook_on_error" {
  command = plan

  variables {
    velero = { backup_hooks = [{ name = "dump", label_selector = { app = "db" }, container = "db", command = ["/bin/sh", "-c", "true"], on_error = "Ignore" }] }
  }

  expect_failures = [var.velero]
}

run "velero_hook_empty_command" {
  command = plan

  variables {
    velero = { backup_hooks = [{ name = "dump", label_selector = { app = "db" }, container = "db", command = [] }] }
  }

  expect_failures = [var.velero]
}

run "upgrade_worker_concurrency_range" {
  command = plan

  variables {
    upgrade = { worker_concurrency = 0 }
  }

  expect_failures = [var.upgrade]
}

run "upgrade_timeouts_range" {
  command = plan

  variables {
    upgrade = { health_timeout = 5 }
  }

  expect_failures = [var.upgrade]
}

# The etcd process settings stay open (only snapshot/S3 keys are the module's).
run "extra_server_config_etcd_process_settings_allowed" {
  command = plan

  variables {
    rke2_extra_server_config = { "etcd-expose-metrics" = true, "etcd-arg" = ["heartbeat-interval=500", "election-timeout=5000"] }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["etcd-expose-metrics"] == true
    error_message = "etcd-expose-metrics and etcd-arg stay usable in the extra config."
  }
}
