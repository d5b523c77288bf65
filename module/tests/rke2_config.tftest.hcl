# The rendered RKE2 configuration (config.yaml from cloud-init + the node channel's drop-ins), the
# cloud-config and the channel's files of master-0, a joining master and a worker, rendered by real
# tofu and checked against rke2-facts.md.

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

run "three_plus_three" {
  command = plan

  variables {
    master_count   = 3
    worker_count   = 3
    rke2_version   = "v1.34.4+rke2r1"
    api_extra_sans = ["api.example.com"]
  }

  # master-0: the initial server, no server: line.
  assert {
    condition     = !contains(keys(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))), "server")
    error_message = "master-0 (initial server) must not have a server: line."
  }

  assert {
    condition = (
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["node-name"] == "test-master-0" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["node-ip"] == "10.0.1.11" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["cloud-provider-name"] == "external" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["token"] == "MockRke2Token0123456789abcdefghijklmnopqrstuvwx"
    )
    error_message = "master-0 must set node-name, node-ip (private), cloud-provider-name external and the token."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["tls-san"] == ["10.0.1.2", "api.example.com"]
    error_message = "tls-san must hold the private LB IP and api_extra_sans (no public address by default)."
  }

  assert {
    condition = (
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["cni"] == "canal" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["cluster-cidr"] == "10.42.0.0/16" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["service-cidr"] == "10.43.0.0/16"
    )
    error_message = "Server configs must carry cni, cluster-cidr and service-cidr."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["kube-apiserver-arg"] == ["authentication-config=/etc/rancher/rke2/auth-config.yaml"]
    error_message = "The readyz health check needs kube-apiserver-arg authentication-config=/etc/rancher/rke2/auth-config.yaml."
  }

  assert {
    condition     = !strcontains(nonsensitive(output.rke2_configs["test-master-0"]), "anonymous-auth")
    error_message = "anonymous-auth must never be passed: it conflicts with AuthenticationConfiguration.anonymous."
  }

  # A joining master.
  assert {
    condition = (
      yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["server"] == "https://10.0.1.2:9345" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-2"]))["server"] == "https://10.0.1.2:9345" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["node-name"] == "test-master-1" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["node-ip"] == "10.0.1.12" &&
      yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["cloud-provider-name"] == "external"
    )
    error_message = "Joining masters must have server: https://<lb private ip>:9345, their node-name and node-ip."
  }

  # A worker (agent).
  assert {
    condition = (
      yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))["server"] == "https://10.0.1.2:9345" &&
      yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))["node-name"] == "test-worker-0" &&
      yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))["node-ip"] == "10.0.1.101" &&
      yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))["cloud-provider-name"] == "external"
    )
    error_message = "Workers must have server:, node-name, node-ip and cloud-provider-name external."
  }

  assert {
    condition = length(setintersection(
      keys(yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))),
      ["tls-san", "cni", "cluster-cidr", "service-cidr", "kube-apiserver-arg", "write-kubeconfig-mode", "agent-token"]
    )) == 0
    error_message = "Agents must not carry server-only keys."
  }

  assert {
    condition     = output.node_roles == { "test-master-0" = "server-init", "test-master-1" = "server-join", "test-master-2" = "server-join", "test-worker-0" = "agent", "test-worker-1" = "agent", "test-worker-2" = "agent" }
    error_message = "Roles: master-0 server-init, other masters server-join, workers agent."
  }

  # What RKE2 ends up with is config.yaml plus the drop-ins: no key is set twice.
  assert {
    condition = alltrue([
      for n in ["test-master-1", "test-worker-2"] : length(setintersection(
        keys(yamldecode(yamldecode(nonsensitive(output.cloud_init[n])).write_files[0].content)),
        flatten([for f in local.channel_files[n] : keys(yamldecode(nonsensitive(f.content))) if startswith(f.path, "/etc/rancher/rke2/config.yaml.d/")]),
      )) == 0
    ])
    error_message = "config.yaml and the drop-ins must not set the same key (a later file would silently win)."
  }
}

