# The node channel: what each node gets, what re-runs when something changes, and the order
# masters restart in. A terraform_data per node re-runs exactly when the sha256 of its payload
# (its triggers_replace) changes. OpenTofu keeps the outputs of a module's latest apply
# run only, so the comparisons apply with the channel switched off (nothing may try to
# reach the mocked servers) and diff the node_channel outputs - the digests the triggers
# are made of - against a copy of the first one.

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
  cluster_name           = "test"
  hcloud_token           = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  master_count           = 3
  worker_count           = 2
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}

run "layout" {
  command = plan

  variables {
    node_channel = { apply = true }
  }

  assert {
    condition     = length(terraform_data.node_channel_master) == 3 && length(terraform_data.node_channel_worker) == 2
    error_message = "One channel resource per node."
  }

  assert {
    condition = alltrue([
      for i, r in terraform_data.node_channel_master : r.triggers_replace == ["5001", output.node_channel["test-master-${i}"].sha256]
    ])
    error_message = "A master's channel re-runs when its server or the sha256 of its payload changes."
  }

  assert {
    condition = [for f in output.node_channel["test-master-1"].files : "${f.path} ${f.restart}"] == [
      "/etc/rancher/rke2/config.yaml.d/10-rke2-ops-token.yaml true",
      "/etc/rancher/rke2/config.yaml.d/20-rke2-ops-server.yaml true",
      "/etc/rancher/rke2/auth-config.yaml true",
      "/var/lib/rancher/rke2/server/manifests/hcloud-secret.yaml false",
      "/var/lib/rancher/rke2/server/manifests/hcloud-ccm.yaml false",
      "/var/lib/rancher/rke2/server/manifests/hcloud-csi.yaml false",
    ]
    error_message = "Masters get the token and server drop-ins and the auth config (read at start: restart) and the manifests (read live: no restart)."
  }

  assert {
    condition     = [for f in output.node_channel["test-worker-0"].files : "${f.path} ${f.restart}"] == ["/etc/rancher/rke2/config.yaml.d/10-rke2-ops-token.yaml true"]
    error_message = "Workers get their token drop-in only (no extra agent config given)."
  }

  # Masters in sequence: each waits for the masters before it, with their exact payload digests.
  assert {
    condition     = jsonencode([for n in ["test-master-0", "test-master-1", "test-master-2", "test-worker-0"] : output.node_channel[n].after]) == jsonencode([[], ["test-master-0"], ["test-master-0", "test-master-1"], []])
    error_message = "Master i restarts after masters 0..i-1."
  }

  assert {
    condition = (
      strcontains(output.node_channel_scripts["test-master-2"], "WAIT_FOR=(test-master-0=${output.node_channel["test-master-0"].sha256} test-master-1=${output.node_channel["test-master-1"].sha256})") &&
      strcontains(output.node_channel_scripts["test-master-0"], "WAIT_FOR=()") &&
      strcontains(output.node_channel_scripts["test-master-1"], "CHANNEL_SHA='${output.node_channel["test-master-1"].sha256}'")
    )
    error_message = "Each master's script waits for the payload digest of every master before it."
  }

  assert {
    condition     = startswith(output.node_channel_scripts["test-worker-1"], "#!/usr/bin/env bash\n") && strcontains(output.node_channel_scripts["test-worker-1"], "UNIT='rke2-agent'") && strcontains(output.node_channel_scripts["test-master-0"], "UNIT='rke2-server'")
    error_message = "The scripts are bash files for the node's unit."
  }

  assert {
    condition     = !strcontains(join("", values(output.node_channel_scripts)), "MockRke2Token") && !strcontains(join("", values(output.node_channel_scripts)), "aaaaaaaaaaaaaaaa")
    error_message = "Scripts carry no secret (the payload does), so tofu can show their progress."
  }
}

run "base" {
  command = apply
}

# tofu test keeps only the latest run per module: park the base digests in a
# provider-free helper module for every comparison below.
run "capture_base" {
  command = apply

  module {
    source = "./tests/fixtures/compare"
  }

  variables {
    before = run.base.node_channel
    after  = null
  }
}

