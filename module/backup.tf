################################################################################
# Backups: RKE2 etcd snapshots to S3 and Velero file-system backups
# (docs/ARCHITECTURE.md "Operations: backup, upgrade, rollback").
################################################################################
#
# Both reach the masters through the node channel (node_channel.tf), so switching them on,
# changing them or rotating their keys on a live cluster never touches a server:
#   - etcd: a config drop-in (30-rke2-ops-etcd-backup.yaml, restart = true: RKE2 reads it at
#     start; the channel restarts the masters one at a time);
#   - Velero: a Namespace + credentials Secret and a HelmChart in server/manifests (restart =
#     false: RKE2's deploy controller applies them live, its helm-controller installs the chart).
# Every channel file is 0600 root:root: the S3 keys are readable by root only on the nodes.

locals {
  etcd_backup         = var.cluster_configuration.etcd_backup
  etcd_backup_enabled = local.etcd_backup.enabled

  # Hetzner Object Storage exists in these locations (docs.hetzner.com/storage/object-storage):
  # <location>.your-objectstorage.com. Not in ash, hil or sin.
  object_storage_locations = ["fsn1", "nbg1", "hel1"]
  # The control plane's location as created: the private load balancer's, else master-0's (both
  # pinned at creation, so reordering var.locations never moves the backups to another endpoint).
  control_plane_location = local.cp_lb_enabled ? hcloud_load_balancer.control_plane[0].location : hcloud_server.master[0].location
  derived_s3_endpoint    = contains(local.object_storage_locations, local.control_plane_location) ? "${local.control_plane_location}.your-objectstorage.com" : ""

  etcd_s3_endpoint = local.etcd_backup.s3_endpoint != "" ? local.etcd_backup.s3_endpoint : local.derived_s3_endpoint
  etcd_s3_folder   = local.etcd_backup.s3_folder != "" ? local.etcd_backup.s3_folder : var.cluster_name
  # Hetzner names no region; the location code is what works with its endpoints (rke2-facts.md
  # §6.3: the plan's "eu-central" is unverified). Elsewhere RKE2's own default.
  etcd_s3_region = (
    local.etcd_backup.s3_region != "" ? local.etcd_backup.s3_region :
    can(regex("^(fsn1|nbg1|hel1)\\.your-objectstorage\\.com(:[0-9]+)?$", local.etcd_s3_endpoint)) ? split(".", local.etcd_s3_endpoint)[0] :
    "us-east-1"
  )
  # Marked sensitive on entry: cluster_configuration itself is not a sensitive variable.
  etcd_s3_access_key = sensitive(local.etcd_backup.s3_access_key)
  etcd_s3_secret_key = sensitive(local.etcd_backup.s3_secret_key)

  # etcd-s3-retention counts S3 snapshots across the WHOLE cluster (every master uploads on every
  # scheduled run; k3s#9866, rke2#5216): master_count x retention keeps as many points in time
  # in S3 as each master keeps locally. It exists from v1.34.0, v1.33.4, v1.32.8, v1.31.12
  # (rke2-facts.md §1.8); older RKE2 ignores the key and applies etcd-snapshot-retention to S3.
  rke2_has_s3_retention = (
    local.kube_minor >= 34 ||
    (local.kube_minor == 33 && local.kube_patch >= 4) ||
    (local.kube_minor == 32 && local.kube_patch >= 8) ||
    (local.kube_minor == 31 && local.kube_patch >= 12)
  )
  etcd_s3_retention_wanted    = local.etcd_backup.s3_retention != null ? local.etcd_backup.s3_retention : var.master_count * local.etcd_backup.retention
  etcd_s3_retention_effective = local.rke2_has_s3_retention ? local.etcd_s3_retention_wanted : local.etcd_backup.retention
  # Points in time S3 holds: one per scheduled run, from every master.
  etcd_s3_restore_points = floor(local.etcd_s3_retention_effective / var.master_count)

  etcd_backup_dropin = merge(
    {
      "etcd-snapshot-schedule-cron" = local.etcd_backup.schedule_cron
      "etcd-snapshot-retention"     = local.etcd_backup.retention
      # On-demand snapshots (the pre-upgrade one) follow the server's setting: .zip names.
      "etcd-snapshot-compress" = local.etcd_backup.compress
      "etcd-s3"                = true
      "etcd-s3-endpoint"       = local.etcd_s3_endpoint
      "etcd-s3-bucket"         = local.etcd_backup.s3_bucket
      "etcd-s3-folder"         = local.etcd_s3_folder
      "etcd-s3-region"         = local.etcd_s3_region
      "etcd-s3-access-key"     = local.etcd_s3_access_key
      "etcd-s3-secret-key"     = local.etcd_s3_secret_key
    },
    local.rke2_has_s3_retention ? { "etcd-s3-retention" = local.etcd_s3_retention_wanted } : {},
  )
  etcd_backup_files = local.etcd_backup_enabled ? [{ path = "${local.dropin_dir}/30-rke2-ops-etcd-backup.yaml", content = yamlencode(local.etcd_backup_dropin), restart = true }] : []

  ##############################################################################
  # Velero
  ##############################################################################

  velero_enabled   = var.velero.enabled
  velero_namespace = "velero"
  # The chart names the Schedule <release>-<schedule key>; the HelmChart (release) is "velero".
  velero_schedule = "velero-full-cluster"

  velero_s3_endpoint = var.velero.s3_endpoint != "" ? var.velero.s3_endpoint : local.etcd_s3_endpoint
  velero_s3_bucket   = var.velero.s3_bucket != "" ? var.velero.s3_bucket : local.etcd_backup.s3_bucket
  velero_s3_prefix   = var.velero.s3_prefix != "" ? var.velero.s3_prefix : "velero/${var.cluster_name}"
  velero_s3_region = (
    var.velero.s3_region != "" ? var.velero.s3_region :
    can(regex("^(fsn1|nbg1|hel1)\\.your-objectstorage\\.com(:[0-9]+)?$", local.velero_s3_endpoint)) ? split(".", local.velero_s3_endpoint)[0] :
    local.velero_s3_endpoint == local.etcd_s3_endpoint ? local.etcd_s3_region : "us-east-1"
  )
  # An existing Secret (not the chart's), reusing the etcd backup's keys when none are given.
  velero_s3_access_key     = sensitive(var.velero.s3_access_key != "" ? var.velero.s3_access_key : local.etcd_backup.s3_access_key)
  velero_s3_secret_key     = sensitive(var.velero.s3_secret_key != "" ? var.velero.s3_secret_key : local.etcd_backup.s3_secret_key)
  velero_credentials_name  = "velero-s3-credentials"
  velero_shares_etcd_place = local.etcd_backup_enabled && local.velero_s3_endpoint == local.etcd_s3_endpoint && local.velero_s3_bucket == local.etcd_backup.s3_bucket

  # Pre-backup dumps for Tutor's databases (labels, containers and data paths of Tutor's k8s
  # deployments), written onto the volume the same backup copies - a file copy of a running
  # database is not consistent (MongoDB runs --nojournal there). Written to a temporary name and
  # renamed, so a half-written dump is never taken for a good one. Velero runs hook commands
  # without a shell; its default hook timeout (30 s) is far too short for a dump.
  velero_default_hooks = [
    {
      name           = "mysql-dump"
      namespaces     = ["*"]
      label_selector = { "app.kubernetes.io/name" = "mysql" }
      container      = "mysql"
      command        = ["/bin/sh", "-c", "MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" mysqldump --user=root --all-databases --single-transaction --routines --events > /var/lib/mysql/rke2-ops-backup.sql.tmp && mv /var/lib/mysql/rke2-ops-backup.sql.tmp /var/lib/mysql/rke2-ops-backup.sql"]
      timeout        = "30m"
      on_error       = "Fail"
    },
    {
      name           = "mongodb-dump"
      namespaces     = ["*"]
      label_selector = { "app.kubernetes.io/name" = "mongodb" }
      container      = "mongodb"
      command        = ["/bin/sh", "-c", "mongodump --quiet --gzip --archive=/data/db/rke2-ops-backup.archive.gz.tmp && mv /data/db/rke2-ops-backup.archive.gz.tmp /data/db/rke2-ops-backup.archive.gz"]
      timeout        = "30m"
      on_error       = "Fail"
    },
  ]
  velero_hooks = var.velero.backup_hooks != null ? var.velero.backup_hooks : local.velero_default_hooks

  velero_credentials_manifest = join("---\n", [
    yamlencode({
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = local.velero_namespace }
    }),
    yamlencode({
      apiVersion = "v1"
      kind       = "Secret"
      metadata   = { name = local.velero_credentials_name, namespace = local.velero_namespace }
      type       = "Opaque"
      # The AWS plugin reads a shared-credentials file from key "cloud" (chart: credentials).
      stringData = {
        cloud = "[default]\naws_access_key_id=${local.velero_s3_access_key}\naws_secret_access_key=${local.velero_s3_secret_key}\n"
      }
    }),
  ])

  # Chart 11.x values (vmware-tanzu/helm-charts charts/velero/values.yaml; rke2-facts.md §5.6, §6).
  velero_values = {
    initContainers = [{
      name            = "velero-plugin-for-aws"
      image           = "velero/velero-plugin-for-aws:${var.velero.plugin_version}"
      imagePullPolicy = "IfNotPresent"
      volumeMounts    = [{ mountPath = "/target", name = "plugins" }]
    }]
    credentials = {
      useSecret      = true
      existingSecret = local.velero_credentials_name
    }
    configuration = {
      # A list, singular key (not the plan's backupStorageLocations).
      backupStorageLocation = [{
        name       = "default"
        provider   = "aws"
        bucket     = local.velero_s3_bucket
        prefix     = local.velero_s3_prefix
        default    = true
        accessMode = "ReadWrite"
        config = {
          region           = local.velero_s3_region
          s3ForcePathStyle = "true"
          s3Url            = "https://${local.velero_s3_endpoint}"
          # No CRC32 trailer: Ceph-based stores such as Hetzner's refuse aws-chunked uploads (§6).
          checksumAlgorithm = ""
        }
      }]
      uploaderType             = "kopia"
      defaultVolumesToFsBackup = true
      # A list of env entries since chart 9.1.3 (vmware-tanzu/helm-charts#678).
      extraEnvVars = [
        { name = "AWS_REQUEST_CHECKSUM_CALCULATION", value = "when_required" },
        { name = "AWS_RESPONSE_CHECKSUM_VALIDATION", value = "when_required" },
      ]
    }
    backupsEnabled = true
    # No volume snapshotter for Hetzner volumes (csi-driver#849): Kopia file-system backup only.
    snapshotsEnabled = false
    deployNodeAgent  = true
    schedules = {
      full-cluster = {
        disabled                   = false
        schedule                   = var.velero.backup_schedule
        useOwnerReferencesInBackup = false
        template = merge(
          {
            ttl                      = var.velero.backup_ttl
            includedNamespaces       = ["*"]
            defaultVolumesToFsBackup = true
            snapshotVolumes          = false
            storageLocation          = "default"
          },
          length(local.velero_hooks) > 0 ? {
            hooks = {
              resources = [for h in local.velero_hooks : {
                name               = h.name
                includedNamespaces = h.namespaces
                labelSelector      = { matchLabels = h.label_selector }
                pre = [{
                  exec = {
                    container = h.container
                    command   = h.command
                    onError   = h.on_error
                    timeout   = h.timeout
                  }
                }]
              }]
            }
          } : {},
        )
      }
    }
  }

  velero_manifest = yamlencode({
    apiVersion = "helm.cattle.io/v1"
    kind       = "HelmChart"
    metadata   = { name = "velero", namespace = "kube-system" }
    spec = {
      repo            = "https://vmware-tanzu.github.io/helm-charts"
      chart           = "velero"
      version         = var.velero.version
      targetNamespace = local.velero_namespace
      createNamespace = true
      valuesContent   = yamlencode(local.velero_values)
    }
  })

  velero_files = local.velero_enabled ? [
    { path = "${local.manifests_dir}/rke2-ops-velero-credentials.yaml", content = local.velero_credentials_manifest, restart = false },
    { path = "${local.manifests_dir}/rke2-ops-velero.yaml", content = local.velero_manifest, restart = false },
  ] : []
}
