# Defaults: what a plan with only the required inputs builds.

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

run "defaults" {
  command = plan

  assert {
    condition     = length(hcloud_server.master) == 1 && length(hcloud_server.worker) == 1
    error_message = "Defaults must build 1 master and 1 worker."
  }

  assert {
    condition     = hcloud_server.master[0].name == "test-master-0" && hcloud_server.worker[0].name == "test-worker-0"
    error_message = "Node names must be <cluster>-master-<i> and <cluster>-worker-<i>."
  }

  assert {
    condition     = hcloud_server.master[0].image == "ubuntu-24.04" && hcloud_server.master[0].server_type == "cx23" && hcloud_server.worker[0].server_type == "cx33"
    error_message = "Default image and server types changed."
  }

  assert {
    condition     = hcloud_server.master[0].location == "fsn1"
    error_message = "master-0 must be in the first location."
  }

  assert {
    condition     = one(hcloud_server.master[0].network).ip == "10.0.1.11" && one(hcloud_server.worker[0].network).ip == "10.0.1.101"
    error_message = "Masters start at .11 and workers at .101 of the subnet."
  }

  assert {
    condition     = hcloud_network.this.ip_range == "10.0.0.0/8" && hcloud_network_subnet.nodes.ip_range == "10.0.1.0/24" && hcloud_network_subnet.nodes.network_zone == "eu-central"
    error_message = "Default network, subnet or network zone changed."
  }

  assert {
    condition     = hcloud_placement_group.masters[0].type == "spread" && hcloud_server.master[0].placement_group_id == 3001 && length(hcloud_placement_group.workers) == 1 && hcloud_placement_group.workers[0].type == "spread"
    error_message = "Masters and workers must be in spread placement groups."
  }

  assert {
    condition     = tls_private_key.ssh.algorithm == "ED25519" && length(tls_private_key.master_host) == 1 && tls_private_key.master_host[0].algorithm == "ED25519" && length(tls_private_key.worker_host) == 1
    error_message = "One ED25519 access key and one ED25519 host key per node are required."
  }

  assert {
    condition     = length(hcloud_load_balancer.control_plane) == 1 && length(hcloud_load_balancer.api) == 0 && length(hcloud_load_balancer.ingress) == 0
    error_message = "Defaults: private control-plane LB on, public API LB off, ingress LB off."
  }

  assert {
    condition     = hcloud_load_balancer_network.control_plane[0].ip == "10.0.1.2" && length(hcloud_load_balancer_target.control_plane) == 1 && hcloud_load_balancer_target.control_plane[0].use_private_ip
    error_message = "The control-plane LB must sit at .2 and target the masters through their private IPs."
  }

  assert {
    condition = (
      one(hcloud_load_balancer_service.kube_api[0].health_check).protocol == "http" &&
      one(one(hcloud_load_balancer_service.kube_api[0].health_check).http).path == "/readyz" &&
      one(one(hcloud_load_balancer_service.kube_api[0].health_check).http).tls &&
      one(one(hcloud_load_balancer_service.kube_api[0].health_check).http).status_codes == tolist(["200"])
    )
    error_message = "The 6443 health check must be HTTPS GET /readyz expecting 200."
  }

  assert {
    condition     = one(hcloud_load_balancer_service.supervisor[0].health_check).protocol == "tcp"
    error_message = "The 9345 health check must be TCP."
  }

  assert {
    condition     = length(terraform_data.node_channel_master) == 1 && length(terraform_data.node_channel_worker) == 1 && length(terraform_data.wait_for_cluster_ready) == 1
    error_message = "By default tofu runs the node channel on every node and waits for the cluster."
  }

  assert {
    condition     = startswith(hcloud_server.master[0].user_data, "#cloud-config\n")
    error_message = "user_data must be a cloud-config document."
  }

  assert {
    condition     = output.join_url == "https://10.0.1.2:9345"
    error_message = "Nodes must join through the control-plane LB's private IP."
  }

  assert {
    condition     = output.kube_api_endpoint == "https://10.0.1.2:6443"
    error_message = "With no public API path the endpoint is the private control-plane address."
  }
}

run "firewall_public_rules" {
  command = plan

  assert {
    condition     = toset([for r in hcloud_firewall.masters.rule : r.port if r.protocol == "tcp"]) == toset(["22"])
    error_message = "Masters' public firewall must open only 22 by default (the API is opt-in)."
  }

  assert {
    condition     = toset([for r in hcloud_firewall.workers.rule : r.port if r.protocol == "tcp"]) == toset(["22"])
    error_message = "Workers' public firewall must open exactly 22."
  }

  assert {
    condition = alltrue([
      for r in concat(tolist(hcloud_firewall.masters.rule), tolist(hcloud_firewall.workers.rule)) :
      !contains(["2379", "2380", "2381", "2379-2381", "9345", "10250", "8472", "any"], coalesce(r.port, "none"))
    ])
    error_message = "etcd, supervisor, kubelet and CNI ports must never be opened on the public interface."
  }

  assert {
    condition     = one([for r in hcloud_firewall.masters.rule : r.source_ips if r.port == "22"]) == toset(["0.0.0.0/0", "::/0"])
    error_message = "SSH must be open to ssh_allowed_cidrs (default: anywhere)."
  }
}

run "firewall_follows_cidr_variables" {
  command = plan

  variables {
    ssh_allowed_cidrs = ["198.51.100.0/24"]
    api_allowed_cidrs = ["192.0.2.0/24", "2001:db8::/32"]
    allow_icmp        = false
  }

  assert {
    condition     = one([for r in hcloud_firewall.masters.rule : r.source_ips if r.port == "22"]) == toset(["198.51.100.0/24"])
    error_message = "SSH rule must use ssh_allowed_cidrs."
  }

  assert {
    condition     = one([for r in hcloud_firewall.masters.rule : r.source_ips if r.port == "6443"]) == toset(["192.0.2.0/24", "2001:db8::/32"])
    error_message = "API rule must use api_allowed_cidrs."
  }

  assert {
    condition     = length([for r in hcloud_firewall.masters.rule : r if r.protocol == "icmp"]) == 0
    error_message = "allow_icmp = false must drop the ICMP rule."
  }
}

run "firewall_closed_when_cidrs_empty" {
  command = plan

  variables {
    ssh_allowed_cidrs = []
    api_allowed_cidrs = []
    # Nothing can SSH in: the node scripts are delivered another way.
    node_channel           = { apply = false }
    wait_for_cluster_ready = false
  }

  assert {
    condition     = length([for r in hcloud_firewall.masters.rule : r if r.protocol == "tcp"]) == 0 && length([for r in hcloud_firewall.workers.rule : r if r.protocol == "tcp"]) == 0
    error_message = "Empty CIDR lists must close 22 and 6443 on the public interface."
  }

  assert {
    condition     = length(terraform_data.node_channel_master) == 0 && length(terraform_data.node_channel_worker) == 0
    error_message = "node_channel.apply = false must not connect to any node."
  }
}
