/**
 * Snapshots and the documented restore, through real SSH, etcd and kubectl (rke2-facts.md §1,
 * §2.1, §3.1): the snapshot's file name and its S3 copy; reset refused while etcd runs, with a
 * stale reset-flag, with a local path while etcd-s3 is on, and from a corrupt file; a peer with its
 * old server/db does not rejoin; the documented order (killall all, downgrade, reset on master-0,
 * start it, move db aside and start each other master one at a time, start workers) brings back
 * the snapshot's key space on every master and a healthy cluster after a bad upgrade.
 */
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from './lab.js';
import { findTools } from './tools.js';
import {
  kubectl,
  kubectlJson,
  etcdDump,
  comparable,
  diffKeyspace,
  snapshotKeyspace,
  nodeAddress,
  ETCDCTL,
} from './helpers.js';
import { bashScript, sh } from '../../src/lib/quote.js';
import { BASE_VERSION, BAD_VERSION } from './release-table.js';

jest.setTimeout(900_000);
let lab: Lab;
const NAME = 'restore';
const M = (i: number) => `${NAME}-master-${i}`;
const SNAPDIR = '/var/lib/rancher/rke2/server/db/snapshots';
let snapshot = '';

beforeAll(async () => {
  // The documented restore is under test here, not timing: the fast preset.
  lab = await createLab({ masters: 3, workers: 1, name: NAME, timing: 'fast' });
});
afterAll(async () => {
  await lab?.destroy();
});

