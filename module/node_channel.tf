################################################################################
# The node channel: how anything reaches a live node (docs/ARCHITECTURE.md §3).
################################################################################
#
# user_data is used once, at creation (servers.tf ignores later changes), so
# everything that may change on a running cluster - and every secret - comes
# through here: one terraform_data per node writes the node's files over SSH
# (pinned host key), re-runs when the sha256 of its payload changes, and
# restarts RKE2 only when a file RKE2 reads at start changed. Masters restart
# one at a time, each after the masters before it (node-side wait on a Node
# annotation, so it holds whatever tofu's parallelism does) and while all
# others are Ready, waiting for its own readiness before the next one goes.
#
# Interface - to deliver something to the nodes, add an entry to
# channel_master_files / channel_worker_files (every master / worker):
#
#   { path = "<absolute path>", content = "<text, may be sensitive>", restart = <bool> }
#
#   path    under /etc/rancher/rke2/ (config drop-ins: local.dropin_dir/NN-name.yaml,
#           files they name) or local.manifests_dir/ (RKE2 applies manifests live)
#   restart true: RKE2 reads the file at start, so a change restarts the node's
#           RKE2 (rolling over the masters); false: a change is only written
#   Files are written 0600 root:root; a file no longer delivered is removed.
#
# Drop-ins are read in name order (a later file overrides a key): the module's
# are 10-rke2-ops-token.yaml and 20-rke2-ops-server/agent.yaml; use 30- and up.

locals {
  dropin_dir        = module.rke2_config.dropin_dir
  channel_state_dir = "/var/lib/rancher/rke2-ops/channel"
  channel_apply     = var.node_channel.apply
  # Annotation a master carries once it has applied (and is ready with) a payload.
  channel_annotation = "rke2-ops.io/channel-sha256"

  auth_config_files = local.readyz_health ? [{ path = module.rke2_config.auth_config_path, content = module.rke2_config.auth_config_yaml, restart = true }] : []

  # Role-wide files beyond the config drop-ins.
  channel_master_files = concat(local.auth_config_files, local.hcloud_manifest_files, local.etcd_backup_files, local.velero_files)
  channel_worker_files = []

  channel_files = merge(
    {
      for m in local.masters : m.name => concat(
        [for f in module.rke2_config.dropin_names[m.name] : { path = "${local.dropin_dir}/${f}", content = module.rke2_config.dropins[m.name][f], restart = true }],
        local.channel_master_files,
      )
    },
    {
      for w in local.workers : w.name => concat(
        [for f in module.rke2_config.dropin_names[w.name] : { path = "${local.dropin_dir}/${f}", content = module.rke2_config.dropins[w.name][f], restart = true }],
        local.channel_worker_files,
      )
    },
  )

  # One line per file; paths are checked by a guardrail (no spaces), contents
  # are base64 (no newline).
  channel_payloads = {
    for name, files in local.channel_files : name => join("\n", concat(
      ["rke2-ops-channel-payload 1"],
      [for f in files : "file ${f.path} ${f.restart ? 1 : 0} ${base64encode(f.content)}"],
      [""],
    ))
  }
  # The digest is not a secret: the payload it covers holds 48-character random
  # tokens. It is the re-run trigger and what a master announces on its Node.
  channel_sha = { for name, p in local.channel_payloads : name => nonsensitive(sha256(p)) }

  api_fallback = "https://${local.cp_lb_enabled ? local.cp_lb_private_ip : local.masters[0].private_ip}:6443"
  master_names = [for m in local.masters : m.name]

  channel_scripts = merge(
    {
      for m in local.masters : m.name => templatefile("${path.module}/templates/node-channel.sh.tftpl", {
        node         = m.name
        role         = "server"
        unit         = "rke2-server"
        sha          = local.channel_sha[m.name]
        timeout      = var.node_channel.timeout
        annotation   = local.channel_annotation
        state_dir    = local.channel_state_dir
        api_fallback = local.api_fallback
        masters      = join(" ", local.master_names)
        wait_for     = join(" ", [for p in slice(local.masters, 0, m.index) : "${p.name}=${local.channel_sha[p.name]}"])
      })
    },
    {
      for w in local.workers : w.name => templatefile("${path.module}/templates/node-channel.sh.tftpl", {
        node         = w.name
        role         = "agent"
        unit         = "rke2-agent"
        sha          = local.channel_sha[w.name]
        timeout      = var.node_channel.timeout
        annotation   = local.channel_annotation
        state_dir    = local.channel_state_dir
        api_fallback = ""
        masters      = join(" ", local.master_names)
        wait_for     = ""
      })
    },
  )

  # What each node's channel delivers, without contents (plans, the output).
  channel_summary = {
    for name, files in local.channel_files : name => {
      sha256 = local.channel_sha[name]
      # Per file, so a plan shows which file changes (and whether it restarts).
      files = [for f in files : { path = f.path, restart = f.restart, sha256 = nonsensitive(sha256(f.content)) }]
      # Masters: the masters that must have applied their content before this
      # one restarts.
      after = contains(local.master_names, name) ? slice(local.master_names, 0, index(local.master_names, name)) : []
    }
  }
}

