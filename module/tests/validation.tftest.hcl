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
