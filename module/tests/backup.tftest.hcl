# etcd backups and Velero (backup.tf, docs/ARCHITECTURE.md "Operations: backup, upgrade, rollback"):
# what the masters get through the node channel - the drop-in with RKE2's etcd-snapshot-*/etcd-s3-*
# keys and the Velero manifests - for each on/off branch and derived value. Asserts read the
# channel's files (local.channel_files: exactly what the payloads carry) and, once, the payload.
# Plan only: nothing connects anywhere.

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
  master_count = 3
  worker_count = 2
  node_channel = { apply = false }
  # The S3 settings of most runs below.
  cluster_configuration = {
    etcd_backup = {
      enabled       = true
      s3_bucket     = "test-backups"
      s3_access_key = "MOCKACCESSKEY0000001"
      s3_secret_key = "MockSecretKey000000000000000000000000001"
    }
  }
}

run "off_by_default" {
  command = plan

  variables {
    cluster_configuration = {}
  }

  assert {
    condition = (
      !anytrue([for n, files in output.node_channel : anytrue([for f in files.files : strcontains(f.path, "etcd-backup") || strcontains(f.path, "velero")])]) &&
      !anytrue([for n, c in nonsensitive(output.rke2_configs) : strcontains(c, "etcd-s3")]) &&
      output.etcd_backup_enabled == false && output.velero_enabled == false
    )
    error_message = "Without etcd_backup and velero no node gets a backup drop-in, an etcd-s3 key or a Velero manifest."
  }
}

run "etcd_backup_dropin" {
  command = plan

  assert {
    condition     = [for f in output.node_channel["test-master-2"].files : "${f.path} ${f.restart}" if strcontains(f.path, "30-")] == ["/etc/rancher/rke2/config.yaml.d/30-rke2-ops-etcd-backup.yaml true"]
    error_message = "Every master gets 30-rke2-ops-etcd-backup.yaml, read at start (restart = true: the channel restarts the masters one at a time)."
  }

  assert {
    condition     = alltrue([for w in ["test-worker-0", "test-worker-1"] : !anytrue([for f in output.node_channel[w].files : strcontains(f.path, "etcd")])])
    error_message = "Workers run no etcd: no backup drop-in."
  }

  # Decoded from the payload itself: what the node writes.
  assert {
    condition = jsonencode(yamldecode(base64decode(split(" ", one([
      for l in split("\n", nonsensitive(output.node_channel_payloads["test-master-0"])) : l if startswith(l, "file /etc/rancher/rke2/config.yaml.d/30-rke2-ops-etcd-backup.yaml ")
      ]))[3]))) == jsonencode({
      "etcd-s3"                     = true
      "etcd-s3-access-key"          = "MOCKACCESSKEY0000001"
      "etcd-s3-bucket"              = "test-backups"
      "etcd-s3-endpoint"            = "fsn1.your-objectstorage.com"
      "etcd-s3-folder"              = "test"
      "etcd-s3-region"              = "fsn1"
      "etcd-s3-retention"           = 30
      "etcd-s3-secret-key"          = "MockSecretKey000000000000000000000000001"
      "etcd-snapshot-compress"      = true
      "etcd-snapshot-retention"     = 10
      "etcd-snapshot-schedule-cron" = "0 */6 * * *"
    })
    error_message = "The drop-in holds RKE2's keys: every 6 h, 10 local, compressed, S3 at the control plane's Hetzner endpoint (host only), folder = cluster name, region = location code, S3 retention = 3 masters x 10 (cluster-wide count)."
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-1"]))["etcd-s3-bucket"] == "test-backups" && !strcontains(nonsensitive(output.rke2_configs["test-worker-0"]), "etcd")
    error_message = "rke2_configs (the effective configuration) includes the backup drop-in on masters only."
  }

  assert {
    condition     = output.etcd_backup_enabled == true && output.velero_enabled == false
    error_message = "etcd_backup_enabled follows etcd_backup.enabled; velero_enabled stays false."
  }

  assert {
    condition     = jsonencode(output.ops_inventory.etcd_s3) == jsonencode({ bucket = "test-backups", endpoint = "fsn1.your-objectstorage.com", folder = "test", insecure = false, region = "fsn1" }) && output.ops_inventory.velero == null && !issensitive(output.ops_inventory)
    error_message = "ops_inventory.etcd_s3 is {endpoint (host, no scheme), bucket, folder, region, insecure} exactly as the masters upload; the inventory stays non-sensitive."
  }

  # The keys reach the nodes in the (sensitive) payload only.
  assert {
    condition = (
      issensitive(output.node_channel_payloads) &&
      !strcontains(jsonencode(output.node_channel), "MockSecretKey") &&
      !strcontains(jsonencode(output.upgrade_scripts), "MockSecretKey") && !strcontains(jsonencode(output.upgrade_scripts), "MOCKACCESSKEY") &&
      !strcontains(jsonencode(output.ops_inventory), "MOCKACCESSKEY") &&
      alltrue([for c in values(output.cloud_init) : !strcontains(nonsensitive(c), "MockSecretKey")])
    )
    error_message = "S3 keys must appear only in the sensitive payloads: not in node_channel, the scripts, the inventory or user_data."
  }
}

