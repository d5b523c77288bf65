# The provider-free rke2-config submodule on its own (the same code the servers'
# cloud-init and tests/render-config.sh use): no mocks at all.

run "render_3_plus_3" {
  command = plan

  module {
    source = "./modules/rke2-config"
  }

  variables {
    cluster_name           = "lab"
    rke2_version           = "v1.34.4+rke2r1"
    token                  = "LabToken0123456789LabToken0123456789"
    subnet_ip_range        = "127.0.1.0/24"
    master_count           = 3
    worker_count           = 3
    join_via_load_balancer = false
  }

  assert {
    condition     = length(output.configs) == 6 && output.node_names[0] == "lab-master-0"
    error_message = "One config per node; masters first."
  }

  assert {
    condition     = !contains(keys(yamldecode(output.configs["lab-master-0"])), "server") && yamldecode(output.configs["lab-master-2"]).server == "https://127.0.1.11:9345" && yamldecode(output.configs["lab-worker-2"]).server == "https://127.0.1.11:9345"
    error_message = "Only masters[0] lacks server:."
  }

  assert {
    condition     = alltrue([for n, c in output.configs : yamldecode(c)["node-name"] == n && yamldecode(c)["cloud-provider-name"] == "external" && yamldecode(c).token == "LabToken0123456789LabToken0123456789"])
    error_message = "Every config carries its node-name, cloud-provider-name external and the token."
  }
}

run "render_rejects_bad_version" {
  command = plan

  module {
    source = "./modules/rke2-config"
  }

  variables {
    cluster_name    = "lab"
    rke2_version    = "latest"
    token           = "t"
    subnet_ip_range = "127.0.1.0/24"
    master_count    = 1
  }

  expect_failures = [var.rke2_version]
}

run "render_config_yaml_and_dropins" {
  command = plan

  module {
    source = "./modules/rke2-config"
  }

  variables {
    cluster_name    = "lab"
    rke2_version    = "v1.34.4+rke2r1"
    token           = "ServerToken0123456789ServerToken0123"
    agent_token     = "AgentToken0123456789AgentToken01234"
    subnet_ip_range = "127.0.1.0/24"
    master_count    = 3
    worker_count    = 1
  }

  assert {
    condition     = alltrue([for n, c in output.base_configs : !strcontains(c, "Token")])
    error_message = "config.yaml (cloud-init, user_data) must carry no token."
  }

  assert {
    condition = (
      output.dropin_names["lab-master-2"] == ["10-rke2-ops-token.yaml", "20-rke2-ops-server.yaml"] &&
      output.dropin_names["lab-worker-0"] == ["10-rke2-ops-token.yaml"] &&
      yamldecode(nonsensitive(output.dropins["lab-worker-0"]["10-rke2-ops-token.yaml"])) == { token = "AgentToken0123456789AgentToken01234" } &&
      yamldecode(nonsensitive(output.dropins["lab-master-1"]["10-rke2-ops-token.yaml"])) == { token = "ServerToken0123456789ServerToken0123", agent-token = "AgentToken0123456789AgentToken01234" }
    )
    error_message = "Masters get token and agent-token drop-ins, agents the agent token only."
  }
}
