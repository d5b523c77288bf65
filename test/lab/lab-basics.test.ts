/**
 * A 3-master + 2-worker lab through real SSH and real kubectl: inventory and host keys, each
 * node's own filesystem view, etcd membership, the API served from etcd, system pods, Velero,
 * service semantics (stop vs killall), an unreachable node, and a clean teardown.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createLab, labProcesses, type Lab } from './lab.js';
import { kubectl, kubectlJson, nodeAddress, ETCDCTL, KUBECTL, KUBECONFIG } from './helpers.js';
import { parseInventory } from '../../src/inventory/load.js';
import { connect } from '../../src/ssh/index.js';
import { targetsFromInventory } from '../../src/inventory/targets.js';
import { portOpen } from './sshd.js';
import { unzipOne } from './zip.js';
import { bashScript, sh } from '../../src/lib/quote.js';
import { join } from 'node:path';

jest.setTimeout(600_000);
let lab: Lab;
const M0 = 'basics-master-0';

beforeAll(async () => {
  // Timing is not under test here (units.test.ts tests it): the fast preset.
  lab = await createLab({ masters: 3, workers: 2, name: 'basics', timing: 'fast' });
});
afterAll(async () => {
  await lab?.destroy();
});

test('writes a valid inventory with each node sshd real host key, and the key path separately', async () => {
  const { inventory } = parseInventory(readFileSync(lab.inventoryPath, 'utf8'));
  expect(inventory.masters.map((m) => m.name)).toEqual([
    'basics-master-0',
    'basics-master-1',
    'basics-master-2',
  ]);
  expect(inventory.workers).toHaveLength(2);
  expect(inventory.ssh.port).toBe(2222);
  expect(JSON.stringify(inventory)).not.toContain('PRIVATE KEY');
  const hostKeys = new Set(inventory.masters.concat(inventory.workers).map((n) => n.host_keys[0]));
  expect(hostKeys.size).toBe(5);
  // Every node answers with its pinned key; a wrong pin is refused.
  for (const t of targetsFromInventory(inventory)) {
    const s = await connect(t, { credentials: { privateKey: lab.privateKey }, options: { attempts: 1 } });
    const r = await s.exec('hostname >/dev/null; echo ok');
    expect(r.stdout.trim()).toBe('ok');
    s.close();
  }
  const [a, b] = targetsFromInventory(inventory);
  await expect(
    connect(
      { ...a!, hostKeys: b!.hostKeys },
      { credentials: { privateKey: lab.privateKey }, options: { attempts: 1 } },
    ),
  ).rejects.toThrow();
});

test('each node sees its own RKE2 paths; the host does not', async () => {
  for (const n of lab.state.nodes) {
    const s = await lab.shell(n.name);
    const r = await s.run([
      'sh',
      '-c',
      'grep node-name /etc/rancher/rke2/config.yaml; ls /usr/local/bin; ls /var/lib/rancher/rke2/bin',
    ]);
    expect(r.stdout).toContain(`node-name: ${n.name}`);
    expect(r.stdout).toMatch(/rke2\n/);
    expect(r.stdout).toContain('rke2-killall.sh');
    expect(r.stdout).toContain('kubectl');
    const v = await s.run(['rke2', '--version']);
    expect(v.stdout).toMatch(/^rke2 version v1\.34\.4\+rke2r1 /);
  }
  expect(existsSync('/etc/rancher/rke2/config.yaml')).toBe(false);
  const m1 = await lab.shell('basics-master-1');
  const cfg = await m1.run(['cat', '/etc/rancher/rke2/config.yaml']);
  expect(cfg.stdout).toContain(`server: https://${nodeAddress(lab, M0)}:9345`);
  expect(cfg.stdout).toContain('etcd-s3: true');
  const c0 = await (await lab.shell(M0)).run(['cat', '/etc/rancher/rke2/config.yaml']);
  expect(c0.stdout).not.toMatch(/^server:/m);
});

test('masters form one real etcd cluster and the API serves nodes and system pods from it', async () => {
  const s = await lab.shell(M0);
  const members = await s.run([
    ETCDCTL,
    `--endpoints=http://${nodeAddress(lab, M0)}:2379`,
    'member',
    'list',
    '-w',
    'json',
  ]);
  expect((JSON.parse(members.stdout) as { members: unknown[] }).members).toHaveLength(3);
  expect((await kubectl(s, ['get', '--raw=/readyz'])).trim()).toBe('ok');
  const nodes = await kubectlJson<{
    items: {
      metadata: { name: string; labels: Record<string, string> };
      status: { nodeInfo: { kubeletVersion: string }; conditions: { type: string; status: string }[] };
    }[];
  }>(s, ['get', 'nodes']);
  expect(nodes.items).toHaveLength(5);
  for (const n of nodes.items) {
    expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.34.4+rke2r1');
    expect(n.metadata.labels['node-role.kubernetes.io/control-plane'] === 'true').toBe(
      n.metadata.name.includes('master'),
    );
  }
  const proxy = await kubectlJson(s, ['-n', 'kube-system', 'get', 'pods', '-l', 'component=kube-proxy']);
  expect(proxy.items).toHaveLength(5);
  expect(
    (await kubectlJson(s, ['-n', 'kube-system', 'get', 'pods', '-l', 'component=etcd'])).items,
  ).toHaveLength(3);
  const dns = await kubectlJson<{ items: { status: { containerStatuses: { ready: boolean }[] } }[] }>(s, [
    '-n',
    'kube-system',
    'get',
    'pods',
    '-l',
    'k8s-app=kube-dns',
  ]);
  expect(dns.items).toHaveLength(2);
  expect(dns.items.every((p) => p.status.containerStatuses.every((c) => c.ready))).toBe(true);
  expect(
    (
      await kubectlJson(s, [
        '-n',
        'kube-system',
        'get',
        'pods',
        '-l',
        'app.kubernetes.io/name=hcloud-cloud-controller-manager',
      ])
    ).items,
  ).toHaveLength(1);
  expect((await kubectlJson(s, ['-n', 'openedx', 'get', 'configmaps'])).items.length).toBeGreaterThanOrEqual(
    3,
  );
  // The same answer from another master's API (same etcd).
  const s2 = await lab.shell('basics-master-2');
  expect((await kubectlJson(s2, ['get', 'nodes'])).items).toHaveLength(5);
});

test('Velero: a Backup from the schedule completes and lands in S3; a scenario can fail it', async () => {
  const s = await lab.shell(M0);
  const sched = await kubectlJson<{ spec: { template: Record<string, unknown> } }>(s, [
    '-n',
    'velero',
    'get',
    'schedule',
    'velero-full-cluster',
  ]);
  const backup = {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name: 'b1',
      namespace: 'velero',
      labels: { 'velero.io/schedule-name': 'velero-full-cluster' },
    },
    spec: sched.spec.template,
  };
  const bad = {
    ...backup,
    metadata: {
      ...backup.metadata,
      name: 'b2',
      annotations: { 'lab.rke2-ops.io/result': 'PartiallyFailed' },
    },
  };
  const r = await s.exec(
    `echo ${Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [backup, bad] })).toString('base64')} | base64 -d | /var/lib/rancher/rke2/bin/kubectl --kubeconfig=/etc/rancher/rke2/rke2.yaml create -f -`,
  );
  expect(r.code).toBe(0);
  const phase = async (n: string) =>
    (await kubectl(s, ['-n', 'velero', 'get', 'backup', n, '-o', 'jsonpath={.status.phase}'])).trim();
  for (
    let i = 0;
    i < 100 && ((await phase('b1')) !== 'Completed' || (await phase('b2')) !== 'PartiallyFailed');
    i++
  )
    await new Promise((res) => setTimeout(res, 200));
  expect(await phase('b1')).toBe('Completed');
  expect(await phase('b2')).toBe('PartiallyFailed');
  const { S3Client, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const c = new S3Client({
    endpoint: `http://${lab.s3.endpoint}`,
    region: lab.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: lab.s3.accessKeyId, secretAccessKey: lab.s3.secretAccessKey },
  });
  const head = await c.send(new HeadObjectCommand({ Bucket: lab.veleroBucket, Key: 'backups/b1/b1.tar.gz' }));
  expect(head.ContentLength).toBeGreaterThan(100);
});

test('Velero: a Restore recreates what is missing and never overwrites; a missing backup fails validation', async () => {
  const s = await lab.shell(M0);
  await kubectl(s, ['-n', 'openedx', 'delete', 'configmap', 'openedx-theme']);
  await kubectl(s, [
    '-n',
    'openedx',
    'patch',
    'configmap',
    'openedx-config',
    '--type=merge',
    '-p',
    '{"data":{"PLATFORM_NAME":"changed"}}',
  ]);
  const restore = (name: string, backup: string) => ({
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name, namespace: 'velero' },
    spec: { backupName: backup, includedNamespaces: ['openedx'] },
  });
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [restore('r1', 'b1'), restore('r2', 'no-such-backup')],
  };
  const r = await s.exec(
    `echo ${Buffer.from(JSON.stringify(list)).toString('base64')} | base64 -d | /var/lib/rancher/rke2/bin/kubectl --kubeconfig=/etc/rancher/rke2/rke2.yaml create -f -`,
  );
  expect(r.code).toBe(0);
  const phase = async (n: string) =>
    (await kubectl(s, ['-n', 'velero', 'get', 'restore', n, '-o', 'jsonpath={.status.phase}'])).trim();
  for (
    let i = 0;
    i < 50 && ((await phase('r1')) !== 'Completed' || (await phase('r2')) !== 'FailedValidation');
    i++
  )
    await new Promise((res) => setTimeout(res, 200));
  expect(await phase('r1')).toBe('Completed');
  expect(await phase('r2')).toBe('FailedValidation');
  expect(
    (
      await kubectl(s, ['-n', 'openedx', 'get', 'configmap', 'openedx-theme', '-o', 'jsonpath={.data.theme}'])
    ).trim(),
  ).toBe('indigo');
  expect(
    (
      await kubectl(s, [
        '-n',
        'openedx',
        'get',
        'configmap',
        'openedx-config',
        '-o',
        'jsonpath={.data.PLATFORM_NAME}',
      ])
    ).trim(),
  ).toBe('changed');
});

test('a deleted namespace goes away (namespace controller) and a Velero restore brings it back', async () => {
  const s = await lab.shell(M0);
  await kubectl(s, ['delete', 'namespace', 'openedx', '--wait=true', '--timeout=60s']);
  expect((await s.run([KUBECTL, `--kubeconfig=${KUBECONFIG}`, 'get', 'namespace', 'openedx'])).code).not.toBe(
    0,
  );
  const restore = {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name: 'r3', namespace: 'velero' },
    spec: { backupName: 'b1', includedNamespaces: ['openedx'] },
  };
  const r = await s.exec(
    `echo ${Buffer.from(JSON.stringify(restore)).toString('base64')} | base64 -d | ${KUBECTL} --kubeconfig=${KUBECONFIG} create -f -`,
  );
  expect(r.code).toBe(0);
  const phase = async () =>
    (await kubectl(s, ['-n', 'velero', 'get', 'restore', 'r3', '-o', 'jsonpath={.status.phase}'])).trim();
  for (let i = 0; i < 50 && (await phase()) !== 'Completed'; i++)
    await new Promise((res) => setTimeout(res, 200));
  expect(await phase()).toBe('Completed');
  const cms = await kubectl(s, ['-n', 'openedx', 'get', 'configmaps', '-o', 'name']);
  expect(cms).toContain('configmap/openedx-config');
  expect(await kubectl(s, ['-n', 'openedx', 'get', 'deployments', '-o', 'name'])).toContain(
    'deployment.apps/lms',
  );
});

test('compressed snapshot is a real zip named <name>-<node>-<ts>.zip; missing-snapshot removes only the local copy', async () => {
  const s = await lab.shell(M0);
  const r = await s.run(['rke2', 'etcd-snapshot', 'save', '--name', 'zipped', '--etcd-snapshot-compress']);
  expect(r.code).toBe(0);
  const file = /Snapshot (\S+) saved\./.exec(r.stderr)?.[1] ?? '';
  expect(file).toMatch(/^zipped-basics-master-0-\d{10}\.zip$/);
  const hostFile = join(lab.state.nodes[0]!.dir, 'var-lib-rancher/rke2/server/db/snapshots', file);
  const { name, data } = unzipOne(readFileSync(hostFile));
  expect(name).toBe(file.replace(/\.zip$/, ''));
  expect(data.length).toBeGreaterThan(10_000);
  await lab.applyScenario('missing-snapshot', { node: M0, snapshot: file });
  const ls = JSON.parse((await s.run(['rke2', 'etcd-snapshot', 'ls', '-o', 'json'])).stdout) as {
    items: { spec: { snapshotName: string; location: string } }[];
  };
  const where = ls.items
    .filter((i) => i.spec.snapshotName === file)
    .map((i) => i.spec.location.split(':')[0]);
  expect(where).toEqual(['s3']);
});

test('systemctl stop rke2-server leaves etcd and the API running; rke2-killall.sh stops them', async () => {
  const name = 'basics-master-2';
  const s = await lab.shell(name);
  await lab.service(name, 'stop');
  expect((await s.run(['systemctl', 'is-active', 'rke2-server'])).stdout.trim()).toBe('inactive');
  expect(await portOpen(nodeAddress(lab, name), 2379)).toBe(true);
  expect(await portOpen(nodeAddress(lab, name), 6443)).toBe(true);
  const ready = async () =>
    (
      await kubectl(await lab.shell(M0), [
        'get',
        'node',
        name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ])
    ).trim();
  // Nothing posts the node's status any more: the node lifecycle controller notices after its grace.
  for (let i = 0; i < 120 && (await ready()) !== 'Unknown'; i++) await new Promise((r) => setTimeout(r, 250));
  expect(await ready()).toBe('Unknown');
  await lab.killall(name);
  expect(await portOpen(nodeAddress(lab, name), 2379)).toBe(false);
  expect(await portOpen(nodeAddress(lab, name), 6443)).toBe(false);
  await lab.service(name, 'start');
  expect((await s.run(['systemctl', 'is-active', 'rke2-server'])).stdout.trim()).toBe('active');
  expect(await ready()).toBe('True');
});

test('a node whose config.yaml token is wrong cannot join: the unit restarts until the token is right', async () => {
  const w = 'basics-worker-0';
  const s = await lab.shell(w);
  await lab.service(w, 'stop');
  const cfg = '/etc/rancher/rke2/config.yaml';
  await s.exec(
    bashScript([
      sh`cp ${cfg} /etc/rancher/rke2/config.yaml.lab-test`,
      sh`sed -i 's/^token: .*/token: wrong-token/' ${cfg}`,
    ]),
  );
  const r = await s.run(['systemctl', 'start', 'rke2-agent']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    'Job for rke2-agent.service failed because the control process exited with error code.',
  );
  expect((await s.run(['journalctl', '-u', 'rke2-agent', '-o', 'cat'])).stdout).toContain(
    'token is not valid',
  );
  expect((await s.run(['systemctl', 'is-active', 'rke2-agent'])).stdout.trim()).toBe('activating');
  await s.exec(bashScript([sh`mv /etc/rancher/rke2/config.yaml.lab-test ${cfg}`]));
  await lab.service(w, 'start');
  const token = await (await lab.shell(M0)).run(['cat', '/var/lib/rancher/rke2/server/token']);
  expect(token.stdout.trim()).toMatch(/^K10[0-9a-f]+::server:[0-9a-f]+$/);
});

