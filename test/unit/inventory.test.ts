/* eslint-disable @typescript-eslint/no-explicit-any -- the tests mutate documents freely into invalid shapes */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseInventory,
  loadInventoryFile,
  InventoryError,
  targetsFromInventory,
} from '../../src/inventory/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rke2ops-inv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hostKey(name: string, type = 'ed25519'): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'comment', '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
}

const k0 = hostKey('k0');
const k1 = hostKey('k1', 'ecdsa');
const k2 = hostKey('k2', 'rsa');

function valid(): Record<string, any> {
  return {
    version: 1,
    cluster: 'prod-eu',
    ssh: { user: 'root', port: 22, bastion: null },
    masters: [
      { name: 'prod-eu-master-0', address: '203.0.113.10', host_keys: [k0] },
      { name: 'prod-eu-master-1', address: '203.0.113.11', host_keys: [k1] },
      { name: 'prod-eu-master-2', address: '2001:db8::12', host_keys: [k2] },
    ],
    workers: [{ name: 'prod-eu-worker-0', address: 'worker-0.example.com', host_keys: [k0] }],
    rke2: {
      version: 'v1.34.4+rke2r1',
      data_dir: '/var/lib/rancher/rke2',
      kube_proxy: true,
      install_command: null,
    },
    etcd_s3: {
      endpoint: 'fsn1.your-objectstorage.com',
      bucket: 'b-etcd',
      folder: 'prod-eu',
      region: 'fsn1',
      insecure: false,
    },
    velero: { namespace: 'velero', schedule: 'velero-full-cluster' },
    health: { urls: ['https://lms.example.com/heartbeat'] },
  };
}

function errorFor(doc: unknown): string {
  try {
    parseInventory(JSON.stringify(doc));
  } catch (error) {
    expect(error).toBeInstanceOf(InventoryError);
    return (error as Error).message;
  }
  throw new Error('expected the inventory to be rejected');
}

describe('valid inventories load', () => {
  test('the design.md document, with defaults applied where keys are omitted', () => {
    const { inventory, warnings } = parseInventory(JSON.stringify(valid()));
    expect(inventory.masters.map((m) => m.name)).toEqual([
      'prod-eu-master-0',
      'prod-eu-master-1',
      'prod-eu-master-2',
    ]);
    expect(warnings).toEqual([]);
    const minimal = {
      version: 1,
      cluster: 'c1',
      masters: [{ name: 'm0', address: '10.0.0.1' }],
      rke2: { version: 'v1.33.1+rke2r1' },
    };
    const loaded = parseInventory(JSON.stringify(minimal)).inventory;
    expect(loaded.ssh).toEqual({ user: 'root', port: 22, bastion: null });
    expect(loaded.workers).toEqual([]);
    expect(loaded.rke2.data_dir).toBe('/var/lib/rancher/rke2');
    expect(loaded.rke2.kube_proxy).toBe(true);
    expect(loaded.etcd_s3).toBeNull();
  });

  test('`tofu output -json ops_inventory` (value wrapper) and the whole `tofu output -json` map', () => {
    const wrapper = { sensitive: false, type: ['object', {}], value: valid() };
    expect(parseInventory(JSON.stringify(wrapper)).inventory.cluster).toBe('prod-eu');
    const all = { ops_inventory: wrapper, ssh_private_key: { sensitive: true, type: 'string', value: 'x' } };
    expect(parseInventory(JSON.stringify(all)).inventory.cluster).toBe('prod-eu');
  });

  test('from a file, and an even number of masters warns', async () => {
    const doc = valid();
    doc.masters = doc.masters.slice(0, 2);
    const path = join(dir, 'inv.json');
    writeFileSync(path, JSON.stringify(doc));
    const { warnings } = await loadInventoryFile(path);
    expect(warnings.join()).toMatch(/odd number/);
    await expect(loadInventoryFile(join(dir, 'missing.json'))).rejects.toThrow(
      /inventory-file: "[^"]*missing.json" cannot be read \(ENOENT\)/,
    );
  });

  test('targets: masters first, role and index, bastion carried, known_hosts used when no host_keys', () => {
    const doc = valid();
    doc.workers[0].host_keys = [];
    doc.ssh.bastion = { name: 'jump', address: '198.51.100.1', port: 2222, user: 'ops', host_keys: [k1] };
    const { inventory } = parseInventory(JSON.stringify(doc));
    const knownHosts = `worker-0.example.com ${k2}\n`;
    const targets = targetsFromInventory(inventory, { knownHosts });
    expect(targets.map((t) => `${t.role}:${t.index}:${t.name}`)).toEqual([
      'master:0:prod-eu-master-0',
      'master:1:prod-eu-master-1',
      'master:2:prod-eu-master-2',
      'worker:0:prod-eu-worker-0',
    ]);
    expect(targets[3]!.hostKeys).toEqual([k2.split(' ').slice(0, 2).join(' ')]);
    expect(targets[0]!.bastion?.address).toBe('198.51.100.1');
    expect(targets[0]!.bastion?.hostKeys).toEqual([k1]);
  });
});

