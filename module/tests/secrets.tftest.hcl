# Secrets off user_data: any pod can ask the metadata service for its node's user_data. No
# user_data holds the hcloud token or an RKE2 token; workers get only the agent token (it cannot
# join a server); the tokens and the hcloud token travel over the node channel.

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
  hcloud_token = "hcloudTOKENhcloudTOKENhcloudTOKENhcloudTOKENhcloudTOKENhcloudTOK"
  master_count = 3
  worker_count = 2
}

run "user_data_holds_no_token" {
  command = plan

  assert {
    condition = alltrue([
      for s in concat(hcloud_server.master, hcloud_server.worker) :
      !strcontains(nonsensitive(s.user_data), "hcloudTOKEN") && !strcontains(nonsensitive(s.user_data), "MockRke2Token") && !strcontains(nonsensitive(s.user_data), "MockAgentToken")
    ])
    error_message = "No user_data may hold the hcloud token, the server token or the agent token."
  }

  assert {
    condition     = alltrue([for s in hcloud_server.worker : !strcontains(nonsensitive(s.user_data), "MockRke2Token")])
    error_message = "No worker's user_data may hold the server token."
  }

  assert {
    condition     = !contains(keys(yamldecode(nonsensitive(yamldecode(nonsensitive(output.cloud_init["test-master-1"])).write_files[0].content))), "token")
    error_message = "config.yaml from cloud-init carries no token (it comes as a drop-in)."
  }

  assert {
    condition     = !strcontains(jsonencode(yamldecode(nonsensitive(output.cloud_init["test-master-0"])).runcmd), "rke2-server")
    error_message = "cloud-init must not start RKE2: it would start without its token (the node channel starts it)."
  }
}

run "workers_get_the_agent_token_only" {
  command = plan

  assert {
    condition = alltrue([
      for n in ["test-worker-0", "test-worker-1"] :
      yamldecode(nonsensitive(output.rke2_configs[n])).token == "MockAgentToken0123456789abcdefghijklmnopqrstuvw" &&
      # every file the channel would write on the worker, decoded
      !anytrue([for l in split("\n", nonsensitive(output.node_channel_payloads[n])) : strcontains(base64decode(split(" ", l)[3]), "MockRke2Token") if startswith(l, "file ")])
    ])
    error_message = "Workers must join with the agent token and never receive the server token."
  }

  assert {
    condition = alltrue([
      for n in ["test-master-0", "test-master-1", "test-master-2"] :
      yamldecode(nonsensitive(output.rke2_configs[n])).token == "MockRke2Token0123456789abcdefghijklmnopqrstuvwx" &&
      yamldecode(nonsensitive(output.rke2_configs[n]))["agent-token"] == "MockAgentToken0123456789abcdefghijklmnopqrstuvw"
    ])
    error_message = "Masters get the server token and the agent token (agent-token) they check agents against."
  }

  assert {
    condition = alltrue([for n in ["test-worker-0", "test-worker-1"] : !anytrue([
      for f in output.node_channel[n].files : endswith(f.path, "hcloud-secret.yaml")
    ])])
    error_message = "The hcloud token (kube-system/hcloud Secret) goes to the masters only."
  }

  assert {
    condition     = contains([for f in output.node_channel["test-master-2"].files : f.path], "/var/lib/rancher/rke2/server/manifests/hcloud-secret.yaml")
    error_message = "The masters get the kube-system/hcloud Secret over the node channel."
  }
}

run "pods_kept_from_the_metadata_service" {
  command = plan

  assert {
    condition     = strcontains(nonsensitive(output.cloud_init["test-worker-1"]), "ip daddr 169.254.169.254 counter drop") && contains(yamldecode(nonsensitive(output.cloud_init["test-worker-1"])).runcmd[1], "rke2-ops-restrict-metadata.service")
    error_message = "Every node drops pod traffic to 169.254.169.254 (its user_data holds the host key) before RKE2 runs."
  }

  assert {
    condition     = yamldecode(yamldecode(nonsensitive(local.hcloud_csi_manifest)).spec.valuesContent).node.hostNetwork && yamldecode(yamldecode(nonsensitive(local.hcloud_csi_manifest)).spec.valuesContent).controller.hcloudVolumeDefaultLocation == "fsn1"
    error_message = "The hcloud CSI driver reads the metadata service: node plugin on the host network, controller told the location."
  }
}

run "metadata_service_left_open_on_request" {
  command = plan

  variables {
    restrict_metadata_service = false
  }

  assert {
    condition     = !strcontains(nonsensitive(output.cloud_init["test-worker-1"]), "169.254.169.254") && !can(yamldecode(yamldecode(nonsensitive(local.hcloud_csi_manifest)).spec.valuesContent).node)
    error_message = "restrict_metadata_service = false leaves the metadata service and the CSI defaults alone."
  }
}
