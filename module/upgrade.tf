################################################################################
# The upgrade chain on rke2_version (docs/ARCHITECTURE.md "Operations: backup, upgrade, rollback")
################################################################################
#
# A new rke2_version never replaces a server (servers.tf ignores user_data and image). It runs,
# in place, over SSH with the pinned host keys and after the node channel:
#
#   pre_upgrade_snapshot (master-0)  ->  upgrade_master[*]  ->  upgrade_worker[*]  ->  health_check (master-0)
#
# Each step is a rendered bash script (templates/*.sh.tftpl + the shared templates/ops-lib.sh),
# also the output upgrade_scripts, so another runner (the actions, a bastion) and the tests run
# exactly what tofu runs. OpenTofu cannot order the instances of one count resource, so the
# order between nodes lives on the nodes, as in the node channel: each node's script waits until
# the nodes before it run the target version and are Ready (masters one at a time from master-0;
# workers after every master, upgrade.worker_concurrency at a time). Every script is a no-op on
# a node or cluster that already runs the target, so a new cluster, a new node or a re-run after
# a failure only does what is left.
#
# Why an install over SSH rather than system-upgrade-controller Plans: the SUC needs its
# controller from GitHub in the cluster, its rke2-upgrade image cannot take the pre-upgrade
# snapshot (rke2 not on PATH there, rke2-facts.md §3.2), it does not refuse downgrades (§3.1),
# and a script the tests can run on the lab shows what happens on the nodes.

locals {
  upgrade_apply = local.channel_apply && var.upgrade.apply
  ops_lib       = file("${path.module}/templates/ops-lib.sh")
  ops_state_dir = dirname(local.channel_state_dir)
  all_nodes     = concat(local.master_names, [for w in local.workers : w.name])
  # What the pre-upgrade snapshot recorded (on master-0): file, versions, S3 location, Velero backup.
  upgrade_record = "${local.ops_state_dir}/pre-upgrade-snapshot.json"

  upgrade_snapshot_script = templatefile("${path.module}/templates/pre-upgrade-snapshot.sh.tftpl", {
    lib              = local.ops_lib
    node             = local.masters[0].name
    target           = var.rke2_version
    nodes            = join(" ", local.all_nodes)
    s3               = local.etcd_backup_enabled ? 1 : 0
    s3_target        = local.etcd_backup_enabled ? "s3://${local.etcd_backup.s3_bucket}/${local.etcd_s3_folder} at ${local.etcd_s3_endpoint}" : ""
    velero           = local.velero_enabled && var.upgrade.velero_backup ? 1 : 0
    velero_namespace = local.velero_namespace
    velero_schedule  = local.velero_schedule
    timeout          = var.upgrade.timeout
    record           = local.upgrade_record
  })

  upgrade_node_scripts = merge(
    {
      for m in local.masters : m.name => templatefile("${path.module}/templates/upgrade-node.sh.tftpl", {
        lib                = local.ops_lib
        node               = m.name
        role               = "server"
        unit               = "rke2-server"
        target             = var.rke2_version
        install_url        = var.rke2_install_script_url
        api_fallback       = local.api_fallback
        masters            = join(" ", local.master_names)
        wait_for           = join(" ", slice(local.master_names, 0, m.index))
        worker_concurrency = var.upgrade.worker_concurrency
        timeout            = var.upgrade.timeout
      })
    },
    {
      for w in local.workers : w.name => templatefile("${path.module}/templates/upgrade-node.sh.tftpl", {
        lib          = local.ops_lib
        node         = w.name
        role         = "agent"
        unit         = "rke2-agent"
        target       = var.rke2_version
        install_url  = var.rke2_install_script_url
        api_fallback = local.api_fallback
        masters      = join(" ", local.master_names)
        # Every master first (never a kubelet newer than the API servers), then the worker
        # worker_concurrency places before this one: at most that many workers at a time.
        wait_for           = join(" ", concat(local.master_names, w.index >= var.upgrade.worker_concurrency ? [local.workers[w.index - var.upgrade.worker_concurrency].name] : []))
        worker_concurrency = var.upgrade.worker_concurrency
        timeout            = var.upgrade.timeout
      })
    },
  )

  health_check_script = templatefile("${path.module}/templates/health-check.sh.tftpl", {
    lib        = local.ops_lib
    node       = local.masters[0].name
    target     = var.rke2_version
    nodes      = join(" ", local.all_nodes)
    kube_proxy = module.rke2_config.kube_proxy_enabled
    ccm        = local.ccm.enabled
    # Single-quoted for bash.
    urls    = join(" ", [for u in var.health_check_urls : "'${replace(u, "'", "'\\''")}'"])
    timeout = var.upgrade.health_timeout
    record  = local.upgrade_record
  })
}

# master-0 is the initial server: no server: line, so `rke2 etcd-snapshot save` reaches its own
# supervisor (k3s#10513 sent it to the server: address on other masters).
resource "terraform_data" "pre_upgrade_snapshot" {
  count = local.upgrade_apply ? 1 : 0

  # Only a new version runs it (a no-op on a cluster already at that version).
  triggers_replace = [var.rke2_version]

  connection {
    type        = "ssh"
    host        = hcloud_server.master[0].ipv4_address
    port        = 22
    user        = "root"
    private_key = tls_private_key.ssh.private_key_openssh
    host_key    = local.master_host_public_keys[0]
    timeout     = "${var.node_channel.timeout}s"
  }

  provisioner "remote-exec" {
    inline = [local.upgrade_snapshot_script]
  }

  # The node channel first: it may be what delivers the S3 settings the snapshot needs.
  depends_on = [terraform_data.node_channel_master, terraform_data.node_channel_worker]
}

resource "terraform_data" "upgrade_master" {
  count = local.upgrade_apply ? var.master_count : 0

  triggers_replace = [var.rke2_version]

  connection {
    type        = "ssh"
    host        = hcloud_server.master[count.index].ipv4_address
    port        = 22
    user        = "root"
    private_key = tls_private_key.ssh.private_key_openssh
    host_key    = local.master_host_public_keys[count.index]
    timeout     = "${var.node_channel.timeout}s"
  }

  provisioner "remote-exec" {
    inline = [local.upgrade_node_scripts[local.masters[count.index].name]]
  }

  depends_on = [terraform_data.pre_upgrade_snapshot]
}

resource "terraform_data" "upgrade_worker" {
  count = local.upgrade_apply ? var.worker_count : 0

  triggers_replace = [var.rke2_version]

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
    inline = [local.upgrade_node_scripts[local.workers[count.index].name]]
  }

  # Workers after every master (the scripts wait too; this keeps tofu from even starting them).
  depends_on = [terraform_data.upgrade_master]
}

resource "terraform_data" "health_check" {
  count = local.upgrade_apply ? 1 : 0

  # A new version, or new URLs to prove.
  triggers_replace = [var.rke2_version, sha256(local.health_check_script)]

  connection {
    type        = "ssh"
    host        = hcloud_server.master[0].ipv4_address
    port        = 22
    user        = "root"
    private_key = tls_private_key.ssh.private_key_openssh
    host_key    = local.master_host_public_keys[0]
    timeout     = "${var.node_channel.timeout}s"
  }

  provisioner "remote-exec" {
    inline = [local.health_check_script]
  }

  depends_on = [terraform_data.upgrade_master, terraform_data.upgrade_worker, terraform_data.wait_for_cluster_ready]
}