run "server_config_change" {
  command = apply

  variables {
    rke2_extra_server_config = { "etcd-expose-metrics" = true }
  }
}

run "server_config_change_reruns_masters_only" {
  module {
    source = "./tests/fixtures/channel-diff"
  }

  variables {
    before = run.capture_base.before
    after  = run.server_config_change.node_channel
  }

  assert {
    condition     = jsonencode(output.changed_nodes) == jsonencode(["test-master-0", "test-master-1", "test-master-2"])
    error_message = "A server config change must re-run every master's channel and no worker's."
  }

  assert {
    condition     = jsonencode(output.changed_files["test-master-0"]) == jsonencode(["/etc/rancher/rke2/config.yaml.d/20-rke2-ops-server.yaml true"])
    error_message = "Only the server drop-in changes (read at start: the masters restart, one at a time)."
  }
}

run "agent_config_change" {
  command = apply

  variables {
    rke2_extra_agent_config = { "node-label" = ["pool=general"] }
  }
}

run "agent_config_change_reruns_workers_only" {
  module {
    source = "./tests/fixtures/channel-diff"
  }

  variables {
    before = run.capture_base.before
    after  = run.agent_config_change.node_channel
  }

  assert {
    condition     = jsonencode(output.changed_nodes) == jsonencode(["test-worker-0", "test-worker-1"])
    error_message = "An agent config change must re-run the workers' channel and no master's."
  }

  assert {
    condition     = jsonencode(output.changed_files["test-worker-1"]) == jsonencode(["/etc/rancher/rke2/config.yaml.d/20-rke2-ops-agent.yaml true"])
    error_message = "Extra agent config arrives as the 20-rke2-ops-agent.yaml drop-in."
  }
}

run "chart_change" {
  command = apply

  variables {
    cluster_configuration = { hcloud_csi = { chart_version = "2.20.0" } }
  }
}

run "chart_change_restarts_nothing" {
  module {
    source = "./tests/fixtures/channel-diff"
  }

  variables {
    before = run.capture_base.before
    after  = run.chart_change.node_channel
  }

  assert {
    condition     = jsonencode(output.changed_nodes) == jsonencode(["test-master-0", "test-master-1", "test-master-2"]) && jsonencode(output.changed_files["test-master-2"]) == jsonencode(["/var/lib/rancher/rke2/server/manifests/hcloud-csi.yaml false"])
    error_message = "A chart version change rewrites one manifest on the masters, which RKE2 reads live: no restart."
  }
}

run "health_check_switch" {
  command = apply

  variables {
    control_plane_load_balancer = { health_check = "tcp" }
  }

  assert {
    condition     = !contains(keys(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))), "kube-apiserver-arg")
    error_message = "The tcp check needs no authentication-config argument."
  }
}

# Switching the mode on a live cluster changes what the masters get, so the
# load balancer's check and the masters' auth config never disagree (a readyz
# check against masters without their auth config sees 401).
run "health_check_switch_reaches_live_masters" {
  module {
    source = "./tests/fixtures/channel-diff"
  }

  variables {
    before = run.capture_base.before
    after  = run.health_check_switch.node_channel
  }

  assert {
    condition = (
      jsonencode(output.changed_nodes) == jsonencode(["test-master-0", "test-master-1", "test-master-2"]) &&
      jsonencode(output.changed_files["test-master-1"]) == jsonencode(["/etc/rancher/rke2/config.yaml.d/20-rke2-ops-server.yaml true"]) &&
      jsonencode(output.removed_files["test-master-1"]) == jsonencode(["/etc/rancher/rke2/auth-config.yaml"])
    )
    error_message = "Switching the health check must re-run the masters' channel: new server drop-in, auth config removed."
  }
}

run "apply_off_renders_only" {
  command = plan

  assert {
    condition     = length(terraform_data.node_channel_master) == 0 && length(terraform_data.node_channel_worker) == 0 && length(output.node_channel_scripts) == 5 && length(nonsensitive(output.node_channel_payloads)) == 5
    error_message = "node_channel.apply = false connects nowhere but still renders every node's script and payload."
  }
}
