# hcloud is mocked; tls runs for real.
mock_provider "hcloud" {
  mock_resource "hcloud_network" {
    defaults = { id = "1001" }
  }
  mock_resource "hcloud_ssh_key" {
    defaults = { id = "3001" }
  }
  mock_resource "hcloud_server" {
    defaults = { id = "2001", ipv4_address = "203.0.113.10" }
  }
}

variables {
  name     = "lab"
  location = "nbg1"
}

run "plans_network_and_master" {
  command = plan

  assert {
    condition     = hcloud_network.this.ip_range == "10.0.0.0/16" && hcloud_network.this.labels.cluster == "lab"
    error_message = "the network must be 10.0.0.0/16 labelled with the cluster"
  }
  assert {
    condition     = hcloud_server.master.name == "lab-master-0" && hcloud_server.master.location == "nbg1"
    error_message = "the master must be named after the cluster and placed in var.location"
  }
  assert {
    condition     = hcloud_server.master.labels.role == "master" && hcloud_server.master.server_type == "cx22"
    error_message = "the master must carry role=master and the default server type"
  }
  assert {
    condition     = one(hcloud_server.master.network[*].ip) == "10.0.1.10"
    error_message = "the master's private IP must be host 10 of the nodes subnet"
  }
}

run "applies_with_mocked_api" {
  assert {
    condition     = startswith(hcloud_ssh_key.this.public_key, "ssh-ed25519 ")
    error_message = "the SSH key uploaded to hcloud must be the generated ED25519 key"
  }
  assert {
    condition     = hcloud_server.master.ssh_keys == tolist(["3001"])
    error_message = "the master must be created with the generated SSH key"
  }
  assert {
    condition     = output.master_ipv4 == "203.0.113.10" && output.master_private_ip == "10.0.1.10"
    error_message = "outputs must expose the master's addresses"
  }
}

run "rejects_unknown_location" {
  command = plan
  variables {
    location = "mars1"
  }
  expect_failures = [var.location]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Lab_1"
  }
  expect_failures = [var.name]
}
