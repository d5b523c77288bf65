import { jest } from '@jest/globals';
import { Command } from 'commander';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHealthConfig, parseSystemPods, parseUrlLine } from '../../src/health/config.js';
import { execute as main } from '../../src/actions/health-check/main.js';
import { registerHealth } from '../../src/cli/commands/health.js';
import type { HealthIo } from '../../src/health/deps.js';
import { makeKey } from '../helpers/keys.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { Connector } from '../../src/kube/probe-runner.js';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFs2PnED7x6JVRbEZIBXMH4j0KSKIWpAEtnC0+4N2PO';
const KEY = makeKey().privateKey;
const ENCRYPTED = makeKey({ passphrase: 'correct horse' });

const inventory = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    cluster: 'lab',
    masters: [0, 1, 2].map((i) => ({
      name: `lab-master-${i}`,
      address: `127.0.1.${10 + i}`,
      host_keys: [HOST_KEY],
    })),
    workers: [{ name: 'lab-worker-0', address: '127.0.2.10', host_keys: [HOST_KEY] }],
    rke2: { version: 'v1.34.4+rke2r1' },
    ...over,
  });

const source = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('health-check inputs', () => {
  test('an inventory gives masters, node names, count, data dir and the RKE2 default pods', async () => {
    const secrets = new SecretRegistry();
    const cfg = await readHealthConfig(source({ inventory: inventory(), 'ssh-key': KEY }), secrets);
    expect(cfg.health.masters.map((m) => m.name)).toEqual(['lab-master-0', 'lab-master-1', 'lab-master-2']);
    expect(cfg.health.expectations.nodeCount).toBe(4);
    expect(cfg.health.expectations.masterNames).toHaveLength(3);
    expect(cfg.health.expectations.pods.map((p) => `${p.namespace} ${p.selector} ${p.count.kind}`)).toEqual([
      'kube-system k8s-app=kube-dns min',
      'kube-system component=kube-proxy per-node',
      'kube-system app.kubernetes.io/name=hcloud-cloud-controller-manager min',
      'kube-system component=etcd per-master',
      'kube-system component=kube-apiserver per-master',
    ]);
    expect(cfg.health.dataDir).toBe('/var/lib/rancher/rke2');
    expect(cfg.health.timeoutSeconds).toBe(600);
    expect(cfg.failOnUnhealthy).toBe(true);
    // The key is a secret from the moment it was read.
    expect(secrets.redact(`x ${KEY.split('\n')[1]} y`)).toBe('x *** y');
  });

  test('rke2.kube_proxy: false skips the kube-proxy requirement', async () => {
    const cfg = await readHealthConfig(
      source({
        inventory: inventory({ rke2: { version: 'v1.34.4+rke2r1', kube_proxy: false } }),
        'ssh-key': KEY,
      }),
      new SecretRegistry(),
    );
    expect(
      cfg.health.expectations.pods.find((p) => p.selector === 'component=kube-proxy')!.skipReason,
    ).toMatch(/kube_proxy: false/);
  });

  test('explicit host mode with keys from known_hosts', async () => {
    const cfg = await readHealthConfig(
      source({
        host: '127.0.1.10',
        'ssh-port': '2222',
        'known-hosts': `[127.0.1.10]:2222 ${HOST_KEY}\n`,
        'ssh-key': KEY,
      }),
      new SecretRegistry(),
    );
    expect(cfg.health.masters).toEqual([
      expect.objectContaining({ address: '127.0.1.10', port: 2222, hostKeys: [HOST_KEY] }),
    ]);
    expect(cfg.health.expectations.nodeCount).toBeUndefined();
  });

  test('system-pods lines, with defaults and counts; urls with status and body', () => {
    const pods = parseSystemPods(
      'defaults\nvelero app.kubernetes.io/name=velero\nkube-system k8s-app=canal per-node\nx a=b 2',
      true,
    );
    expect(pods).toHaveLength(8);
    expect(pods.slice(5).map((p) => p.count)).toEqual([
      { kind: 'min', min: 1 },
      { kind: 'per-node' },
      { kind: 'min', min: 2 },
    ]);
    expect(
      parseUrlLine('https://lms.example.com/heartbeat status=200,204 body=/"status": ?"ok"/', 'urls'),
    ).toEqual({
      url: 'https://lms.example.com/heartbeat',
      status: [
        { min: 200, max: 200 },
        { min: 204, max: 204 },
      ],
      body: '/"status": ?"ok"/',
    });
    expect(parseUrlLine('http://127.0.0.1:8080/ status=200-299 body=all good', 'urls').body).toBe('all good');
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'malformed inventory JSON',
      { inventory: '{"version": 1, "cluster": ', 'ssh-key': KEY },
      /inventory(-file)?: is not valid JSON/,
    ],
    [
      'inventory with a bad field',
      { inventory: inventory({ cluster: 'Prod EU' }), 'ssh-key': KEY },
      /\.cluster\)?: must be a cluster name/,
    ],
    [
      'unreadable inventory file',
      { 'inventory-file': '/nonexistent/inv.json', 'ssh-key': KEY },
      /cannot be read \(ENOENT\)/,
    ],
    ['no inventory', { 'ssh-key': KEY }, /give `inventory`/],
    ['missing ssh key', { inventory: inventory() }, /ssh-key: is required/],
    [
      'not a key',
      { inventory: inventory(), 'ssh-key': 'hunter2hunter2' },
      /ssh-key: is not a private key ssh2 can read/,
    ],
    [
      'a public key given as the key',
      { inventory: inventory(), 'ssh-key': makeKey().publicLine },
      /ssh-key: (holds a public key|is not a private key)/,
    ],
    [
      'an encrypted key without its passphrase',
      { inventory: inventory(), 'ssh-key': ENCRYPTED.privateKey },
      /ssh-key: the key is passphrase-protected and no ssh-key-passphrase was given/,
    ],
    [
      'an encrypted key with the wrong passphrase',
      { inventory: inventory(), 'ssh-key': ENCRYPTED.privateKey, 'ssh-key-passphrase': 'wrong' },
      /(ssh-key-passphrase|RKE2OPS_SSH_KEY_PASSPHRASE): does not decrypt/,
    ],
    [
      'ssh-user beside an inventory',
      { inventory: inventory(), 'ssh-key': KEY, 'ssh-user': 'admin' },
      /ssh-user: is only for `host`: the inventory sets ssh.user/,
    ],
    [
      'ssh-port beside an inventory',
      { inventory: inventory(), 'ssh-key': KEY, 'ssh-port': '2222' },
      /ssh-port: is only for `host`: the inventory sets ssh.port/,
    ],
    [
      'a host name longer than DNS allows',
      {
        host: `${'a'.repeat(60)}.`.repeat(5) + 'example',
        'ssh-key': KEY,
        'insecure-skip-host-key-verification': 'true',
      },
      /host: .* is not an IPv4\/IPv6 address or a host name/,
    ],
    [
      'bad ssh-check',
      { inventory: inventory(), 'ssh-key': KEY, 'ssh-check': 'workers' },
      /ssh-check: must be one of all, masters, none/,
    ],
    [
      'bad URL',
      { inventory: inventory(), 'ssh-key': KEY, urls: 'lms.example.com/heartbeat' },
      /(urls|--url): "lms.example.com\/heartbeat" is not a valid URL/,
    ],
    [
      'non-http URL',
      { inventory: inventory(), 'ssh-key': KEY, urls: 'file:///etc/passwd' },
      /only http and https/,
    ],
    [
      'bad status',
      { inventory: inventory(), 'ssh-key': KEY, urls: 'https://a.example status=abc' },
      /not an HTTP status/,
    ],
    [
      'negative timeout',
      { inventory: inventory(), 'ssh-key': KEY, timeout: '-5' },
      /timeout: must be a positive duration/,
    ],
    [
      'zero poll interval',
      { inventory: inventory(), 'ssh-key': KEY, 'poll-interval': '0' },
      /poll-interval: must be greater than zero/,
    ],
    [
      'selector with $()',
      { inventory: inventory(), 'ssh-key': KEY, 'system-pods': 'kube-system k8s-app=$(reboot)' },
      /system-pods: .* is not a valid label selector/,
    ],
    [
      'selector with ;',
      { inventory: inventory(), 'ssh-key': KEY, 'system-pods': 'kube-system a=b;rm' },
      /system-pods: .* is not a valid label selector/,
    ],
    [
      'namespace with `',
      { inventory: inventory(), 'ssh-key': KEY, 'system-pods': 'kube`id` a=b' },
      /system-pods: .* is not a valid namespace/,
    ],
    [
      'bad count',
      { inventory: inventory(), 'ssh-key': KEY, 'system-pods': 'kube-system a=b 0' },
      /count must be/,
    ],
    [
      'bad version',
      { inventory: inventory(), 'ssh-key': KEY, 'expected-version': '1.34; reboot' },
      /expected-version: .* is not a valid RKE2 version/,
    ],
    [
      'bad node count',
      { inventory: inventory(), 'ssh-key': KEY, 'expected-nodes': '-1' },
      /expected-nodes: must be at least 1/,
    ],
    [
      'bad data dir',
      { inventory: inventory(), 'ssh-key': KEY, 'data-dir': '/var/lib/../../etc' },
      /data-dir: .* is not a safe absolute path/,
    ],
    [
      'host with metacharacters',
      { host: '127.0.0.1;id', 'ssh-key': KEY, 'insecure-skip-host-key-verification': 'true' },
      /host: .* is not an IPv4\/IPv6 address or a host name/,
    ],
    [
      'host without a host key',
      { host: '127.0.1.10', 'ssh-key': KEY },
      /known-hosts: no host key for 127.0.1.10/,
    ],
    [
      'bad boolean',
      { inventory: inventory(), 'ssh-key': KEY, 'fail-on-unhealthy': 'yes' },
      /fail-on-unhealthy: must be true or false/,
    ],
  ];

  describe.each(bad)('%s', (_label, values, message) => {
    const deps = (): { deps: HealthIo; connect: jest.Mock<Connector> } => {
      const connect = jest.fn<Connector>();
      return {
        connect,
        deps: { connect, clock: { now: () => 0, sleep: async () => {} }, fetch: jest.fn() as never },
      };
    };

    test('the action fails with a clear error before any connection', async () => {
      const { connect, deps: d } = deps();
      const ctx = { logger: silentLogger, secrets: new SecretRegistry(), getInput: source(values) };
      await expect(main(ctx, d)).rejects.toThrow(message);
      expect(connect).not.toHaveBeenCalled();
    });

    test('the CLI fails the same way before any connection', async () => {
      const { connect, deps: d } = deps();
      const dir = mkdtempSync(join(tmpdir(), 'health-cli-'));
      const argv = ['node', 'rke2-ops', 'health'];
      if (values['inventory']) {
        writeFileSync(join(dir, 'inv.json'), values['inventory']);
        argv.push('-i', join(dir, 'inv.json'));
      }
      if (values['inventory-file']) argv.push('-i', values['inventory-file']);
      if (values['ssh-key']) {
        writeFileSync(join(dir, 'key'), values['ssh-key']);
        argv.push('--ssh-key', join(dir, 'key'));
      }
      const flag: Record<string, string> = {
        urls: '--url',
        timeout: '--timeout',
        'poll-interval': '--poll-interval',
        'system-pods': '--system-pods',
        'expected-version': '--expected-version',
        'expected-nodes': '--expected-nodes',
        host: '--host',
        'ssh-user': '--user',
        'ssh-port': '--port',
        'ssh-check': '--ssh-check',
      };
      for (const [k, f] of Object.entries(flag)) if (values[k]) argv.push(f, values[k]!);
      if (values['insecure-skip-host-key-verification']) argv.push('--insecure-skip-host-key-verification');
      // data-dir and fail-on-unhealthy have no CLI flag (or a different shape): the action test covers them.
      if (values['data-dir'] || values['fail-on-unhealthy']) return;
      const program = new Command('rke2-ops').exitOverride();
      registerHealth(program, d);
      const saved = process.env.RKE2OPS_SSH_KEY;
      delete process.env.RKE2OPS_SSH_KEY;
      if (values['ssh-key-passphrase']) process.env.RKE2OPS_SSH_KEY_PASSPHRASE = values['ssh-key-passphrase'];
      // The CLI names its flags; the message is otherwise the same.
      const cliMessage = new RegExp(
        message.source
          .replace(/^ssh-key:/, '--ssh-key:')
          .replace(/^ssh-user:/, '--user:')
          .replace(/^ssh-port:/, '--port:')
          .replace(/^ssh-check:/, '--ssh-check:')
          .replace(/^host:/, '--host:')
          .replace(/^expected-version:/, '--expected-version:')
          .replace(/^expected-nodes:/, '--expected-nodes:')
          .replace(/^system-pods:/, '--system-pods:')
          .replace(/^timeout:/, '--timeout:')
          .replace(/^poll-interval:/, '--poll-interval:'),
      );
      try {
        await expect(program.parseAsync(argv)).rejects.toThrow(cliMessage);
      } finally {
        if (saved !== undefined) process.env.RKE2OPS_SSH_KEY = saved;
        delete process.env.RKE2OPS_SSH_KEY_PASSPHRASE;
      }
      expect(connect).not.toHaveBeenCalled();
    });
  });
});