const sh0 = () => lab.shell(M(0));
const hostPath = (node: string, path: string) =>
  join(
    lab.state.nodes.find((n) => n.name === node)!.dir,
    'var-lib-rancher',
    path.replace(/^\/var\/lib\/rancher\//, ''),
  );

test('etcd-snapshot save: real file name, local file and S3 object of the same size, listed by ls -o json', async () => {
  const s = await sh0();
  const r = await s.run(['rke2', 'etcd-snapshot', 'save', '--name', 'pre-upgrade-20260101T120000Z']);
  expect(r.code).toBe(0);
  const saved = [...r.stderr.matchAll(/^INFO\[\d{4}\] Snapshot (\S+) saved\.$/gm)].map((m) => m[1]);
  expect(saved).toHaveLength(2); // local and S3
  snapshot = saved[0]!;
  expect(snapshot).toMatch(/^pre-upgrade-20260101T120000Z-restore-master-0-\d{10}$/);
  const size = statSync(hostPath(M(0), `${SNAPDIR}/${snapshot}`)).size;
  const { S3Client, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const c = new S3Client({
    endpoint: `http://${lab.s3.endpoint}`,
    region: lab.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: lab.s3.accessKeyId, secretAccessKey: lab.s3.secretAccessKey },
  });
  const head = await c.send(
    new HeadObjectCommand({ Bucket: lab.s3.bucket, Key: `${lab.s3.folder}/${snapshot}` }),
  );
  expect(head.ContentLength).toBe(size);
  const ls = JSON.parse((await s.run(['rke2', 'etcd-snapshot', 'ls', '-o', 'json'])).stdout) as {
    kind: string;
    items: {
      spec: { snapshotName: string; location: string; nodeName: string };
      status: { size: string; readyToUse: boolean };
    }[];
  };
  expect(ls.kind).toBe('ETCDSnapshotFileList');
  const mine = ls.items.filter((i) => i.spec.snapshotName === snapshot);
  expect(mine.map((i) => i.spec.location.split(':')[0]).sort()).toEqual(['file', 's3']);
  expect(
    mine.every((i) => i.spec.nodeName === M(0) && Number(i.status.size) === size && i.status.readyToUse),
  ).toBe(true);
});

test('etcd-snapshot save needs rke2-server running', async () => {
  const s = await lab.shell(M(1));
  await lab.service(M(1), 'stop');
  const r = await s.run(['rke2', 'etcd-snapshot', 'save']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/FATA.*9345.*connection refused/);
  await lab.service(M(1), 'start');
});

test('cluster-reset fails while etcd still runs on the node, and changes nothing', async () => {
  const s = await sh0();
  await lab.service(M(0), 'stop'); // stop leaves etcd running (KillMode=process)
  const r = await s.run([
    'rke2',
    'server',
    '--cluster-reset',
    '--etcd-s3=false',
    `--cluster-reset-restore-path=${SNAPDIR}/${snapshot}`,
  ]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('address already in use');
  expect((await s.run(['test', '-e', '/var/lib/rancher/rke2/server/db/reset-flag'])).code).not.toBe(0);
  await lab.service(M(0), 'start');
});

test('a bad upgrade breaks CoreDNS and changes application objects', async () => {
  // A second snapshot to corrupt later (the good one must stay intact).
  expect((await (await sh0()).run(['rke2', 'etcd-snapshot', 'save', '--name', 'spare'])).code).toBe(0);
  await lab.applyScenario('bad-upgrade');
  const s = await sh0();
  const dns = await kubectlJson<{
    items: { status: { containerStatuses: { state: { waiting?: { reason: string } } }[] } }[];
  }>(s, ['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns']);
  expect(dns.items.map((p) => p.status.containerStatuses[0]!.state.waiting?.reason)).toEqual([
    'CrashLoopBackOff',
    'CrashLoopBackOff',
  ]);
  expect(
    (await kubectl(s, ['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}'])).split(
      ' ',
    ),
  ).toEqual(Array(4).fill(BAD_VERSION));
  expect((await s.run(['rke2', '--version'])).stdout).toContain(BAD_VERSION);
});

test('rollback in the documented order restores the snapshot key space on every master', async () => {
  const work = mkdtempSync(join(tmpdir(), 'lab-snap-'));
  const tools = findTools();
  const expected = comparable(await snapshotKeyspace(tools, hostPath(M(0), `${SNAPDIR}/${snapshot}`), work));
  rmSync(work, { recursive: true, force: true });
  expect(expected.size).toBeGreaterThan(100);

  // 1. killall on every node: workers, other masters, master-0.
  for (const n of [...lab.state.nodes].reverse()) await lab.killall(n.name);
  // 2. downgrade the binary on every node.
  for (const n of lab.state.nodes) {
    const s = await lab.shell(n.name);
    const r = await s.exec(
      bashScript([
        sh`INSTALL_RKE2_VERSION=${BASE_VERSION} INSTALL_RKE2_TYPE=${n.role === 'master' ? 'server' : 'agent'} rke2-install.sh`,
      ]),
    );
    expect(r.code).toBe(0);
  }
  const s0 = await sh0();
  // With etcd-s3: true in config.yaml and no --etcd-s3=false, the path is looked up in S3: fails.
  const viaS3 = await s0.run([
    'rke2',
    'server',
    '--cluster-reset',
    `--cluster-reset-restore-path=${SNAPDIR}/${snapshot}`,
  ]);
  expect(viaS3.code).not.toBe(0);
  expect(viaS3.stderr).toMatch(/FATA.*S3/);
  // A stale reset-flag blocks a reset with the real message.
  await s0.run(['touch', '/var/lib/rancher/rke2/server/db/reset-flag']);
  const flagged = await s0.run([
    'rke2',
    'server',
    '--cluster-reset',
    '--etcd-s3=false',
    `--cluster-reset-restore-path=${SNAPDIR}/${snapshot}`,
  ]);
  expect(flagged.code).not.toBe(0);
  expect(flagged.stderr).toContain(
    'Managed etcd cluster membership was previously reset, please remove the cluster-reset flag and start rke2 normally',
  );
  await s0.run(['rm', '-f', '/var/lib/rancher/rke2/server/db/reset-flag']);
  // A corrupt snapshot fails the integrity check and leaves the db alone.
  const spare = (await s0.run(['sh', '-c', `ls -1 ${SNAPDIR} | grep '^spare-'`])).stdout.trim();
  await lab.applyScenario('corrupt-snapshot', { node: M(0), snapshot: spare });
  const corrupt = await s0.run([
    'rke2',
    'server',
    '--cluster-reset',
    '--etcd-s3=false',
    `--cluster-reset-restore-path=${SNAPDIR}/${spare}`,
  ]);
  expect(corrupt.code).not.toBe(0);
  expect((await s0.run(['sh', '-c', 'ls /var/lib/rancher/rke2/server/db'])).stdout).not.toContain(
    'etcd-old-',
  );
  // 3. the reset on master-0 with the local file.
  const reset = await s0.run([
    'rke2',
    'server',
    '--cluster-reset',
    '--etcd-s3=false',
    `--cluster-reset-restore-path=${SNAPDIR}/${snapshot}`,
  ]);
  expect(reset.code).toBe(0);
  expect(reset.stderr).toContain('restart without --cluster-reset flag now');
  expect((await s0.run(['sh', '-c', 'ls /var/lib/rancher/rke2/server/db'])).stdout).toMatch(/etcd-old-\d+/);
  // 4. start master-0 (deletes reset-flag).
  await lab.service(M(0), 'start');
  expect((await s0.run(['test', '-e', '/var/lib/rancher/rke2/server/db/reset-flag'])).code).not.toBe(0);
  // Node objects come back from the snapshot saying Ready; the node lifecycle simulation marks
  // a node whose kubelet is not running Unknown after its grace period.
  const worker = lab.state.nodes.find((n) => n.role === 'worker')!.name;
  const readyOf = async (n: string) =>
    (
      await kubectl(s0, ['get', 'node', n, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])
    ).trim();
  for (let i = 0; i < 60 && (await readyOf(worker)) !== 'Unknown'; i++)
    await new Promise((r) => setTimeout(r, 500));
  expect(await readyOf(worker)).toBe('Unknown');
  // A peer started with its old server/db does not rejoin: its cluster no longer exists, and
  // `systemctl start` blocks (TimeoutStartSec=0) with the unit activating - it never fails.
  const s1 = await lab.shell(M(1));
  const stale = await s1.run(['timeout', '20', 'systemctl', 'start', 'rke2-server'], 60_000);
  expect(stale.code).toBe(124);
  const isActive = await s1.run(['systemctl', 'is-active', 'rke2-server']);
  expect([isActive.stdout.trim(), isActive.code]).toEqual(['activating', 3]);
  const members = await s0.run([
    ETCDCTL,
    `--endpoints=http://${nodeAddress(lab, M(0))}:2379`,
    'member',
    'list',
  ]);
  expect(members.stdout.trim().split('\n')).toHaveLength(1);
  await lab.killall(M(1));
  // 5. other masters, one at a time: move server/db aside, start.
  for (const m of [M(1), M(2)]) {
    const s = await lab.shell(m);
    await s.exec(
      bashScript(['mv /var/lib/rancher/rke2/server/db "/var/lib/rancher/rke2/server/db.bak-$(date +%s)"']),
    );
    await lab.service(m, 'start');
  }
  // 6. workers.
  for (const w of lab.state.nodes.filter((n) => n.role === 'worker')) await lab.service(w.name, 'start');

  const dumps = [];
  for (const m of [M(0), M(1), M(2)])
    dumps.push(comparable(await etcdDump(await lab.shell(m), nodeAddress(lab, m))));
  for (const d of dumps) expect(diffKeyspace(expected, d)).toEqual([]);

  const k = await sh0();
  const dns = await kubectlJson<{ items: { status: { containerStatuses: { ready: boolean }[] } }[] }>(k, [
    '-n',
    'kube-system',
    'get',
    'pods',
    '-l',
    'k8s-app=kube-dns',
  ]);
  expect(dns.items.every((p) => p.status.containerStatuses.every((c) => c.ready))).toBe(true);
  expect(
    (await kubectl(k, ['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}'])).split(
      ' ',
    ),
  ).toEqual(Array(4).fill(BASE_VERSION));
  expect(
    (await kubectl(k, ['-n', 'openedx', 'get', 'configmap', 'openedx-theme', '-o', 'name'])).trim(),
  ).toBe('configmap/openedx-theme');
  const nodes = await kubectlJson<{
    items: { status: { conditions: { type: string; status: string }[] } }[];
  }>(k, ['get', 'nodes']);
  expect(nodes.items).toHaveLength(4);
  expect(
    nodes.items.every((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True'),
  ).toBe(true);
  expect(
    (await s0.run([ETCDCTL, `--endpoints=http://${nodeAddress(lab, M(0))}:2379`, 'member', 'list'])).stdout
      .trim()
      .split('\n'),
  ).toHaveLength(3);
});
