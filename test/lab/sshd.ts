/**
 * One real OpenSSH sshd per lab node, on the node's loopback address, with its own ed25519
 * host key, started inside its own mount namespace (`unshare --mount --propagation private`)
 * where the node's directories are bind-mounted over /etc/rancher, /var/lib/rancher and
 * /usr/local/bin. Every SSH session - and every daemon a session starts - sees that node's
 * filesystem at the real RKE2 paths; the host's stay untouched. Needs root (mount namespaces,
 * bind mounts, sshd).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MARKER } from './procs.js';

export interface SshdNode {
  name: string;
  address: string;
  port: number;
  /** Node directory: etc-rancher/, var-lib-rancher/, usr-local-bin/, sshd/. */
  dir: string;
}

export const NODE_MOUNTS: [string, string][] = [
  ['etc-rancher', '/etc/rancher'],
  ['var-lib-rancher', '/var/lib/rancher'],
  ['usr-local-bin', '/usr/local/bin'],
];

export function writeSshdConfig(
  node: SshdNode,
  labId: string,
  authorizedKeys: string,
  sshdBin: string,
): string {
  const cfg = join(node.dir, 'sshd', 'sshd_config');
  mkdirSync(join(node.dir, 'home'), { recursive: true, mode: 0o700 });
  writeFileSync(
    cfg,
    [
      `ListenAddress ${node.address}:${node.port}`,
      `HostKey ${join(node.dir, 'sshd', 'ssh_host_ed25519_key')}`,
      `PidFile ${join(node.dir, 'sshd', 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PrintMotd no',
      'MaxStartups 200:30:400',
      'MaxSessions 100',
      'LogLevel ERROR',
      // The marker reaches every session and all it starts: `down` finds them by it. HOME is
      // the node's own: root's dotfiles on the host (pyenv init, whose rehash lock can hang a
      // session for 60 s) must not run in a node's sessions - a real node has none of them.
      `SetEnv ${MARKER}=${labId} ${MARKER}_NODE=${node.name} HOME=${join(node.dir, 'home')}`,
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  void sshdBin;
  return cfg;
}

export async function startSshd(node: SshdNode, labId: string, sshdBin: string): Promise<number> {
  mkdirSync('/run/sshd', { recursive: true });
  for (const [, target] of NODE_MOUNTS) mkdirSync(target, { recursive: true });
  const binds = NODE_MOUNTS.map(([src, target]) => `mount --bind "${join(node.dir, src)}" ${target}`).join(
    ' && ',
  );
  const cfg = join(node.dir, 'sshd', 'sshd_config');
  const logFd = openSync(join(node.dir, 'sshd', 'sshd.log'), 'a');
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      `${binds} && exec "$0" -D -e -f "$1"`,
      sshdBin,
      cfg,
    ],
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        [MARKER]: labId,
        [`${MARKER}_NODE`]: node.name,
      },
    },
  );
  closeSync(logFd);
  child.unref();
  if (!child.pid) throw new Error(`cannot start sshd for ${node.name}`);
  if (!(await waitPort(node.address, node.port, 10_000))) {
    throw new Error(
      `sshd for ${node.name} did not listen on ${node.address}:${node.port} (see ${join(node.dir, 'sshd', 'sshd.log')})`,
    );
  }
  return child.pid;
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

export async function waitPort(host: string, port: number, timeoutMs: number, open = true): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await portOpen(host, port)) === open) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
