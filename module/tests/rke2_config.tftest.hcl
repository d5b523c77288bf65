# The rendered /etc/rancher/rke2/config.yaml and cloud-config of master-0, a joining master and a worker,
# rendered by real tofu and checked against rke2-facts.md.

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
    condition     = !contains(keys(yamldecode(output.rke2_configs["test-master-0"])), "server")
    error_message = "master-0 (initial server) must not have a server: line."
  }

  assert {
    condition = (
      yamldecode(output.rke2_configs["test-master-0"])["node-name"] == "test-master-0" &&
      yamldecode(output.rke2_configs["test-master-0"])["node-ip"] == "10.0.1.11" &&
      yamldecode(output.rke2_configs["test-master-0"])["cloud-provider-name"] == "external" &&
      yamldecode(output.rke2_configs["test-master-0"])["token"] == "MockRke2Token0123456789abcdefghijklmnopqrstuvwx"
    )
    error_message = "master-0 must set node-name, node-ip (private), cloud-provider-name external and the token."
  }

  assert {
    condition     = yamldecode(output.rke2_configs["test-master-0"])["tls-san"] == ["10.0.1.2", "203.0.113.100", "api.example.com"]
    error_message = "tls-san must hold the LB private and public IPs and api_extra_sans."
  }

  assert {
    condition = (
      yamldecode(output.rke2_configs["test-master-0"])["cni"] == "canal" &&
      yamldecode(output.rke2_configs["test-master-0"])["cluster-cidr"] == "10.42.0.0/16" &&
      yamldecode(output.rke2_configs["test-master-0"])["service-cidr"] == "10.43.0.0/16"
    )
    error_message = "Server configs must carry cni, cluster-cidr and service-cidr."
  }

  assert {
    condition     = yamldecode(output.rke2_configs["test-master-0"])["kube-apiserver-arg"] == ["authentication-config=/etc/rancher/rke2/auth-config.yaml"]
    error_message = "The readyz health check needs kube-apiserver-arg authentication-config=/etc/rancher/rke2/auth-config.yaml."
  }

  assert {
    condition     = !strcontains(output.rke2_configs["test-master-0"], "anonymous-auth")
    error_message = "anonymous-auth must never be passed: it conflicts with AuthenticationConfiguration.anonymous."
  }

  # A joining master.
  assert {
    condition = (
      yamldecode(output.rke2_configs["test-master-1"])["server"] == "https://10.0.1.2:9345" &&
      yamldecode(output.rke2_configs["test-master-2"])["server"] == "https://10.0.1.2:9345" &&
      yamldecode(output.rke2_configs["test-master-1"])["node-name"] == "test-master-1" &&
      yamldecode(output.rke2_configs["test-master-1"])["node-ip"] == "10.0.1.12" &&
      yamldecode(output.rke2_configs["test-master-1"])["cloud-provider-name"] == "external"
    )
    error_message = "Joining masters must have server: https://<lb private ip>:9345, their node-name and node-ip."
  }

  # A worker (agent).
  assert {
    condition = (
      yamldecode(output.rke2_configs["test-worker-0"])["server"] == "https://10.0.1.2:9345" &&
      yamldecode(output.rke2_configs["test-worker-0"])["node-name"] == "test-worker-0" &&
      yamldecode(output.rke2_configs["test-worker-0"])["node-ip"] == "10.0.1.101" &&
      yamldecode(output.rke2_configs["test-worker-0"])["cloud-provider-name"] == "external" &&
      yamldecode(output.rke2_configs["test-worker-0"])["token"] == "MockRke2Token0123456789abcdefghijklmnopqrstuvwx"
    )
    error_message = "Workers must have server:, token, node-name, node-ip and cloud-provider-name external."
  }

  assert {
    condition = length(setintersection(
      keys(yamldecode(output.rke2_configs["test-worker-0"])),
      ["tls-san", "cni", "cluster-cidr", "service-cidr", "kube-apiserver-arg", "write-kubeconfig-mode"]
    )) == 0
    error_message = "Agents must not carry server-only keys."
  }

  assert {
    condition     = output.node_roles == { "test-master-0" = "server-init", "test-master-1" = "server-join", "test-master-2" = "server-join", "test-worker-0" = "agent", "test-worker-1" = "agent", "test-worker-2" = "agent" }
    error_message = "Roles: master-0 server-init, other masters server-join, workers agent."
  }
}

