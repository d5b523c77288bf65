# ops_inventory: exact shape for the TypeScript schema, and no secret in it.
# Real tls and random providers (offline) so host keys are genuine OpenSSH lines.

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
  cluster_name      = "prod-eu"
  hcloud_token      = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  master_count      = 3
  worker_count      = 2
  health_check_urls = ["https://lms.example.com/heartbeat"]
  # Applied with mocks: nothing may try to reach the (mocked) servers.
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}

run "inventory" {
  command = apply

  assert {
    condition     = toset(keys(output.ops_inventory)) == toset(["version", "cluster", "ssh", "masters", "workers", "rke2", "etcd_s3", "velero", "health"])
    error_message = "ops_inventory must have exactly the contract's top-level keys."
  }

  assert {
    condition     = output.ops_inventory.version == 1 && output.ops_inventory.cluster == "prod-eu"
    error_message = "version must be 1 and cluster the cluster name."
  }

  assert {
    condition     = output.ops_inventory.ssh.user == "root" && output.ops_inventory.ssh.port == 22 && output.ops_inventory.ssh.bastion == null
    error_message = "ssh must be {user = root, port = 22, bastion = null}."
  }

  assert {
    condition     = [for m in output.ops_inventory.masters : m.name] == ["prod-eu-master-0", "prod-eu-master-1", "prod-eu-master-2"] && [for w in output.ops_inventory.workers : w.name] == ["prod-eu-worker-0", "prod-eu-worker-1"]
    error_message = "masters[0] must be the initial server; names in order."
  }

  assert {
    condition     = alltrue([for n in concat(output.ops_inventory.masters, output.ops_inventory.workers) : toset(keys(n)) == toset(["name", "address", "host_keys"])])
    error_message = "Nodes must have exactly name, address and host_keys."
  }

  assert {
    condition     = alltrue([for n in concat(output.ops_inventory.masters, output.ops_inventory.workers) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n.name))])
    error_message = "Node names must match ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$."
  }

  assert {
    condition     = output.ops_inventory.masters[0].address == "203.0.113.10"
    error_message = "address must be the public IPv4."
  }

  assert {
    condition = alltrue([
      for n in concat(output.ops_inventory.masters, output.ops_inventory.workers) :
      length(n.host_keys) == 1 && can(regex("^ssh-ed25519 [A-Za-z0-9+/]+=*$", n.host_keys[0]))
    ])
    error_message = "host_keys must be one OpenSSH ed25519 line per node without comment or trailing newline."
  }

  assert {
    condition     = output.ops_inventory.masters[1].host_keys[0] == trimspace(tls_private_key.master_host[1].public_key_openssh) && output.ops_inventory.workers[0].host_keys[0] == trimspace(tls_private_key.worker_host[0].public_key_openssh)
    error_message = "host_keys must be the keys cloud-init installs on that node."
  }

  assert {
    condition     = length(distinct([for n in concat(output.ops_inventory.masters, output.ops_inventory.workers) : n.host_keys[0]])) == 5
    error_message = "Every node must have its own host key."
  }

  assert {
    condition     = jsonencode(output.ops_inventory.rke2) == jsonencode({ data_dir = "/var/lib/rancher/rke2", install_command = null, kube_proxy = true, version = "v1.34.4+rke2r1" })
    error_message = "rke2 block must be {version, data_dir, kube_proxy = true, install_command = null (the default get.rke2.io)}."
  }

  assert {
    condition     = output.ops_inventory.etcd_s3 == null && output.ops_inventory.velero == null
    error_message = "etcd_s3 and velero are null while backups and Velero are off."
  }

  assert {
    condition     = output.ops_inventory.health.urls == tolist(["https://lms.example.com/heartbeat"])
    error_message = "health.urls must be health_check_urls."
  }

  assert {
    condition     = !issensitive(output.ops_inventory)
    error_message = "ops_inventory must not be sensitive (it must hold no secret)."
  }

  assert {
    condition = (
      !strcontains(jsonencode(output.ops_inventory), nonsensitive(random_password.rke2_token.result)) &&
      !strcontains(jsonencode(output.ops_inventory), nonsensitive(random_password.rke2_agent_token.result)) &&
      !strcontains(jsonencode(output.ops_inventory), "PRIVATE KEY") &&
      !strcontains(jsonencode(output.ops_inventory), nonsensitive(var.hcloud_token))
    )
    error_message = "ops_inventory must contain no secret (RKE2 token, private keys, hcloud token)."
  }

  assert {
    condition     = issensitive(output.ssh_private_key) && issensitive(output.rke2_token) && issensitive(output.rke2_configs)
    error_message = "Secrets must be sensitive outputs."
  }

  assert {
    condition     = startswith(nonsensitive(output.ssh_private_key), "-----BEGIN OPENSSH PRIVATE KEY-----") && length(nonsensitive(output.rke2_token)) == 48
    error_message = "ssh_private_key must be an OpenSSH key and rke2_token a 48-character token."
  }
}

run "inventory_with_fixed_token" {
  command = apply

  variables {
    rke2_token = "OriginalTokenFromTheOldCluster0123456789"
  }

  assert {
    condition = (
      nonsensitive(output.rke2_token) == "OriginalTokenFromTheOldCluster0123456789" &&
      alltrue([for i in [0, 1, 2] : yamldecode(nonsensitive(output.rke2_configs["prod-eu-master-${i}"])).token == "OriginalTokenFromTheOldCluster0123456789"]) &&
      !strcontains(nonsensitive(output.rke2_configs["prod-eu-worker-1"]), "OriginalTokenFromTheOldCluster0123456789")
    )
    error_message = "rke2_token must be every master's token - and never reach a worker."
  }
}

run "inventory_kube_proxy_disabled" {
  command = apply

  variables {
    rke2_extra_server_config = { "disable-kube-proxy" = true }
  }

  assert {
    condition     = output.ops_inventory.rke2.kube_proxy == false
    error_message = "kube_proxy must be false when disable-kube-proxy is set."
  }
}

# RKE2 parses booleans like Go's strconv.ParseBool: "true" (a string, as YAML from
# a tfvars file may well give it) disables kube-proxy just the same.
run "inventory_kube_proxy_disabled_as_string" {
  command = apply

  variables {
    rke2_extra_server_config = { "disable-kube-proxy" = "true" }
  }

  assert {
    condition     = output.ops_inventory.rke2.kube_proxy == false
    error_message = "kube_proxy must read the setting as RKE2 does (\"true\" disables kube-proxy)."
  }
}

run "inventory_custom_install_script" {
  command = apply

  variables {
    rke2_install_script_url = "https://mirror.example.com/rke2/install.sh"
  }

  assert {
    condition     = output.ops_inventory.rke2.install_command == "curl -sfL --retry 5 --retry-connrefused -o /tmp/rke2-ops-install.sh 'https://mirror.example.com/rke2/install.sh' && sh /tmp/rke2-ops-install.sh"
    error_message = "A custom install script URL must reach the actions as rke2.install_command."
  }

  assert {
    condition     = strcontains(nonsensitive(output.cloud_init["prod-eu-worker-0"]), "url='https://mirror.example.com/rke2/install.sh'")
    error_message = "The nodes install from the custom URL too."
  }
}
