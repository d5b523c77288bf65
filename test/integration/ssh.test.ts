/**
 * The SSH core against a real OpenSSH server on loopback: exit codes and both streams, a
 * timeout that really stops the remote command, a wrong host key refused before anything
 * runs, a jump host, and fan-out where some hosts are down.
 */
import { jest } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, SshError } from '../../src/ssh/connection.js';
import { fanOut } from '../../src/ssh/fanout.js';
import { SshPool } from '../../src/ssh/pool.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { quoteArgv, sh, bashScript } from '../../src/lib/quote.js';
import { startSshd, makeClientKey, type TestSshd } from '../helpers/sshd.js';
import { targetOf } from '../helpers/ssh-targets.js';
import type { SshTarget } from '../../src/ssh/types.js';

// A hang guard, not a speed check: a loaded 2-core CI machine can take seconds per handshake.
jest.setTimeout(30_000);

const ADDRESSES = Array.from({ length: 11 }, (_, i) => `127.0.200.${i + 1}`);
let sshd: TestSshd;
const fast = { attempts: 1, readyTimeoutMs: 3000 };

beforeAll(async () => {
  sshd = await startSshd({ addresses: ADDRESSES });
});
afterAll(async () => {
  await sshd?.stop();
});

const creds = () => ({ credentials: { privateKey: sshd.clientKey }, options: fast });

describe('exec', () => {
  test('returns exit code and both streams separately', async () => {
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), creds());
    try {
      const result = await shell.exec(bashScript(['echo out-line', 'echo err-line >&2', 'exit 7']));
      expect(result.code).toBe(7);
      expect(result.stdout).toBe('out-line\n');
      expect(result.stderr).toBe('err-line\n');
      expect(result.timedOut).toBe(false);
      const ok = await shell.exec(quoteArgv(['true']));
      expect(ok.code).toBe(0);
    } finally {
      shell.close();
    }
  });

  test('strict mode: a failing command in the middle of a script fails the script', async () => {
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), creds());
    try {
      const result = await shell.exec(bashScript(['false | cat', 'echo not-reached']));
      expect(result.code).not.toBe(0);
      expect(result.stdout).not.toContain('not-reached');
    } finally {
      shell.close();
    }
  });

  test('a timeout fires and the remote command is killed', async () => {
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), creds());
    try {
      const marker = `${Date.now() % 100000}.517`; // a sleep length no other process uses
      const started = Date.now();
      const result = await shell.exec(sh`sleep ${marker}`.text, { timeoutMs: 500 });
      expect(result.timedOut).toBe(true);
      expect(result.code).toBeNull();
      expect(Date.now() - started).toBeLessThan(20_000);
      // The signal must have reached the remote process, not just our side of the channel.
      let remaining = '';
      for (let i = 0; i < 20; i++) {
        // `[s]leep` matches the sleep but not this probe's own command line.
        const probe = await shell.exec(bashScript([sh`pgrep -f ${'[s]leep ' + marker} || true`.text]));
        remaining = probe.stdout.trim();
        if (!remaining) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(remaining).toBe('');
    } finally {
      shell.close();
    }
  }, 20_000);

  test('output capture is bounded', async () => {
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), creds());
    try {
      const result = await shell.exec(sh`head -c 100000 /dev/zero`.text, { maxOutputBytes: 1000 });
      expect(result.code).toBe(0);
      expect(result.stdout.length).toBe(1000);
      expect(result.truncated).toBe(true);
    } finally {
      shell.close();
    }
  });

  test('secrets are redacted from captured output and from the command shown', async () => {
    const secrets = new SecretRegistry();
    secrets.add('K10-super-secret-token');
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), { ...creds(), secrets });
    try {
      const result = await shell.exec(
        sh`echo token=${'K10-super-secret-token'}; echo ${'K10-super-secret-token'} >&2`.text,
      );
      expect(result.stdout).toBe('token=***\n');
      expect(result.stderr).toBe('***\n');
      expect(result.command).not.toContain('K10-super-secret-token');
    } finally {
      shell.close();
    }
  });

  test('stdin is passed to the command', async () => {
    const shell = await connect(targetOf(sshd, ADDRESSES[0]!), creds());
    try {
      const result = await shell.exec('cat', { stdin: 'hello\nworld' });
      expect(result.stdout).toBe('hello\nworld');
    } finally {
      shell.close();
    }
  });
});