resource "terraform_data" "node_channel_master" {
  count = local.channel_apply ? var.master_count : 0

  # A new payload, or a new server, runs the channel again.
  triggers_replace = [hcloud_server.master[count.index].id, local.channel_sha[local.masters[count.index].name]]
  input            = local.channel_summary[local.masters[count.index].name]

  connection {
    type        = "ssh"
    host        = hcloud_server.master[count.index].ipv4_address
    port        = 22
    user        = "root"
    private_key = tls_private_key.ssh.private_key_openssh
    # Pinned: generated by this module and installed by cloud-init.
    host_key = local.master_host_public_keys[count.index]
    timeout  = "${var.node_channel.timeout}s"
  }

  provisioner "remote-exec" {
    inline = ["[ -d /var/lib/rancher ] || install -d -m 0755 /var/lib/rancher; install -d -m 0700 ${dirname(local.channel_state_dir)} ${local.channel_state_dir}"]
  }

  # Secrets travel in this file (0700 directory, deleted by the script), so the
  # script itself carries none and tofu shows its progress.
  provisioner "file" {
    content     = local.channel_payloads[local.masters[count.index].name]
    destination = "${local.channel_state_dir}/payload"
  }

  provisioner "remote-exec" {
    inline = [local.channel_scripts[local.masters[count.index].name]]
  }

  # Joining masters register through the control-plane load balancer.
  depends_on = [
    hcloud_load_balancer_network.control_plane,
    hcloud_load_balancer_target.control_plane,
    hcloud_load_balancer_service.kube_api,
    hcloud_load_balancer_service.supervisor,
  ]
}

resource "terraform_data" "node_channel_worker" {
  count = local.channel_apply ? var.worker_count : 0

  triggers_replace = [hcloud_server.worker[count.index].id, local.channel_sha[local.workers[count.index].name]]
  input            = local.channel_summary[local.workers[count.index].name]

  connection {
    type        = "ssh"
    host        = hcloud_server.worker[count.index].ipv4_address
    port        = 22
    user        = "root"
    private_key = tls_private_key.ssh.private_key_openssh
    host_key    = local.worker_host_public_keys[count.index]
    timeout     = "${var.node_channel.timeout}s"
  }

  provisioner "remote-exec" {
    inline = ["[ -d /var/lib/rancher ] || install -d -m 0755 /var/lib/rancher; install -d -m 0700 ${dirname(local.channel_state_dir)} ${local.channel_state_dir}"]
  }

  provisioner "file" {
    content     = local.channel_payloads[local.workers[count.index].name]
    destination = "${local.channel_state_dir}/payload"
  }

  provisioner "remote-exec" {
    inline = [local.channel_scripts[local.workers[count.index].name]]
  }

  # Workers follow the masters (an upgrade must never run a kubelet newer than
  # the API servers).
  depends_on = [
    terraform_data.node_channel_master,
    hcloud_load_balancer_network.control_plane,
    hcloud_load_balancer_target.control_plane,
    hcloud_load_balancer_service.supervisor,
  ]
}
