import type { Inventory, InventoryNode } from './schema.js';
import type { SshTarget } from '../ssh/types.js';
import { knownHostsKeys } from '../ssh/hostkeys.js';

export interface TargetOptions {
  /** known_hosts text: used for nodes whose inventory entry has no host_keys. */
  knownHosts?: string;
  insecureSkipHostKeyVerification?: boolean;
}

export type NodeRole = 'master' | 'worker';

export interface ClusterTarget extends SshTarget {
  role: NodeRole;
  /** Position within its role; masters[0] is the initial server. */
  index: number;
}

/** SSH targets for every node of the inventory, masters first (masters[0] = initial server). */
export function targetsFromInventory(inv: Inventory, options: TargetOptions = {}): ClusterTarget[] {
  const bastion: SshTarget | null = inv.ssh.bastion
    ? {
        name: inv.ssh.bastion.name,
        address: inv.ssh.bastion.address,
        port: inv.ssh.bastion.port,
        user: inv.ssh.bastion.user,
        hostKeys: pinsFor(inv.ssh.bastion.host_keys, inv.ssh.bastion.address, inv.ssh.bastion.port, options),
        insecureSkipHostKeyVerification: options.insecureSkipHostKeyVerification ?? false,
        bastion: null,
      }
    : null;
  const make = (node: InventoryNode, role: NodeRole, index: number): ClusterTarget => ({
    name: node.name,
    address: node.address,
    port: inv.ssh.port,
    user: inv.ssh.user,
    hostKeys: pinsFor(node.host_keys, node.address, inv.ssh.port, options),
    insecureSkipHostKeyVerification: options.insecureSkipHostKeyVerification ?? false,
    bastion,
    role,
    index,
  });
  return [
    ...inv.masters.map((n, i) => make(n, 'master', i)),
    ...inv.workers.map((n, i) => make(n, 'worker', i)),
  ];
}

function pinsFor(keys: readonly string[], address: string, port: number, options: TargetOptions): string[] {
  if (keys.length > 0) return [...keys];
  if (!options.knownHosts) return [];
  return knownHostsKeys(options.knownHosts, address, port).map(
    (k) => `${k.type} ${k.blob.toString('base64')}`,
  );
}