run "cloud_init_master0" {
  command = plan

  variables {
    master_count = 3
    worker_count = 3
  }

  assert {
    condition     = yamldecode(nonsensitive(output.cloud_init["test-master-0"])).ssh_keys.ed25519_public == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyMockForTestsOnly000000000000000000"
    error_message = "cloud-init must install the generated host key (public half, trimmed)."
  }

  assert {
    condition     = startswith(yamldecode(nonsensitive(output.cloud_init["test-master-0"])).ssh_keys.ed25519_private, "-----BEGIN OPENSSH PRIVATE KEY-----")
    error_message = "cloud-init must install the generated host key (private half)."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.cloud_init["test-master-0"])).ssh_genkeytypes == [] && yamldecode(nonsensitive(output.cloud_init["test-master-0"])).ssh_deletekeys
    error_message = "Only the pinned host key may exist: no other host keys generated."
  }

  assert {
    condition = yamldecode([for f in yamldecode(nonsensitive(output.cloud_init["test-master-1"])).write_files : f.content if f.path == "/etc/rancher/rke2/config.yaml"][0]) == {
      node-name             = "test-master-1"
      node-ip               = "10.0.1.12"
      server                = "https://10.0.1.2:9345"
      cloud-provider-name   = "external"
      cni                   = "canal"
      cluster-cidr          = "10.42.0.0/16"
      service-cidr          = "10.43.0.0/16"
      write-kubeconfig-mode = "0600"
    }
    error_message = "cloud-init writes only the node's identity and the cluster shape to config.yaml."
  }

  assert {
    condition = toset([for f in yamldecode(nonsensitive(output.cloud_init["test-master-0"])).write_files : f.path]) == toset([
      "/etc/rancher/rke2/config.yaml",
      "/usr/local/sbin/rke2-ops-install-rke2",
      "/usr/local/sbin/rke2-ops-restrict-metadata",
      "/etc/systemd/system/rke2-ops-restrict-metadata.service",
    ])
    error_message = "Masters get config.yaml, the install script and the metadata restriction from cloud-init; the rest comes over the node channel."
  }

  assert {
    condition     = [for f in yamldecode(nonsensitive(output.cloud_init["test-master-0"])).write_files : f.permissions if f.path == "/etc/rancher/rke2/config.yaml"] == ["0600"]
    error_message = "config.yaml must be 0600."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.cloud_init["test-master-0"])).runcmd[2] == ["env", "INSTALL_RKE2_TYPE=server", "/usr/local/sbin/rke2-ops-install-rke2"]
    error_message = "Masters must install RKE2 (server) after the metadata restriction - and not start it."
  }

  # The install step: pinned version, downloaded with retries before it runs, failing loudly.
  assert {
    condition = alltrue([
      for s in ["set -euo pipefail", "INSTALL_RKE2_VERSION:-v1.34.4+rke2r1", "url='https://get.rke2.io'", "for attempt in 1 2 3 4 5", "curl -sfL", "exit 1"] :
      strcontains([for f in yamldecode(nonsensitive(output.cloud_init["test-master-0"])).write_files : f.content if f.path == "/usr/local/sbin/rke2-ops-install-rke2"][0], s)
    ])
    error_message = "The install script must pin the version, use pipefail, retry the download and the install, and fail when they do."
  }
}

run "channel_auth_config_and_manifests" {
  command = plan

  assert {
    condition = yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if f.path == "/etc/rancher/rke2/auth-config.yaml"][0])) == {
      apiVersion = "apiserver.config.k8s.io/v1"
      kind       = "AuthenticationConfiguration"
      anonymous = {
        enabled    = true
        conditions = [{ path = "/readyz" }, { path = "/livez" }, { path = "/healthz" }]
      }
    }
    error_message = "AuthenticationConfiguration must allow anonymous access to /readyz, /livez and /healthz only."
  }

  assert {
    condition = (
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-ccm.yaml")][0])).kind == "HelmChart" &&
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-ccm.yaml")][0])).spec.bootstrap &&
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-ccm.yaml")][0])).spec.version == "1.25.1" &&
      yamldecode(yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-ccm.yaml")][0])).spec.valuesContent).networking.clusterCIDR == "10.42.0.0/16"
    )
    error_message = "The CCM must be a bootstrap HelmChart with the pinned chart version and the pod CIDR."
  }

  assert {
    condition = (
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-secret.yaml")][0])).stringData.network == "1001" &&
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-secret.yaml")][0])).stringData.token == var.hcloud_token &&
      yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-secret.yaml")][0])).metadata.name == "hcloud"
    )
    error_message = "The kube-system/hcloud Secret must carry the token and the network ID."
  }

  assert {
    condition     = yamldecode(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "hcloud-csi.yaml")][0])).spec.chart == "hcloud-csi"
    error_message = "The CSI driver must be a HelmChart."
  }
}

