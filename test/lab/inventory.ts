/**
 * The lab's inventory (design.md §3), checked with the repository's own validator
 * (src/inventory/load.ts) before it is written. Host keys are each node sshd's real ed25519
 * key; the SSH private key path is reported separately, never in the inventory.
 * `rke2.install_command` names the lab's install script (run with INSTALL_RKE2_VERSION and
 * INSTALL_RKE2_TYPE in its environment), the stand-in for `curl -sfL https://get.rke2.io | sh -`
 * that a real inventory leaves null.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateInventory } from '../../src/inventory/load.js';
import type { Inventory } from '../../src/inventory/schema.js';
import type { LabState } from './state.js';

export function buildInventory(state: LabState, version: string): { inventory: Inventory; path: string } {
  const node = (n: LabState['nodes'][number]) => ({
    name: n.name,
    address: n.address,
    host_keys: [n.hostKey],
  });
  const raw = {
    version: 1,
    cluster: state.name,
    ssh: { user: 'root', port: state.sshPort, bastion: null },
    masters: state.nodes.filter((n) => n.role === 'master').map(node),
    workers: state.nodes.filter((n) => n.role === 'worker').map(node),
    rke2: {
      version,
      data_dir: '/var/lib/rancher/rke2',
      kube_proxy: true,
      install_command: '/usr/local/bin/rke2-install.sh',
    },
    etcd_s3: {
      endpoint: state.s3.endpoint,
      bucket: state.s3.bucket,
      folder: state.s3.folder,
      region: state.s3.region,
      insecure: true,
    },
    velero: { namespace: 'velero', schedule: 'velero-full-cluster' },
    health: { urls: [] },
  };
  const { inventory } = validateInventory(raw, 'lab inventory');
  const path = join(state.dir, 'inventory.json');
  writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
  return { inventory, path };
}
