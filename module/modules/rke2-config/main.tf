locals {
  # The address plan. Everything a node's config.yaml needs is known at plan
  # time, and a recreated node gets its old address back.
  master_host_offset = 11
  worker_host_offset = 101
  cp_lb_private_ip   = cidrhost(var.subnet_ip_range, 2)
  ingress_private_ip = cidrhost(var.subnet_ip_range, 3)

  masters = [
    for i in range(var.master_count) : {
      index      = i
      name       = "${var.cluster_name}-master-${i}"
      private_ip = cidrhost(var.subnet_ip_range, local.master_host_offset + i)
    }
  ]
  workers = [
    for i in range(var.worker_count) : {
      index      = i
      name       = "${var.cluster_name}-worker-${i}"
      private_ip = cidrhost(var.subnet_ip_range, local.worker_host_offset + i)
    }
  ]

  join_address = var.join_via_load_balancer ? local.cp_lb_private_ip : local.masters[0].private_ip

  auth_config_path = "/etc/rancher/rke2/auth-config.yaml"

  version_parts    = regex("^v1\\.([0-9]+)\\.([0-9]+)\\+rke2r([0-9]+)$", var.rke2_version)
  kubernetes_minor = tonumber(local.version_parts[0])

  # StructuredAuthenticationConfiguration is served as v1 from Kubernetes 1.34;
  # 1.32/1.33 serve v1beta1 (the form RKE2's own QA used in rancher/rke2#8137).
  auth_config_api_version = local.kubernetes_minor >= 34 ? "apiserver.config.k8s.io/v1" : "apiserver.config.k8s.io/v1beta1"

  auth_config_yaml = yamlencode({
    apiVersion = local.auth_config_api_version
    kind       = "AuthenticationConfiguration"
    anonymous = {
      enabled = true
      conditions = [
        { path = "/readyz" },
        { path = "/livez" },
        { path = "/healthz" },
      ]
    }
  })

  join_url = "https://${local.join_address}:9345"

  # Keys shared by every node. node-ip is the private network address so that
  # etcd, the supervisor, kubelet and CNI traffic stay on the private network.
  common = {
    token               = var.token
    cloud-provider-name = "external"
  }

  server_common = merge(local.common, {
    tls-san               = distinct(concat(var.join_via_load_balancer ? [local.cp_lb_private_ip] : [], var.tls_san))
    cni                   = var.cni
    cluster-cidr          = var.cluster_cidr
    service-cidr          = var.service_cidr
    write-kubeconfig-mode = "0600"
    # The anonymous-auth flag must NOT be passed: kube-apiserver refuses to
    # start when both the flag and AuthenticationConfiguration.anonymous are set.
    # RKE2 (>= v1.31.9 / v1.32.6 / v1.33.1) omits its own anonymous-auth=false
    # default when an authentication-config argument is given.
    kube-apiserver-arg = var.anonymous_health_endpoints ? ["authentication-config=${local.auth_config_path}"] : []
  })

  master_configs = {
    for i, m in local.masters : m.name => merge(
      local.server_common,
      { node-name = m.name, node-ip = m.private_ip },
      # masters[0] initialises the cluster and must not carry a server: line.
      i == 0 ? {} : { server = local.join_url },
      var.extra_server_config,
    )
  }

  worker_configs = {
    for w in local.workers : w.name => merge(
      local.common,
      { node-name = w.name, node-ip = w.private_ip, server = local.join_url },
      var.extra_agent_config,
    )
  }

  # Drop empty lists (tls-san, kube-apiserver-arg) so the rendered file stays minimal.
  configs = {
    for name, cfg in merge(local.master_configs, local.worker_configs) :
    name => { for k, v in cfg : k => v if !(contains(["tls-san", "kube-apiserver-arg"], k) && try(length(v), 1) == 0) }
  }

  roles = merge(
    { for i, m in local.masters : m.name => (i == 0 ? "server-init" : "server-join") },
    { for w in local.workers : w.name => "agent" },
  )
}
