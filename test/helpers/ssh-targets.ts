import type { SshTarget } from '../../src/ssh/types.js';
import type { TestSshd } from './sshd.js';

export function targetOf(sshd: TestSshd, address: string, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    name: `node-${address}`,
    address,
    port: sshd.port,
    user: sshd.user,
    hostKeys: [sshd.hostKey],
    ...overrides,
  };
}
