# Plans the example offline: the hcloud provider is mocked (no token, no network).

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
    target = module.cluster.random_password.rke2_agent_token
    values = { result = "MockAgentToken0123456789abcdefghijklmnopqrstuvw" }
  }
}

variables {
  hcloud_token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  lms_host     = "lms.example.org"
  admin_cidrs  = ["198.51.100.0/24"]
  # Plan only: the keys never leave this test.
  s3_access_key = "EXAMPLEACCESSKEY0001"
  s3_secret_key = "ExampleSecretKey000000000000000000000001"
}

run "plan" {
  command = plan

  assert {
    condition     = length(output.ops_inventory.masters) == 3 && length(output.ops_inventory.workers) == 3
    error_message = "The tutor example builds 3 masters and 3 workers."
  }

  assert {
    condition     = output.ops_inventory.health.urls == tolist(["https://lms.example.org/heartbeat"])
    error_message = "The LMS heartbeat must be the health check URL."
  }

  assert {
    condition     = output.ingress_ipv4 == "203.0.113.100"
    error_message = "The ingress load balancer must be on."
  }

  assert {
    condition     = [for m in output.ops_inventory.masters : m.name] == ["tutor-master-0", "tutor-master-1", "tutor-master-2"]
    error_message = "masters[0] must be the initial server."
  }

  assert {
    condition     = output.kube_api_endpoint == "https://203.0.113.10:6443"
    error_message = "The API is reached on the masters from admin_cidrs (no public API load balancer)."
  }

  assert {
    condition     = output.etcd_backup_enabled && output.velero_enabled
    error_message = "The tutor example backs up etcd and the volumes."
  }

  assert {
    condition     = jsonencode(output.ops_inventory.etcd_s3) == jsonencode({ bucket = "tutor-backups", endpoint = "fsn1.your-objectstorage.com", folder = "tutor", insecure = false, region = "fsn1" }) && output.ops_inventory.velero.schedule == "velero-full-cluster"
    error_message = "The inventory tells the actions where the snapshots and Velero backups are."
  }

  assert {
    condition     = !strcontains(jsonencode(output.ops_inventory), "ExampleSecretKey")
    error_message = "No S3 key in the inventory."
  }
}
