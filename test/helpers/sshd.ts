/**
 * A real OpenSSH server for tests: its own config, host key, authorized key and loopback
 * addresses (all of 127.0.0.0/8 routes to lo, so one sshd can listen on many addresses).
 * Started per test file; `stop()` kills it and removes its files.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface TestSshd {
  addresses: string[];
  port: number;
  user: string;
  /** Host public key line (`ssh-ed25519 AAAA...`). */
  hostKey: string;
  /** Client private key (OpenSSH format) authorised on the server. */
  clientKey: string;
  /** The same key as a file and its public line, to authorise it on another test server. */
  client: { privatePath: string; publicLine: string };
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  addresses: string[];
  /** sshd LogLevel (DEBUG1 shows forwarding requests). */
  logLevel?: string;
  /** Reuse a client key so several servers accept the same key. */
  clientKey?: { privatePath: string; publicLine: string };
  /** Listen on this port (e.g. another server's, on other addresses: one inventory ssh.port). */
  port?: number;
  /** Reuse a host key file, so a restarted server presents the same key. */
  hostKeyFile?: string;
}

const SSHD = '/usr/sbin/sshd';

export function sshdAvailable(): boolean {
  return existsSync(SSHD);
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

export function makeClientKey(dir: string): { privatePath: string; publicLine: string } {
  const privatePath = join(mkdtempSync(join(dir, 'key-')), 'client_key');
  return { privatePath, publicLine: keygen(privatePath) };
}

function waitForPort(address: string, port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection({ host: address, port }, () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${address}:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startSshd(options: SshdOptions): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-sshd-'));
  const user = userInfo().username;
  let hostKey: string;
  if (options.hostKeyFile) {
    execFileSync('cp', [options.hostKeyFile, join(dir, 'host_key')]);
    execFileSync('chmod', ['600', join(dir, 'host_key')]);
    hostKey = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'host_key')], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
  } else hostKey = keygen(join(dir, 'host_key'));
  const client = options.clientKey ?? makeClientKey(dir);
  writeFileSync(join(dir, 'authorized_keys'), `${client.publicLine}\n`, { mode: 0o600 });
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  // Privilege separation directory; nothing on these machines creates it (no systemd).
  if (user === 'root') mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const logFile = join(dir, 'sshd.log');

  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? 20000 + Math.floor(Math.random() * 20000);
    const config = [
      `Port ${port}`,
      ...options.addresses.map((a) => `ListenAddress ${a}`),
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'MaxStartups 200',
      'MaxSessions 100',
      `LogLevel ${options.logLevel ?? 'ERROR'}`,
      // Sessions get an empty HOME: the host user's dotfiles (pyenv init on these machines,
      // whose rehash lock can stall a session for 60 s) are not what the tests exercise.
      `SetEnv HOME=${join(dir, 'home')}`,
    ].join('\n');
    writeFileSync(join(dir, 'sshd_config'), `${config}\n`);
    execFileSync(SSHD, ['-t', '-f', join(dir, 'sshd_config')]);
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-E', logFile], {
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 5000;
    const ready = Promise.all(options.addresses.map((a) => waitForPort(a, port, deadline)));
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      exited.then(() => 'exited' as const),
    ]).catch(() => 'timeout' as const);
    if (outcome === 'ready') {
      return {
        addresses: options.addresses,
        port,
        user,
        hostKey,
        clientKey: readFileSync(client.privatePath, 'utf8'),
        client,
        dir,
        logFile,
        async stop() {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            await exited;
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited; // port taken (another test's sshd): try another
    if (options.port) break;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('could not start a test sshd');
}
