# Changing rke2_version (or cloud-init, or the image) must never replace a server.
# Apply with the mocked provider, then plan and apply again with a new version and compare.

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
    condition     = strcontains(hcloud_server.master[0].user_data, "INSTALL_RKE2_VERSION:-v1.34.4+rke2r1")
    error_message = "Servers are created with cloud-init for the pinned version."
  }
}

# tofu test only keeps the latest run per module, so the creation-time values
# are parked in a provider-free helper module for the comparison at the end.
run "capture_before_upgrade" {
  command = apply

  module {
    source = "./tests/fixtures/compare"
  }

  variables {
    before = {
      masters = run.create.masters
      workers = run.create.workers
      nodes   = concat(run.create.ops_inventory.masters, run.create.ops_inventory.workers)
    }
    after = null
  }
}

run "plan_upgrade" {
  command = plan

  variables {
    rke2_version = "v1.35.1+rke2r1"
  }

  # ignore_changes keeps the creation-time user_data: the provider never sees a
  # user_data diff, and user_data is ForceNew in the hcloud provider.
  assert {
    condition     = strcontains(hcloud_server.master[0].user_data, "INSTALL_RKE2_VERSION:-v1.34.4+rke2r1") && strcontains(hcloud_server.worker[1].user_data, "INSTALL_RKE2_VERSION:-v1.34.4+rke2r1")
    error_message = "A new rke2_version must not change the servers' planned user_data (that would replace them)."
  }

  assert {
    condition     = strcontains(output.cloud_init["test-master-0"], "INSTALL_RKE2_VERSION:-v1.35.1+rke2r1")
    error_message = "The rendered cloud-init (for new nodes) follows the new version."
  }

  assert {
    condition     = alltrue([for s in concat(hcloud_server.master, hcloud_server.worker) : s.id == "5001"])
    error_message = "Server IDs (the mocked creation-time ID) must be unchanged in the upgrade plan."
  }

  assert {
    condition     = alltrue([for s in concat(hcloud_server.master, hcloud_server.worker) : s.image == "ubuntu-24.04"])
    error_message = "The upgrade plan must not touch the servers' image."
  }

  assert {
    condition     = output.ops_inventory.rke2.version == "v1.35.1+rke2r1"
    error_message = "ops_inventory must report the target version."
  }
}

run "apply_upgrade" {
  command = apply

  variables {
    rke2_version = "v1.35.1+rke2r1"
    image        = "ubuntu-26.04"
  }

  assert {
    condition     = hcloud_server.master[0].image == "ubuntu-24.04"
    error_message = "A new image must not touch existing servers (ignore_changes)."
  }

  assert {
    condition     = strcontains(hcloud_server.worker[0].user_data, "INSTALL_RKE2_VERSION:-v1.34.4+rke2r1")
    error_message = "Applying a new rke2_version must keep the creation-time user_data."
  }
}

run "same_servers_and_host_keys_after_upgrade" {
  command = apply

  module {
    source = "./tests/fixtures/compare"
  }

  variables {
    before = run.capture_before_upgrade.before
    after = {
      masters = run.apply_upgrade.masters
      workers = run.apply_upgrade.workers
      nodes   = concat(run.apply_upgrade.ops_inventory.masters, run.apply_upgrade.ops_inventory.workers)
    }
  }

  assert {
    condition     = output.equal
    error_message = "Servers (IDs, addresses) and their pinned host keys must be identical before and after the upgrade."
  }
}
