# Conditional counts: 1 vs 3 masters, ingress LB on/off, worker placement groups, no control-plane LB.

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

run "three_masters_spread_over_locations" {
  command = plan

  variables {
    master_count = 3
    worker_count = 3
  }

  assert {
    condition     = length(hcloud_server.master) == 3 && length(hcloud_load_balancer_target.control_plane) == 3
    error_message = "3 masters must give 3 servers and 3 control-plane LB targets."
  }

  assert {
    condition     = [for s in hcloud_server.master : s.location] == ["fsn1", "nbg1", "hel1"]
    error_message = "Masters must be spread round-robin over the locations."
  }

  assert {
    condition     = [for s in hcloud_server.master : one(s.network).ip] == ["10.0.1.11", "10.0.1.12", "10.0.1.13"]
    error_message = "Masters get consecutive fixed private IPs from .11."
  }

  assert {
    condition     = hcloud_server.master[0].labels["rke2-initial-server"] == "true" && hcloud_server.master[1].labels["rke2-initial-server"] == "false"
    error_message = "Only master-0 is labelled as the initial server."
  }

  assert {
    condition     = length(tls_private_key.master_host) == 3 && length(tls_private_key.worker_host) == 3
    error_message = "Every node needs its own host key."
  }
}

run "one_master" {
  command = plan

  variables {
    master_count = 1
    worker_count = 0
  }

  assert {
    condition     = length(hcloud_server.master) == 1 && length(hcloud_server.worker) == 0 && length(hcloud_placement_group.workers) == 0
    error_message = "1 master, 0 workers: no worker servers or placement groups."
  }
}

run "ingress_lb_on" {
  command = plan

  variables {
    worker_count          = 2
    ingress_load_balancer = { enabled = true }
  }

  assert {
    condition     = length(hcloud_load_balancer.ingress) == 1 && length(hcloud_load_balancer_target.ingress) == 2
    error_message = "Ingress LB must target every worker."
  }

  assert {
    condition     = toset(keys(hcloud_load_balancer_service.ingress)) == toset(["80", "443"]) && hcloud_load_balancer_service.ingress["443"].destination_port == 443
    error_message = "Ingress LB must forward 80 and 443."
  }

  assert {
    condition     = alltrue([for t in hcloud_load_balancer_target.ingress : t.use_private_ip]) && hcloud_load_balancer_network.ingress[0].ip == "10.0.1.3"
    error_message = "Ingress LB must sit at .3 and use private IPs."
  }

  assert {
    condition     = output.ingress_lb.ipv4 == "203.0.113.100"
    error_message = "ingress_lb output must expose the LB address."
  }
}

run "ingress_lb_off" {
  command = plan

  assert {
    condition     = length(hcloud_load_balancer.ingress) == 0 && length(hcloud_load_balancer_target.ingress) == 0 && length(hcloud_load_balancer_service.ingress) == 0 && output.ingress_lb == null
    error_message = "Ingress LB is off by default."
  }
}

run "worker_placement_groups_hold_ten" {
  command = plan

  variables {
    worker_count = 25
  }

  assert {
    condition     = length(hcloud_placement_group.workers) == 3
    error_message = "25 workers need 3 spread placement groups (10 per group)."
  }

  assert {
    condition     = one(hcloud_server.worker[24].network).ip == "10.0.1.125"
    error_message = "Worker 24 must get .125."
  }
}

run "no_control_plane_lb_joins_master0" {
  command = plan

  variables {
    control_plane_load_balancer = { enabled = false }
  }

  assert {
    condition     = length(hcloud_load_balancer.control_plane) == 0 && length(hcloud_load_balancer_service.kube_api) == 0 && output.control_plane_lb == null
    error_message = "Disabled control-plane LB must create nothing."
  }

  assert {
    condition     = output.join_url == "https://10.0.1.11:9345"
    error_message = "Without the LB, nodes join through master-0's private IP."
  }

  assert {
    condition     = output.kube_api_endpoint == "https://10.0.1.11:6443" && strcontains(output.node_channel_scripts["test-master-0"], "API_FALLBACK='https://10.0.1.11:6443'")
    error_message = "Without the LB (and no public API path), the API endpoint is master-0's private address."
  }
}

run "wait_for_cluster_ready_off" {
  command = plan

  variables {
    wait_for_cluster_ready = false
  }

  assert {
    condition     = length(terraform_data.wait_for_cluster_ready) == 0
    error_message = "wait_for_cluster_ready = false must skip the SSH wait."
  }
}

run "delete_protection" {
  command = plan

  variables {
    delete_protection = true
  }

  assert {
    condition     = hcloud_server.master[0].delete_protection && hcloud_server.master[0].rebuild_protection && hcloud_load_balancer.control_plane[0].delete_protection
    error_message = "delete_protection must protect servers and load balancers."
  }
}

run "placement_groups_off" {
  command = plan

  variables {
    placement_groups = false
    worker_count     = 3
  }

  assert {
    condition     = length(hcloud_placement_group.masters) == 0 && length(hcloud_placement_group.workers) == 0 && hcloud_server.master[0].placement_group_id == null
    error_message = "placement_groups = false must create no placement groups and attach none."
  }
}
