/**
 * The contract between the module and the actions: real `tofu` applies the module (hcloud
 * mocked, real tls host keys) and the `ops_inventory` it outputs must load through the very
 * schema the actions use, and yield SSH targets with pinned host keys. A change on either side
 * that breaks the other fails here, not on a user's cluster.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInventory, targetsFromInventory } from '../../src/inventory/index.js';
import { parseHostKey } from '../../src/ssh/hostkeys.js';
import { readSnapshotConfig } from '../../src/snapshot/config.js';
import { endpointUrl, metadataKey, snapshotKey } from '../../src/s3/settings.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { makeKey } from '../helpers/keys.js';

const root = new URL('../..', import.meta.url).pathname;
const haveTofu = spawnSync('sh', ['-c', 'command -v tofu'], { encoding: 'utf8' }).status === 0;
// In CI the toolchain is always set up (scripts/test.sh sources .tools/env): a missing tofu is a
// failure there, not a skip.
const maybe = haveTofu || process.env.CI === 'true' ? test : test.skip;
if (!haveTofu) console.warn('tofu not on PATH: run `bash scripts/setup-tools.sh tofu && source .tools/env`');

const mocks = `
mock_provider "hcloud" {
  mock_resource "hcloud_network" { defaults = { id = "1001" } }
  mock_resource "hcloud_network_subnet" { defaults = { id = "1001-10.0.1.0/24" } }
  mock_resource "hcloud_firewall" { defaults = { id = "2001" } }
  mock_resource "hcloud_placement_group" { defaults = { id = "3001" } }
  mock_resource "hcloud_ssh_key" { defaults = { id = "4001" } }
  mock_resource "hcloud_server" { defaults = { id = "5001", ipv4_address = "203.0.113.10", ipv6_address = "2001:db8::10" } }
  mock_resource "hcloud_load_balancer" { defaults = { id = "6001", ipv4 = "203.0.113.100", ipv6 = "2001:db8::100" } }
}
`;

function tofu(args: string[], cwd: string): string {
  const res = spawnSync('tofu', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TF_IN_AUTOMATION: '1' },
  });
  if (res.status !== 0) throw new Error(`tofu ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

maybe(
  'the module ops_inventory loads through the actions schema',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rke2ops-contract-'));
    try {
      const out = join(dir, 'ops_inventory.json');
      // A root configuration that calls the module and dumps ops_inventory with a provisioner
      // (terraform_data is built in, so it really runs inside `tofu test`).
      writeFileSync(
        join(dir, 'main.tf'),
        `
terraform {
  required_providers {
    hcloud = { source = "hetznercloud/hcloud" }
  }
}
variable "out" { type = string }
module "cluster" {
  source                 = "${join(root, 'module')}"
  cluster_name           = "contract"
  hcloud_token           = "${'a'.repeat(64)}"
  master_count           = 3
  worker_count           = 2
  health_check_urls      = ["https://lms.example.com/heartbeat"]
  rke2_install_script_url = "https://mirror.example.com/rke2/install.sh"
  rke2_extra_server_config = { "disable-kube-proxy" = "true" }
  cluster_configuration = {
    etcd_backup = {
      enabled       = true
      s3_bucket     = "contract-backups"
      s3_access_key = "CONTRACTACCESSKEY001"
      s3_secret_key = "ContractSecretKey0000000000000000000001"
    }
  }
  velero = { enabled = true }
  # Applied with a mocked hcloud: nothing may connect to the (mocked) servers (the node
  # channel and the upgrade chain are off with it, wait_for_cluster_ready on its own).
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}
resource "terraform_data" "dump" {
  input = module.cluster.ops_inventory
  provisioner "local-exec" {
    command     = "printf '%s' \\"$INV\\" > \\"$OUT\\""
    environment = { INV = jsonencode(module.cluster.ops_inventory), OUT = var.out }
  }
}
`,
      );
      mkdirSync(join(dir, 'tests'));
      writeFileSync(
        join(dir, 'tests', 'contract.tftest.hcl'),
        `${mocks}\nvariables {\n  out = "${out}"\n}\nrun "dump" {\n  command = apply\n}\n`,
      );
      tofu(['init', '-backend=false', '-input=false', '-no-color'], dir);
      expect(tofu(['test', '-no-color'], dir)).toMatch(/1 passed, 0 failed/);

      const text = readFileSync(out, 'utf8');
      // The mock gives every server the same address (one value per resource), which the
      // inventory rightly refuses as a duplicate; Hetzner gives each its own. Give each node a
      // distinct documentation address; everything else is checked exactly as tofu rendered it.
      const rendered = JSON.parse(text) as { masters: { address: string }[]; workers: { address: string }[] };
      [...rendered.masters, ...rendered.workers].forEach((node, i) => {
        expect(node.address).toBe('203.0.113.10');
        node.address = `203.0.113.${20 + i}`;
      });
      const { inventory, warnings } = parseInventory(JSON.stringify(rendered), 'ops_inventory');
      expect(warnings).toEqual([]);
      expect(inventory.cluster).toBe('contract');
      expect(inventory.masters.map((m) => m.name)).toEqual([
        'contract-master-0',
        'contract-master-1',
        'contract-master-2',
      ]);
      expect(inventory.workers).toHaveLength(2);
      expect(inventory.health.urls).toEqual(['https://lms.example.com/heartbeat']);
      // The RKE2 facts the actions act on come from the module's real settings.
      expect(inventory.rke2.kube_proxy).toBe(false);
      expect(inventory.rke2.install_command).toContain("'https://mirror.example.com/rke2/install.sh'");
      // Every node pinned by a real, distinct ed25519 host key from the first connection on.
      const targets = targetsFromInventory(inventory);
      expect(targets).toHaveLength(5);
      const keys = targets.map((t) => {
        expect(t.hostKeys).toHaveLength(1);
        return parseHostKey(t.hostKeys[0]!).blob.toString('base64');
      });
      expect(new Set(keys).size).toBe(5);
      // Where the etcd snapshots and the Velero backups are, as the masters upload them.
      // test/lab/snapshot-action.test.ts drives the snapshot action on the lab with this block
      // (S3 verification of <folder>/<file>); here the snapshot core's config reads the module's
      // inventory as rendered (below).
      expect(inventory.etcd_s3).toEqual({
        endpoint: 'fsn1.your-objectstorage.com',
        bucket: 'contract-backups',
        folder: 'contract',
        region: 'fsn1',
        insecure: false,
      });
      expect(inventory.velero).toEqual({ namespace: 'velero', schedule: 'velero-full-cluster' });
      // The snapshot action's config takes this inventory as its `inventory` input: the S3
      // location RKE2 uploads to (https, path style, region = location), where a file's object
      // and metadata are, Velero from the velero block, the master the snapshot is saved on.
      const secrets = new SecretRegistry();
      const inputs: Record<string, string> = {
        inventory: JSON.stringify(rendered),
        'ssh-key': makeKey().privateKey,
        's3-access-key': 'CONTRACTACCESSKEY',
        's3-secret-key': 'ContractSecretKey',
      };
      const snap = (await readSnapshotConfig((n) => inputs[n] ?? '', secrets)).snapshot;
      expect(snap.master.name).toBe('contract-master-0');
      expect(snap.level).toBe('s3');
      expect(snap.s3).toMatchObject({
        endpoint: 'fsn1.your-objectstorage.com',
        bucket: 'contract-backups',
        region: 'fsn1',
      });
      expect(endpointUrl(snap.s3!)).toBe('https://fsn1.your-objectstorage.com');
      const file = 'pre-upgrade-20270101T120000Z-3fa9c1-contract-master-0-1798804800.zip';
      expect(snapshotKey(snap.s3!, file)).toBe(`contract/${file}`);
      expect(metadataKey(snap.s3!, file)).toBe(`contract/.metadata/${file}.rke2-ops.json`);
      expect(snap.velero).toEqual({
        namespace: 'velero',
        schedule: 'velero-full-cluster',
        allowPartiallyFailed: false,
      });
      expect(secrets.redact('key ContractSecretKey')).not.toContain('ContractSecretKey');
      // And the inventory, as the actions receive it, carries no secret (S3 keys included).
      expect(text).not.toMatch(/PRIVATE KEY|aaaaaaaaaaaaaaaa|CONTRACTACCESSKEY|ContractSecretKey/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  180_000,
);