run "endpoint_follows_the_control_plane_location" {
  command = plan

  variables {
    locations                   = ["fsn1", "nbg1", "hel1"]
    control_plane_load_balancer = { location = "hel1" }
  }

  assert {
    condition     = yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/30-rke2-ops-etcd-backup.yaml")]))["etcd-s3-endpoint"] == "hel1.your-objectstorage.com" && yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/30-rke2-ops-etcd-backup.yaml")]))["etcd-s3-region"] == "hel1"
    error_message = "The default endpoint is the Object Storage of the control plane's location, and the region its location code."
  }
}

run "endpoint_follows_master_0_without_a_load_balancer" {
  command = plan

  variables {
    master_count                = 1
    locations                   = ["nbg1", "fsn1"]
    control_plane_load_balancer = { enabled = false }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["etcd-s3-endpoint"] == "nbg1.your-objectstorage.com"
    error_message = "Without a control-plane load balancer the endpoint follows master-0's location."
  }
}

run "explicit_s3_settings" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = {
        enabled       = true
        schedule_cron = "30 2 * * *"
        retention     = 4
        s3_retention  = 20
        compress      = false
        s3_endpoint   = "minio.example.com:9000"
        s3_bucket     = "etcd"
        s3_folder     = "prod/etcd"
        s3_access_key = "MOCKACCESSKEY0000001"
        s3_secret_key = "MockSecretKey000000000000000000000000001"
      }
    }
  }

  assert {
    condition = (
      jsonencode({ for k, v in yamldecode(nonsensitive(output.rke2_configs["test-master-0"])) : k => v if startswith(k, "etcd-") && !endswith(k, "-key") }) == jsonencode({
        "etcd-s3"                     = true
        "etcd-s3-bucket"              = "etcd"
        "etcd-s3-endpoint"            = "minio.example.com:9000"
        "etcd-s3-folder"              = "prod/etcd"
        "etcd-s3-region"              = "us-east-1"
        "etcd-s3-retention"           = 20
        "etcd-snapshot-compress"      = false
        "etcd-snapshot-retention"     = 4
        "etcd-snapshot-schedule-cron" = "30 2 * * *"
      })
    )
    error_message = "Given settings are rendered as given; a non-Hetzner endpoint without a region gets RKE2's default region."
  }


  assert {
    condition     = jsonencode(output.ops_inventory.etcd_s3) == jsonencode({ bucket = "etcd", endpoint = "minio.example.com:9000", folder = "prod/etcd", insecure = false, region = "us-east-1" })
    error_message = "ops_inventory.etcd_s3 locates the snapshots exactly as the nodes upload them (no keys)."
  }
}

run "explicit_region" {
  command = plan

  variables {
    cluster_configuration = {
      etcd_backup = {
        enabled       = true
        s3_region     = "eu-central"
        s3_bucket     = "test-backups"
        s3_access_key = "MOCKACCESSKEY0000001"
        s3_secret_key = "MockSecretKey000000000000000000000000001"
      }
    }
  }

  assert {
    condition     = yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["etcd-s3-region"] == "eu-central"
    error_message = "An explicit region wins over the derived one."
  }
}