run "cloud_init_master0" {
  command = plan

  variables {
    master_count = 3
    worker_count = 3
  }

  assert {
    condition     = yamldecode(output.cloud_init["test-master-0"]).ssh_keys.ed25519_public == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyMockForTestsOnly000000000000000000"
    error_message = "cloud-init must install the generated host key (public half, trimmed)."
  }

  assert {
    condition     = startswith(yamldecode(output.cloud_init["test-master-0"]).ssh_keys.ed25519_private, "-----BEGIN OPENSSH PRIVATE KEY-----")
    error_message = "cloud-init must install the generated host key (private half)."
  }

  assert {
    condition     = yamldecode(output.cloud_init["test-master-0"]).ssh_genkeytypes == [] && yamldecode(output.cloud_init["test-master-0"]).ssh_deletekeys
    error_message = "Only the pinned host key may exist: no other host keys generated."
  }

  assert {
    condition     = [for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if f.path == "/etc/rancher/rke2/config.yaml"][0] == output.rke2_configs["test-master-0"]
    error_message = "cloud-init must write the rendered config.yaml to /etc/rancher/rke2/config.yaml."
  }

  assert {
    condition = toset([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.path]) == toset([
      "/etc/rancher/rke2/config.yaml",
      "/etc/rancher/rke2/auth-config.yaml",
      "/var/lib/rancher/rke2/server/manifests/hcloud-secret.yaml",
      "/var/lib/rancher/rke2/server/manifests/hcloud-ccm.yaml",
      "/var/lib/rancher/rke2/server/manifests/hcloud-csi.yaml",
    ])
    error_message = "Masters get config.yaml, auth-config.yaml and the hcloud Secret, CCM and CSI manifests."
  }

  assert {
    condition     = alltrue([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.permissions == "0600"])
    error_message = "Files with secrets must be 0600."
  }

  assert {
    condition     = yamldecode(output.cloud_init["test-master-0"]).runcmd[0] == ["sh", "-c", "curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION='v1.34.4+rke2r1' sh -"]
    error_message = "Masters must install the pinned RKE2 version (server type)."
  }

  assert {
    condition     = yamldecode(output.cloud_init["test-master-0"]).runcmd[1] == ["systemctl", "enable", "--now", "rke2-server.service"]
    error_message = "Masters must start rke2-server."
  }
}

run "cloud_init_auth_config_and_manifests" {
  command = plan

  assert {
    condition = yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if f.path == "/etc/rancher/rke2/auth-config.yaml"][0]) == {
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
      yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-ccm.yaml")][0]).kind == "HelmChart" &&
      yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-ccm.yaml")][0]).spec.bootstrap &&
      yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-ccm.yaml")][0]).spec.version == "1.25.1" &&
      yamldecode(yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-ccm.yaml")][0]).spec.valuesContent).networking.clusterCIDR == "10.42.0.0/16"
    )
    error_message = "The CCM must be a bootstrap HelmChart with the pinned chart version and the pod CIDR."
  }

  assert {
    condition = (
      yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-secret.yaml")][0]).stringData.network == "1001" &&
      yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-secret.yaml")][0]).metadata.name == "hcloud"
    )
    error_message = "The kube-system/hcloud Secret must carry the token and the network ID."
  }

  assert {
    condition     = yamldecode([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if endswith(f.path, "hcloud-csi.yaml")][0]).spec.chart == "hcloud-csi"
    error_message = "The CSI driver must be a HelmChart."
  }
}

run "cloud_init_worker" {
  command = plan

  assert {
    condition     = yamldecode(output.cloud_init["test-worker-0"]).runcmd[0] == ["sh", "-c", "curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION='v1.34.4+rke2r1' INSTALL_RKE2_TYPE=agent sh -"]
    error_message = "Workers must install the pinned RKE2 version with INSTALL_RKE2_TYPE=agent."
  }

  assert {
    condition     = yamldecode(output.cloud_init["test-worker-0"]).runcmd[1] == ["systemctl", "enable", "--now", "rke2-agent.service"]
    error_message = "Workers must start rke2-agent."
  }

  assert {
    condition     = [for f in yamldecode(output.cloud_init["test-worker-0"]).write_files : f.path] == ["/etc/rancher/rke2/config.yaml"]
    error_message = "Workers get config.yaml only: no manifests, no hcloud token."
  }
}

run "tcp_health_check_drops_auth_config" {
  command = plan

  variables {
    control_plane_load_balancer = { health_check = "tcp" }
  }

  assert {
    condition     = !contains(keys(yamldecode(output.rke2_configs["test-master-0"])), "kube-apiserver-arg")
    error_message = "Without the readyz health check no authentication-config is passed."
  }

  assert {
    condition     = !contains([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.path], "/etc/rancher/rke2/auth-config.yaml")
    error_message = "Without the readyz health check no auth-config.yaml is written."
  }
}

run "auth_config_v1beta1_before_1_34" {
  command = plan

  variables {
    rke2_version = "v1.33.5+rke2r1"
  }

  assert {
    condition     = strcontains([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f.content if f.path == "/etc/rancher/rke2/auth-config.yaml"][0], "apiserver.config.k8s.io/v1beta1")
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
    condition     = yamldecode(output.rke2_configs["test-master-0"])["etcd-expose-metrics"] == true && yamldecode(output.rke2_configs["test-worker-0"])["node-label"] == ["pool=general"]
    error_message = "Extra config keys must be merged into server and agent configs."
  }
}

run "no_ccm_no_csi" {
  command = plan

  variables {
    cluster_configuration = { hcloud_ccm = { enabled = false }, hcloud_csi = { preinstall = false } }
  }

  assert {
    condition     = length([for f in yamldecode(output.cloud_init["test-master-0"]).write_files : f if strcontains(f.path, "/server/manifests/")]) == 0
    error_message = "Disabling CCM and CSI must drop their manifests and the token Secret."
  }
}
