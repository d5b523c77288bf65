# Control-plane exposure: the supervisor (9345) is never on a load balancer with a public
# interface, and a public 6443 exists only when opted in (public API LB or api_allowed_cidrs).
# Hetzner load balancers take no firewall, so a public interface means the whole Internet.

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
}

run "private_by_default" {
  command = plan

  assert {
    condition     = alltrue([for n in hcloud_load_balancer_network.control_plane : !n.enable_public_interface])
    error_message = "The control-plane load balancer (6443 and 9345) must have no public interface."
  }

  assert {
    condition     = length(hcloud_load_balancer.api) == 0 && length(hcloud_load_balancer_service.api) == 0
    error_message = "No public API load balancer unless control_plane_load_balancer.public = true."
  }

  assert {
    condition     = length([for r in hcloud_firewall.masters.rule : r if r.port == "6443"]) == 0
    error_message = "6443 must be closed on the masters' public interfaces unless api_allowed_cidrs opens it."
  }

  assert {
    condition     = one(hcloud_load_balancer_service.supervisor).listen_port == 9345 && one(hcloud_load_balancer_service.kube_api).listen_port == 6443
    error_message = "The private control-plane load balancer still serves 6443 and 9345 (join and HA API on the private network)."
  }
}

run "public_api_opt_in" {
  command = plan

  variables {
    control_plane_load_balancer = { public = true }
  }

  # Both load balancers would get the same mocked ID: tell them apart.
  override_resource {
    target = hcloud_load_balancer.api
    values = { id = "6002", ipv4 = "203.0.113.200", ipv6 = "2001:db8::200" }
  }

  assert {
    condition     = one(hcloud_load_balancer_network.api).enable_public_interface && !one(hcloud_load_balancer_network.control_plane).enable_public_interface
    error_message = "Opting in adds a separate public load balancer; the control-plane one stays private."
  }

  assert {
    condition     = length(hcloud_load_balancer_service.api) == 1 && one(hcloud_load_balancer_service.api).listen_port == 6443 && tostring(one(hcloud_load_balancer_service.api).load_balancer_id) == "6002"
    error_message = "The public load balancer must forward 6443 and nothing else."
  }

  assert {
    condition     = tostring(one(hcloud_load_balancer_service.supervisor).load_balancer_id) == one(hcloud_load_balancer.control_plane).id && one(hcloud_load_balancer.control_plane).id != "6002"
    error_message = "9345 must stay on the private control-plane load balancer."
  }

  assert {
    condition     = length(hcloud_load_balancer_target.api) == 3 && alltrue([for t in hcloud_load_balancer_target.api : t.use_private_ip]) && one(hcloud_load_balancer_network.api).ip == "10.0.1.4"
    error_message = "The public API load balancer sits at .4 and reaches every master over the private network."
  }

  assert {
    condition     = output.kube_api_endpoint == "https://203.0.113.200:6443" && output.api_lb.ipv4 == "203.0.113.200"
    error_message = "The API endpoint is the public API load balancer."
  }

  assert {
    condition     = contains(yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["tls-san"], "203.0.113.200") && contains(yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["tls-san"], "2001:db8::200")
    error_message = "The apiserver certificate must name the public API load balancer's addresses."
  }
}

run "api_allowed_cidrs_opens_the_masters" {
  command = plan

  variables {
    api_allowed_cidrs = ["192.0.2.0/24"]
  }

  assert {
    condition     = one([for r in hcloud_firewall.masters.rule : r.source_ips if r.port == "6443"]) == toset(["192.0.2.0/24"]) && length(hcloud_load_balancer.api) == 0
    error_message = "api_allowed_cidrs opens 6443 on the masters' own interfaces (firewall), and nothing else."
  }

  assert {
    condition     = output.kube_api_endpoint == "https://203.0.113.10:6443" && contains(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["tls-san"], "203.0.113.10")
    error_message = "With direct access the endpoint is master-0's public IPv4, and the certificate names it."
  }
}
