import { parseHostKey, fingerprint } from '../ssh/hostkeys.js';
import type { Inventory } from './schema.js';

export interface InventoryReport {
  cluster: string;
  rke2Version: string;
  nodes: { name: string; role: 'master' | 'worker'; address: string; hostKeyFingerprints: string[] }[];
  warnings: string[];
}

/** A summary of a validated inventory: what an operator checks before pointing tools at it. */
export function describeInventory(inv: Inventory, warnings: string[]): InventoryReport {
  const node = (role: 'master' | 'worker') => (n: Inventory['masters'][number]) => ({
    name: n.name,
    role,
    address: n.address,
    hostKeyFingerprints: n.host_keys.map((k) => fingerprint(parseHostKey(k).blob)),
  });
  return {
    cluster: inv.cluster,
    rke2Version: inv.rke2.version,
    nodes: [...inv.masters.map(node('master')), ...inv.workers.map(node('worker'))],
    warnings,
  };
}
