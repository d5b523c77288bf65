# Day 2 on an existing cluster: nothing replaces or powers off a server. Apply with the mocked
# provider, then plan with changed locations, server types and IPv6. The provider replaces a
# server when location (ForceNew) changes and powers it off for server_type and public_net, so
# the planned values of those attributes must stay the creation-time ones. (Mocks never report a
# replacement themselves, and hand every server the same mocked ID: the attributes are the proof.)

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
  # Applied with mocks: nothing may try to reach the (mocked) servers.
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}

run "create" {
  command = apply

  assert {
    condition     = [for s in hcloud_server.master : s.location] == ["fsn1", "nbg1", "hel1"] && [for s in hcloud_server.worker : s.location] == ["fsn1", "nbg1"]
    error_message = "Servers are created round-robin over the locations."
  }
}

run "reordered_locations_move_nothing" {
  command = plan

  variables {
    locations = ["hel1", "nbg1", "fsn1"]
  }

  # The plan only warns that existing servers stay where they are.
  expect_failures = [check.servers_keep_their_location]

  assert {
    condition     = [for s in hcloud_server.master : s.location] == ["fsn1", "nbg1", "hel1"] && [for s in hcloud_server.worker : s.location] == ["fsn1", "nbg1"]
    error_message = "A changed locations list must not move (replace) any existing server."
  }

  assert {
    condition     = hcloud_load_balancer.control_plane[0].location == "fsn1"
    error_message = "The control-plane load balancer keeps its location (a replaced one gets new addresses)."
  }
}

run "new_server_types_power_nothing_off" {
  command = plan

  variables {
    master_server_type = "cpx41"
    worker_server_type = "cpx51"
  }

  expect_failures = [check.servers_keep_their_type]

  assert {
    condition     = alltrue([for s in hcloud_server.master : s.server_type == "cx23"]) && alltrue([for s in hcloud_server.worker : s.server_type == "cx33"])
    error_message = "A new server type must not resize (power off) existing servers."
  }
}

run "ipv6_off_powers_nothing_off" {
  command = plan

  variables {
    enable_ipv6 = false
  }

  expect_failures = [check.servers_keep_their_ipv6]

  assert {
    condition     = alltrue([for s in concat(hcloud_server.master, hcloud_server.worker) : one(s.public_net).ipv6_enabled && one(s.public_net).ipv4_enabled])
    error_message = "A changed enable_ipv6 must not touch (power off) existing servers."
  }
}

run "new_masters_get_the_new_settings" {
  command = plan

  variables {
    master_count       = 5
    master_server_type = "cpx41"
    locations          = ["hel1", "nbg1", "fsn1"]
    enable_ipv6        = false
  }

  expect_failures = [check.servers_keep_their_type, check.servers_keep_their_location, check.servers_keep_their_ipv6]

  assert {
    condition = (
      [for s in hcloud_server.master : s.location] == ["fsn1", "nbg1", "hel1", "hel1", "nbg1"] &&
      [for s in hcloud_server.master : s.server_type] == ["cx23", "cx23", "cx23", "cpx41", "cpx41"] &&
      [for s in hcloud_server.master : one(s.public_net).ipv6_enabled] == [true, true, true, false, false]
    )
    error_message = "Existing masters keep their settings; masters 3 and 4 are created with the new ones."
  }
}

run "network_zone_is_fixed" {
  command = plan

  variables {
    locations = ["ash"]
  }

  # The subnet (and so every server's network) lives in the creation-time zone.
  expect_failures = [terraform_data.guard_network_zone_fixed, check.servers_keep_their_location]
}