describe('host keys', () => {
  test('a wrong pinned host key is refused before any command runs', async () => {
    const other = makeClientKey(sshd.dir); // any other ed25519 key stands in for an impostor's
    const wrongPin = other.publicLine;
    const marker = join(sshd.dir, 'must-not-exist');
    const target = targetOf(sshd, ADDRESSES[1]!, { hostKeys: [wrongPin] });
    const attempt = connect(target, creds()).then((s) => s.exec(sh`touch ${marker}`.text));
    await expect(attempt).rejects.toThrow(/host key verification failed/);
    await expect(attempt).rejects.toBeInstanceOf(SshError);
    expect(existsSync(marker)).toBe(false);
  });

  test('a wrong key is not retried (no backoff on a trust failure)', async () => {
    const target = targetOf(sshd, ADDRESSES[1]!, { hostKeys: [makeClientKey(sshd.dir).publicLine] });
    const started = Date.now();
    await expect(
      connect(target, {
        credentials: { privateKey: sshd.clientKey },
        options: { attempts: 5, minBackoffMs: 2000 },
      }),
    ).rejects.toThrow(/host key/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('no pinned key is an error unless verification is explicitly skipped, with a warning', async () => {
    const target = targetOf(sshd, ADDRESSES[1]!, { hostKeys: [] });
    await expect(connect(target, creds())).rejects.toThrow(/no host key to verify against/);
    const warnings: string[] = [];
    const logger = {
      info() {},
      debug() {},
      error() {},
      warning: (m: string) => warnings.push(m),
      group: <T>(_: string, fn: () => Promise<T>) => fn(),
    };
    const shell = await connect({ ...target, insecureSkipHostKeyVerification: true }, { ...creds(), logger });
    shell.close();
    expect(warnings.join('\n')).toMatch(/host key verification is DISABLED/);
  });
});

describe('jump host', () => {
  let bastion: TestSshd;
  beforeAll(async () => {
    // A separate sshd as bastion, logging forwarding requests so the test can see the hop.
    bastion = await startSshd({
      addresses: ['127.0.201.1'],
      logLevel: 'DEBUG1',
      clientKey: sshd.client,
    });
  });
  afterAll(async () => {
    await bastion?.stop();
  });

  test('reaches a node through the bastion, verifying both host keys', async () => {
    const jump: SshTarget = targetOf(bastion, '127.0.201.1', { name: 'bastion' });
    const shell = await connect(targetOf(sshd, ADDRESSES[2]!, { bastion: jump }), creds());
    try {
      const result = await shell.exec('echo via-bastion');
      expect(result.stdout).toBe('via-bastion\n');
    } finally {
      shell.close();
    }
    const log = readFileSync(bastion.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`direct-tcpip.*${ADDRESSES[2]!.replace(/\./g, '\\.')}`, 's'));
  });

  test('an inner target without a pinned key is refused before the bastion is contacted', async () => {
    const jump: SshTarget = targetOf(bastion, '127.0.201.1', { name: 'bastion' });
    const logins = () => (readFileSync(bastion.logFile, 'utf8').match(/Accepted publickey/g) ?? []).length;
    const before = logins();
    await expect(
      connect(targetOf(sshd, ADDRESSES[2]!, { bastion: jump, hostKeys: [] }), creds()),
    ).rejects.toThrow(/no host key to verify against/);
    expect(logins()).toBe(before);
  });

  test('the inner hop host key is verified separately', async () => {
    const jump: SshTarget = targetOf(bastion, '127.0.201.1', { name: 'bastion' });
    const inner = targetOf(sshd, ADDRESSES[2]!, { bastion: jump, hostKeys: [bastion.hostKey] });
    await expect(connect(inner, creds())).rejects.toThrow(/host key verification failed/);
  });
});

describe('fan-out', () => {
  let blackhole: Server;
  let blackholePort = 0;
  const held: Socket[] = [];
  beforeAll(async () => {
    // Accepts TCP and never speaks SSH: the handshake timeout must end it.
    blackhole = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.202.1', () => r()));
    blackholePort = (blackhole.address() as { port: number }).port;
  });
  afterAll(async () => {
    held.forEach((s) => s.destroy());
    await new Promise((r) => blackhole.close(r));
  });

  test('one result per host; hosts that are down are reported, the others succeed', async () => {
    const targets: SshTarget[] = [
      ...ADDRESSES.map((a) => targetOf(sshd, a)),
      targetOf(sshd, '127.0.202.9', { name: 'refusing' }), // nothing listens: refused at once
      { ...targetOf(sshd, '127.0.202.1', { name: 'silent' }), port: blackholePort },
    ];
    const pool = new SshPool({
      credentials: { privateKey: sshd.clientKey },
      options: { attempts: 1, readyTimeoutMs: 1500 },
    });
    try {
      const results = await fanOut(
        targets,
        async (t) => (await (await pool.get(t)).exec('hostname -I >/dev/null; echo ok')).stdout.trim(),
        {
          concurrency: 4,
        },
      );
      expect(results.map((r) => r.host)).toEqual(targets.map((t) => t.name));
      const ok = results.filter((r) => r.ok);
      expect(ok).toHaveLength(ADDRESSES.length);
      ok.forEach((r) => expect(r.ok && r.value).toBe('ok'));
      const failed = Object.fromEntries(
        results.filter((r) => !r.ok).map((r) => [r.host, !r.ok ? r.error : '']),
      );
      expect(Object.keys(failed).sort()).toEqual(['refusing', 'silent']);
      expect(failed.refusing).toMatch(/refusing: .*ECONNREFUSED/);
      expect(failed.silent).toMatch(/silent: .*(timed out|handshake)/i);
    } finally {
      await pool.closeAll();
    }
  }, 30_000);

  test('connect retries transient failures with backoff, then reports the host', async () => {
    const logs: string[] = [];
    const logger = {
      info: (m: string) => logs.push(m),
      debug() {},
      error() {},
      warning() {},
      group: <T>(_: string, fn: () => Promise<T>) => fn(),
    };
    const target = targetOf(sshd, '127.0.202.9', { name: 'refusing' });
    await expect(
      connect(target, {
        credentials: { privateKey: sshd.clientKey },
        logger,
        options: { attempts: 3, minBackoffMs: 10, maxBackoffMs: 20 },
      }),
    ).rejects.toThrow(/refusing/);
    expect(logs.filter((l) => /connect attempt \d of 3 failed/.test(l))).toHaveLength(2);
  });
});