# RKE2 before v1.34.0/v1.33.4 has no etcd-s3-retention: the key would be ignored, so it is not
# written (and etcd-snapshot-retention applies to S3).
run "no_s3_retention_key_on_older_rke2" {
  command = plan

  variables {
    rke2_version = "v1.33.3+rke2r1"
    master_count = 1
    cluster_configuration = {
      etcd_backup = {
        enabled       = true
        s3_bucket     = "test-backups"
        s3_access_key = "MOCKACCESSKEY0000001"
        s3_secret_key = "MockSecretKey000000000000000000000000001"
      }
    }
  }

  assert {
    condition     = !contains(keys(yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))), "etcd-s3-retention") && yamldecode(nonsensitive(output.rke2_configs["test-master-0"]))["etcd-snapshot-retention"] == 10
    error_message = "v1.33.3 gets no etcd-s3-retention key."
  }
}

run "velero_manifests" {
  command = plan

  variables {
    velero = { enabled = true }
  }

  assert {
    condition = [for f in output.node_channel["test-master-0"].files : "${f.path} ${f.restart}" if strcontains(f.path, "velero")] == [
      "/var/lib/rancher/rke2/server/manifests/rke2-ops-velero-credentials.yaml false",
      "/var/lib/rancher/rke2/server/manifests/rke2-ops-velero.yaml false",
    ]
    error_message = "Velero comes as two manifests on every master, read live (no restart)."
  }

  assert {
    condition     = !anytrue([for f in output.node_channel["test-worker-1"].files : strcontains(f.path, "velero")])
    error_message = "Manifests go to masters only."
  }

  # The HelmChart RKE2's helm-controller installs.
  assert {
    condition = jsonencode({ for k, v in yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec : k => v if k != "valuesContent" }) == jsonencode({
      chart           = "velero"
      createNamespace = true
      repo            = "https://vmware-tanzu.github.io/helm-charts"
      targetNamespace = "velero"
      version         = "11.3.2"
    })
    error_message = "HelmChart velero: chart 11.3.2 from vmware-tanzu into namespace velero."
  }

  assert {
    condition = jsonencode(yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.backupStorageLocation) == jsonencode([{
      accessMode = "ReadWrite"
      bucket     = "test-backups"
      config = {
        checksumAlgorithm = ""
        region            = "fsn1"
        s3ForcePathStyle  = "true"
        s3Url             = "https://fsn1.your-objectstorage.com"
      }
      default  = true
      name     = "default"
      prefix   = "velero/test"
      provider = "aws"
    }])
    error_message = "configuration.backupStorageLocation is a list: the etcd backup's bucket, endpoint (full URL for Velero) and region, path style, no CRC32 trailer, its own prefix."
  }

  assert {
    condition = (
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).snapshotsEnabled == false &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).deployNodeAgent == true &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.defaultVolumesToFsBackup == true &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.uploaderType == "kopia" &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).initContainers[0].image == "velero/velero-plugin-for-aws:v1.13.2" &&
      jsonencode(yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).credentials) == jsonencode({ existingSecret = "velero-s3-credentials", useSecret = true }) &&
      jsonencode(yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.extraEnvVars) == jsonencode([{ name = "AWS_REQUEST_CHECKSUM_CALCULATION", value = "when_required" }, { name = "AWS_RESPONSE_CHECKSUM_VALIDATION", value = "when_required" }])
    )
    error_message = "Velero: no volume snapshots, node agent with Kopia file-system backup of every volume, AWS plugin v1.13.2, the existing credentials Secret, SDK checksums only when required (extraEnvVars as a list)."
  }

  assert {
    condition = (
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].schedule == "0 */6 * * *" &&
      jsonencode({ for k, v in yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].template : k => v if k != "hooks" }) == jsonencode({
        defaultVolumesToFsBackup = true
        includedNamespaces       = ["*"]
        snapshotVolumes          = false
        storageLocation          = "default"
        ttl                      = "720h"
      })
    )
    error_message = "Schedule full-cluster: every 6 h, every namespace, every volume by file-system backup, kept 30 days."
  }

  assert {
    condition = [for r in yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].template.hooks.resources : "${r.name} ${r.labelSelector.matchLabels["app.kubernetes.io/name"]} ${r.pre[0].exec.container} ${r.pre[0].exec.timeout} ${r.pre[0].exec.onError} ${r.pre[0].exec.command[0]} ${strcontains(r.pre[0].exec.command[2], "dump")}"] == [
      "mysql-dump mysql mysql 30m Fail /bin/sh true",
      "mongodb-dump mongodb mongodb 30m Fail /bin/sh true",
    ]
    error_message = "Pre-backup hooks dump Tutor's MySQL and MongoDB (through a shell, 30 min, failing the backup when the dump fails)."
  }

  assert {
    condition = (
      yamldecode(split("---\n", one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero-credentials.yaml")]))[0]).kind == "Namespace" &&
      yamldecode(split("---\n", nonsensitive(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero-credentials.yaml")])))[1]).stringData.cloud == "[default]\naws_access_key_id=MOCKACCESSKEY0000001\naws_secret_access_key=MockSecretKey000000000000000000000000001\n"
    )
    error_message = "The credentials Secret (key cloud, AWS shared-credentials format) reuses the etcd backup's keys, in namespace velero created first."
  }

  assert {
    condition     = jsonencode(output.ops_inventory.velero) == jsonencode({ namespace = "velero", schedule = "velero-full-cluster" }) && output.velero_enabled
    error_message = "ops_inventory.velero names the namespace and the chart's Schedule (<release>-<key>)."
  }
}

run "velero_own_s3_and_hooks" {
  command = plan

  variables {
    cluster_configuration = {}
    velero = {
      enabled         = true
      backup_schedule = "15 3 * * *"
      backup_ttl      = "168h"
      s3_endpoint     = "nbg1.your-objectstorage.com"
      s3_bucket       = "velero-bucket"
      s3_prefix       = "tutor"
      s3_access_key   = "VELEROACCESSKEY00001"
      s3_secret_key   = "VeleroSecretKey0000000000000000000000001"
      backup_hooks = [{
        name           = "redis-save"
        namespaces     = ["openedx"]
        label_selector = { "app.kubernetes.io/name" = "redis" }
        container      = "redis"
        command        = ["redis-cli", "save"]
        timeout        = "5m"
      }]
    }
  }

  assert {
    condition = (
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.backupStorageLocation[0].config.s3Url == "https://nbg1.your-objectstorage.com" &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.backupStorageLocation[0].config.region == "nbg1" &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.backupStorageLocation[0].bucket == "velero-bucket" &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).configuration.backupStorageLocation[0].prefix == "tutor" &&
      strcontains(nonsensitive(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero-credentials.yaml")])), "aws_access_key_id=VELEROACCESSKEY00001\n")
    )
    error_message = "Velero's own endpoint, bucket, prefix and keys are used; the region follows its endpoint."
  }

  assert {
    condition = (
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].schedule == "15 3 * * *" &&
      yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].template.ttl == "168h" &&
      jsonencode(yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].template.hooks.resources) == jsonencode([{
        includedNamespaces = ["openedx"]
        labelSelector      = { matchLabels = { "app.kubernetes.io/name" = "redis" } }
        name               = "redis-save"
        pre                = [{ exec = { command = ["redis-cli", "save"], container = "redis", onError = "Fail", timeout = "5m" } }]
      }])
    )
    error_message = "The schedule, TTL and given hooks replace the defaults."
  }

  assert {
    condition     = output.ops_inventory.etcd_s3 == null && output.ops_inventory.velero != null
    error_message = "Velero without etcd backups: etcd_s3 stays null."
  }
}

run "velero_without_hooks" {
  command = plan

  variables {
    velero = { enabled = true, backup_hooks = [] }
  }

  assert {
    condition     = !contains(keys(yamldecode(yamldecode(one([for f in local.channel_files["test-master-0"] : f.content if endswith(f.path, "/rke2-ops-velero.yaml")])).spec.valuesContent).schedules["full-cluster"].template), "hooks")
    error_message = "backup_hooks = [] renders no hooks."
  }
}