test('unreachable node: its sshd stops, the rest of the cluster is unaffected', async () => {
  const w = 'basics-worker-1';
  await lab.applyScenario('unreachable-node', { node: w });
  expect(await portOpen(nodeAddress(lab, w), 2222)).toBe(false);
  const t = targetsFromInventory(lab.inventory).find((x) => x.name === w)!;
  await expect(
    connect(t, {
      credentials: { privateKey: lab.privateKey },
      options: { attempts: 1, readyTimeoutMs: 2000 },
    }),
  ).rejects.toThrow();
  expect((await kubectl(await lab.shell(M0), ['get', '--raw=/readyz'])).trim()).toBe('ok');
  await lab.startSshd(w);
  expect(await portOpen(nodeAddress(lab, w), 2222)).toBe(true);
});

test('teardown leaves no process, mount namespace or port behind', async () => {
  const id = lab.state.id;
  const dir = lab.dir;
  const addresses = lab.state.nodes.map((n) => n.address);
  expect(labProcesses(id, dir).length).toBeGreaterThan(5);
  await lab.destroy();
  expect(labProcesses(id, dir)).toHaveLength(0);
  for (const a of addresses) expect(await portOpen(a, 2222)).toBe(false);
  expect(await portOpen(addresses[0]!, 6443)).toBe(false);
  expect(existsSync(lab.dir)).toBe(false);
  // No bind mount of a lab dir is left in any mount namespace.
  const mounts = execFileSync(
    'sh',
    ['-c', 'cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -c "/.lab/basics/" || true'],
    { encoding: 'utf8' },
  );
  expect(mounts.trim()).toBe('0');
});