run "cloud_init_worker" {
  command = plan

  assert {
    condition     = yamldecode(nonsensitive(output.cloud_init["test-worker-0"])).runcmd[2] == ["env", "INSTALL_RKE2_TYPE=agent", "/usr/local/sbin/rke2-ops-install-rke2"]
    error_message = "Workers must install RKE2 with INSTALL_RKE2_TYPE=agent."
  }

  assert {
    condition     = length(yamldecode(nonsensitive(output.cloud_init["test-worker-0"])).runcmd) == 3
    error_message = "Workers run the metadata restriction and the install, nothing else (the node channel starts rke2-agent)."
  }

  assert {
    condition     = !anytrue([for f in local.channel_files["test-worker-0"] : strcontains(f.path, "/server/manifests/")])
    error_message = "Workers get no manifests (and so no hcloud token)."
  }
}

run "tcp_health_check_drops_auth_config" {
  command = plan

  variables {
    control_plane_load_balancer = { health_check = "tcp" }
  }

  assert {
    condition     = !contains(keys(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))), "kube-apiserver-arg")
    error_message = "Without the readyz health check no authentication-config is passed."
  }

  assert {
    condition     = !contains([for f in output.node_channel["test-master-0"].files : f.path], "/etc/rancher/rke2/auth-config.yaml")
    error_message = "Without the readyz health check no auth-config.yaml is delivered."
  }
}

run "auth_config_v1beta1_before_1_34" {
  command = plan

  variables {
    rke2_version = "v1.33.5+rke2r1"
  }

  assert {
    condition     = strcontains(nonsensitive([for f in local.channel_files["test-master-0"] : f.content if f.path == "/etc/rancher/rke2/auth-config.yaml"][0]), "apiserver.config.k8s.io/v1beta1")
    error_message = "Kubernetes 1.32/1.33 need AuthenticationConfiguration apiserver.config.k8s.io/v1beta1."
  }
}

run "extra_server_config_merged" {
  command = plan

  variables {
    rke2_extra_server_config = { "etcd-expose-metrics" = true }
    rke2_extra_agent_config  = { "node-label" = ["pool=general"] }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["etcd-expose-metrics"] == true && yamldecode(nonsensitive(output.rke2_configs["test-worker-0"]))["node-label"] == ["pool=general"]
    error_message = "Extra config keys must reach server and agent configs."
  }
}

# A user's apiserver argument must not drop the module's authentication config
# (every master would answer 401 to the load balancer's /readyz check).
run "extra_apiserver_args_keep_the_auth_config" {
  command = plan

  variables {
    rke2_extra_server_config = {
      "kube-apiserver-arg" = ["audit-log-path=/var/log/audit.log"]
      "tls-san"            = "k8s.example.com"
    }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["kube-apiserver-arg"] == ["authentication-config=/etc/rancher/rke2/auth-config.yaml", "audit-log-path=/var/log/audit.log"]
    error_message = "kube-apiserver-arg from the extra config must be appended to the module's authentication-config argument."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["tls-san"] == ["10.0.1.2", "k8s.example.com"]
    error_message = "tls-san from the extra config (a string here) must be appended to the module's."
  }
}

run "extra_apiserver_args_in_append_form" {
  command = plan

  variables {
    rke2_extra_server_config = { "kube-apiserver-arg+" = "audit-log-maxage=30" }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["kube-apiserver-arg"] == ["authentication-config=/etc/rancher/rke2/auth-config.yaml", "audit-log-maxage=30"] && !contains(keys(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))), "kube-apiserver-arg+")
    error_message = "RKE2's append form (kube-apiserver-arg+) must be merged into the same list."
  }
}

run "no_ccm_no_csi" {
  command = plan

  variables {
    cluster_configuration = { hcloud_ccm = { enabled = false }, hcloud_csi = { preinstall = false } }
  }

  assert {
    condition     = !anytrue([for f in output.node_channel["test-master-0"].files : strcontains(f.path, "/server/manifests/")])
    error_message = "Disabling CCM and CSI must drop their manifests and the token Secret."
  }
}
