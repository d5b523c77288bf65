# One run per precondition (hard rule, stops the plan) and per check block (soft, only warns).

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
}

variables {
  cluster_name = "test"
  hcloud_token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}

run "guardrails_pass_with_defaults" {
  command = plan

  assert {
    condition     = terraform_data.guardrails.input.cluster_name == "test"
    error_message = "The guardrails resource must plan with default inputs."
  }
}

run "locations_in_one_network_zone" {
  command = plan

  variables {
    locations = ["fsn1", "ash"]
  }

  expect_failures = [terraform_data.guardrails]
}

run "load_balancer_in_network_zone" {
  command = plan

  variables {
    locations                   = ["ash"]
    control_plane_load_balancer = { location = "fsn1" }
  }

  expect_failures = [terraform_data.guardrails]
}

run "subnet_inside_network" {
  command = plan

  variables {
    network_ip_range      = "10.0.0.0/16"
    subnet_ip_range       = "10.1.1.0/24"
    cluster_configuration = { hcloud_ccm = { networking = false } }
  }

  expect_failures = [terraform_data.guardrails]
}

run "cidrs_do_not_overlap" {
  command = plan

  variables {
    subnet_ip_range = "10.42.1.0/24"
  }

  expect_failures = [terraform_data.guardrails]
}

run "pod_cidr_inside_network_for_ccm_routes" {
  command = plan

  variables {
    network_ip_range = "10.0.0.0/16"
    subnet_ip_range  = "10.0.1.0/24"
  }

  expect_failures = [terraform_data.guardrails]
}

run "pod_cidr_outside_network_allowed_without_ccm_routes" {
  command = plan

  variables {
    network_ip_range      = "10.0.0.0/16"
    subnet_ip_range       = "10.0.1.0/24"
    cluster_configuration = { hcloud_ccm = { networking = false } }
  }

  assert {
    condition     = terraform_data.guardrails.input.cluster_name == "test"
    error_message = "Without CCM routes the pod CIDR may lie outside the network."
  }
}

run "readyz_health_check_needs_recent_rke2" {
  command = plan

  variables {
    rke2_version = "v1.32.5+rke2r1"
  }

  expect_failures = [terraform_data.guardrails]
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

run "private_control_plane_needs_an_access_path" {
  command = plan

  variables {
    control_plane_load_balancer = { public = false }
    api_allowed_cidrs           = []
  }

  expect_failures = [terraform_data.guardrails]
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
