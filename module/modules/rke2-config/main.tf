locals {
  # The address plan. Everything a node's config needs is known at plan time,
  # and a recreated node gets its old address back.
  master_host_offset = 11
  worker_host_offset = 101
  cp_lb_private_ip   = cidrhost(var.subnet_ip_range, 2)
  ingress_private_ip = cidrhost(var.subnet_ip_range, 3)
  api_lb_private_ip  = cidrhost(var.subnet_ip_range, 4)

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
  join_url     = "https://${local.join_address}:9345"

  auth_config_path = "/etc/rancher/rke2/auth-config.yaml"
  # RKE2 reads config.yaml, then every *.yaml/*.yml here in name order; a later
  # file overrides a key, "<key>+" appends to a list (k3s pkg/configfilearg).
  dropin_dir = "/etc/rancher/rke2/config.yaml.d"

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

  ##############################################################################
  # config.yaml: written once by cloud-init. Node identity and cluster shape
  # only - keys that cannot change on a live node - and no secret.
  ##############################################################################

  server_shape = {
    cni                   = var.cni
    cluster-cidr          = var.cluster_cidr
    service-cidr          = var.service_cidr
    write-kubeconfig-mode = "0600"
  }

  base_master_configs = {
    for i, m in local.masters : m.name => merge(
      local.server_shape,
      # node-ip is the private address: etcd, the supervisor, kubelet and CNI
      # traffic stay on the private network.
      { node-name = m.name, node-ip = m.private_ip, cloud-provider-name = "external" },
      # masters[0] initialises the cluster and must not carry a server: line.
      i == 0 ? {} : { server = local.join_url },
    )
  }

  base_worker_configs = {
    for w in local.workers : w.name => {
      node-name           = w.name
      node-ip             = w.private_ip
      cloud-provider-name = "external"
      server              = local.join_url
    }
  }

  ##############################################################################
  # Drop-ins in config.yaml.d: delivered (and changed) over the node channel.
  # Secrets and everything that may change on a live cluster.
  ##############################################################################

  # Lists the module sets that a user may extend. The user's entries (given as
  # "<key>" or "<key>+") are appended to the module's, never replace them: a
  # replaced kube-apiserver-arg would drop the authentication config and take
  # every master out of the load balancer.
  merged_list_keys = ["tls-san", "kube-apiserver-arg"]

  module_lists = {
    tls-san            = distinct(concat(var.join_via_load_balancer ? [local.cp_lb_private_ip] : [], var.tls_san))
    kube-apiserver-arg = var.anonymous_health_endpoints ? ["authentication-config=${local.auth_config_path}"] : []
  }
  user_lists = {
    for k in local.merged_list_keys : k => concat(
      flatten([try(var.extra_server_config[k], [])]),
      flatten([try(var.extra_server_config["${k}+"], [])]),
    )
  }
  server_lists = {
    for k in local.merged_list_keys : k => distinct(concat(local.module_lists[k], local.user_lists[k]))
    if length(concat(local.module_lists[k], local.user_lists[k])) > 0
  }
  user_server_keys = {
    for k, v in var.extra_server_config : k => v if !contains(local.merged_list_keys, trimsuffix(k, "+"))
  }
  server_dropin = merge(local.user_server_keys, local.server_lists)

  # Agents get only the agent token: an agent token cannot join a server.
  server_token_dropin = var.agent_token == null ? { token = var.token } : { token = var.token, agent-token = var.agent_token }
  agent_token_dropin  = { token = var.agent_token == null ? var.token : var.agent_token }

  # File names (never secret) apart from their contents (secret).
  master_dropin_names = concat(["10-rke2-ops-token.yaml"], length(local.server_dropin) > 0 ? ["20-rke2-ops-server.yaml"] : [])
  worker_dropin_names = concat(["10-rke2-ops-token.yaml"], length(var.extra_agent_config) > 0 ? ["20-rke2-ops-agent.yaml"] : [])
  master_dropins = {
    "10-rke2-ops-token.yaml"  = yamlencode(local.server_token_dropin)
    "20-rke2-ops-server.yaml" = yamlencode(local.server_dropin)
  }
  worker_dropins = {
    "10-rke2-ops-token.yaml" = yamlencode(local.agent_token_dropin)
    "20-rke2-ops-agent.yaml" = yamlencode(var.extra_agent_config)
  }
  dropin_names = merge(
    { for m in local.masters : m.name => local.master_dropin_names },
    { for w in local.workers : w.name => local.worker_dropin_names },
  )
  dropins = merge(
    { for m in local.masters : m.name => { for f in local.master_dropin_names : f => local.master_dropins[f] } },
    { for w in local.workers : w.name => { for f in local.worker_dropin_names : f => local.worker_dropins[f] } },
  )

  # What RKE2 ends up with on each node (config.yaml + drop-ins; no key is set
  # twice, so file order does not matter).
  config_objects = merge(
    { for name, base in local.base_master_configs : name => merge(base, local.server_token_dropin, local.server_dropin) },
    { for name, base in local.base_worker_configs : name => merge(base, local.agent_token_dropin, var.extra_agent_config) },
  )

  # RKE2 parses booleans like Go's strconv.ParseBool.
  kube_proxy_disabled = contains(["1", "t", "T", "TRUE", "true", "True"], tostring(try(var.extra_server_config["disable-kube-proxy"], false)))

  roles = merge(
    { for i, m in local.masters : m.name => (i == 0 ? "server-init" : "server-join") },
    { for w in local.workers : w.name => "agent" },
  )
}