describe('malformed inventories name the field', () => {
  const cases: [string, (d: Record<string, any>) => unknown, RegExp][] = [
    ['not JSON', () => '{not json', /^inventory: is not valid JSON/],
    ['unknown version', (d) => ({ ...d, version: 2 }), /inventory\.version: unsupported inventory version 2/],
    ['missing version', (d) => ({ ...d, version: undefined }), /inventory\.version/],
    ['no masters', (d) => ({ ...d, masters: [] }), /inventory\.masters: needs at least one master/],
    ['masters missing', (d) => ({ ...d, masters: undefined }), /inventory\.masters/],
    [
      'bad address',
      (d) => ((d.masters[1].address = '203.0.113.300'), d),
      /inventory\.masters\[1\]\.address: must be an IPv4\/IPv6 address/,
    ],
    ['address with a space', (d) => ((d.workers[0].address = 'a b'), d), /inventory\.workers\[0\]\.address/],
    [
      'bad host key type',
      (d) => ((d.masters[0].host_keys = ['ssh-dss AAAAB3NzaC1kc3MAAACBAP']), d),
      /inventory\.masters\[0\]\.host_keys\[0\]: invalid host key/,
    ],
    [
      'host key data of another type',
      (d) => ((d.masters[0].host_keys = [`ssh-ed25519 ${k2.split(' ')[1]}`]), d),
      /masters\[0\]\.host_keys\[0\]: invalid host key: the key data does not encode a ssh-ed25519/,
    ],
    [
      'host key not base64',
      (d) => ((d.masters[2].host_keys = ['ssh-ed25519 !!!']), d),
      /masters\[2\]\.host_keys\[0\]: invalid host key: the key data is not base64/,
    ],
    ['port as string', (d) => ((d.ssh.port = '22'), d), /inventory\.ssh\.port: must be a number/],
    ['port out of range', (d) => ((d.ssh.port = 70000), d), /inventory\.ssh\.port/],
    [
      'kube_proxy as string',
      (d) => ((d.rke2.kube_proxy = 'yes'), d),
      /inventory\.rke2\.kube_proxy: must be true or false/,
    ],
    [
      'bad RKE2 version',
      (d) => ((d.rke2.version = '1.34.4'), d),
      /inventory\.rke2\.version: must be a RKE2 version/,
    ],
    [
      'data_dir traversal',
      (d) => ((d.rke2.data_dir = '/var/lib/../../etc'), d),
      /inventory\.rke2\.data_dir: must not contain "\.\."/,
    ],
    [
      'node name with shell metacharacters',
      (d) => ((d.masters[0].name = 'm0;rm -rf /'), d),
      /inventory\.masters\[0\]\.name: must be a node name/,
    ],
    [
      'cluster name uppercase',
      (d) => ({ ...d, cluster: 'Prod' }),
      /inventory\.cluster: must be a cluster name/,
    ],
    [
      'duplicate node name',
      (d) => ((d.workers[0].name = 'prod-eu-master-1'), d),
      /inventory\.workers\[0\]\.name: "prod-eu-master-1" is already used by masters\[1\]/,
    ],
    [
      'duplicate address',
      (d) => ((d.workers[0].address = '203.0.113.10'), d),
      /inventory\.workers\[0\]\.address: 203\.0\.113\.10 is already used by masters\[0\]/,
    ],
    [
      'secret key in etcd_s3',
      (d) => ((d.etcd_s3.secret_key = 'abc'), d),
      /inventory\.etcd_s3\.secret_key: looks like a secret/,
    ],
    ['token in rke2', (d) => ((d.rke2.token = 'K10abc'), d), /inventory\.rke2\.token: looks like a secret/],
    [
      'private key pasted as a host key',
      (d) => ((d.masters[0].host_keys = ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn']), d),
      /inventory\.masters\[0\]\.host_keys\[0\]: holds a private key/,
    ],
    [
      'S3 endpoint with scheme',
      (d) => ((d.etcd_s3.endpoint = 'https://fsn1.your-objectstorage.com'), d),
      /inventory\.etcd_s3\.endpoint: must be a host\[:port\] with no scheme/,
    ],
    ['unknown key (typo)', (d) => ({ ...d, mastres: [] }), /inventory: unknown key\(s\) "mastres"/],
    [
      'health URL not http',
      (d) => ((d.health.urls = ['file:///etc/passwd']), d),
      /inventory\.health\.urls\[0\]: must be an http\(s\) URL/,
    ],
    ['workers not a list', (d) => ({ ...d, workers: {} }), /inventory\.workers: must be a list of nodes/],
    [
      'sensitive tofu output',
      (d) => ({ sensitive: true, type: 'object', value: d }),
      /ops_inventory: is marked sensitive/,
    ],
  ];

  test.each(cases)('%s', (_name, mutate, expected) => {
    const doc = mutate(valid());
    const message = typeof doc === 'string' ? errorForText(doc) : errorFor(doc);
    expect(message).toMatch(expected);
  });

  test('several problems are all listed', () => {
    const doc = valid();
    doc.ssh.port = 0;
    doc.rke2.version = 'latest';
    expect(errorFor(doc)).toMatch(
      /invalid inventory:\n {2}- inventory\.ssh\.port.*\n {2}- inventory\.rke2\.version/s,
    );
  });
});

function errorForText(text: string): string {
  try {
    parseInventory(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}
