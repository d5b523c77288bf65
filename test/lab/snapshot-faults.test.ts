/**
 * RKE2 etcd snapshots where a snapshot tool can be fooled (issue 9; rke2-facts.md §1, §9.6;
 * k3s-io/k3s pkg/etcd/snapshot.go, snapshot_handler.go, s3/s3.go): every subcommand needs the
 * server; a failed S3 upload still exits 0 with the local `saved` line (error in the server log,
 * an S3 ETCDSnapshotFile readyToUse=false); refused, timed out, revoked credentials and a missing
 * bucket give their own errors, and without the server's cached S3 client the request fails;
 * a full disk makes `save` write nothing (exit 0, no `saved` line); scheduled snapshots at chosen
 * times on every master and in S3.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from './lab.js';
import { kubectlJson } from './helpers.js';

jest.setTimeout(600_000);
let lab: Lab;
const NAME = 'l2-snap';
const M = (i: number) => `${NAME}-master-${i}`;
const REFUSED =
  'FATA[0000] see server log for details: Post "https://127.0.0.1:9345/db/snapshot": dial tcp 127.0.0.1:9345: connect: connection refused';

beforeAll(async () => {
  lab = await createLab({ masters: 2, workers: 0, name: NAME, timing: 'fast', etcdS3Timeout: '5s' });
});
afterAll(async () => {
  await lab?.destroy();
});

interface Esf {
  metadata: { name: string; labels: Record<string, string> };
  spec: { snapshotName: string; location: string; nodeName: string };
  status: { readyToUse: boolean; error?: { message: string; time: string }; creationTime: string };
}

const rke2 = async (node: string, args: string[], timeoutMs = 120_000) =>
  (await lab.shell(node)).run(['rke2', 'etcd-snapshot', ...args], timeoutMs);
const savedNames = (stderr: string) => [...stderr.matchAll(/Snapshot (\S+) saved\./g)].map((m) => m[1]!);
const esfs = async () =>
  (await kubectlJson<{ items: Esf[] }>(await lab.shell(M(0)), ['get', 'etcdsnapshotfiles'])).items;

test('every etcd-snapshot subcommand needs a running server: connection refused after killall', async () => {
  await lab.killall(M(1));
  for (const args of [['ls'], ['save'], ['delete', 'x'], ['prune', '--name', 'x']]) {
    const r = await rke2(M(1), args);
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    expect(r.stderr.trim()).toBe(REFUSED);
  }
  await lab.service(M(1), 'start');
  expect((await rke2(M(1), ['ls'])).code).toBe(0);
});

test('s3-down (refuse): save still exits 0 with only the local line; the error is in the server log and the S3 record', async () => {
  await lab.applyScenario('s3-down', { mode: 'refuse' });
  try {
    const r = await rke2(M(0), ['save', '--name', 'refused']);
    expect(r.code).toBe(0);
    const saved = savedNames(r.stderr);
    expect(saved).toHaveLength(1);
    expect(r.stderr).not.toContain('upload');
    expect(await lab.journal(M(0), 20)).toMatch(
      /level=error msg="Error received during snapshot upload to S3: Put \\"http:\/\/127\.0\.0\.1:\d+\/rke2-etcd-snapshots\/l2-snap\/refused-[^"]+\\": dial tcp 127\.0\.0\.1:\d+: connect: connection refused"/,
    );
    const s3 = (await esfs()).find(
      (e) =>
        e.spec.snapshotName === saved[0] &&
        e.metadata.labels['etcd.rke2.cattle.io/snapshot-storage-node'] === 's3',
    );
    expect(s3?.status.readyToUse).toBe(false);
    expect(s3?.status.error?.message).toContain('connection refused');
    const local = (await esfs()).find(
      (e) => e.spec.snapshotName === saved[0] && e.spec.location.startsWith('file://'),
    );
    expect(local?.status.readyToUse).toBe(true);
    // `ls` lists S3 too: it fails while S3 is down.
    const ls = await rke2(M(0), ['ls']);
    expect(ls.code).toBe(1);
    expect(ls.stderr).toMatch(/see server log for details: etcd-snapshot error ID \d{5}/);
  } finally {
    await lab.s3Up();
  }
  expect((await rke2(M(0), ['ls'])).code).toBe(0);
});

test('s3-down (blackhole): the upload times out after etcd-s3-timeout; save still exits 0', async () => {
  await lab.s3Down({ mode: 'blackhole' });
  try {
    const t = Date.now();
    const r = await rke2(M(0), ['save', '--name', 'blackholed']);
    expect(r.code).toBe(0);
    expect(Date.now() - t).toBeGreaterThanOrEqual(4500);
    expect(savedNames(r.stderr)).toHaveLength(1);
    expect(await lab.journal(M(0), 20)).toMatch(
      /Error received during snapshot upload to S3: Put \\"[^"]+\\": context deadline exceeded/,
    );
  } finally {
    await lab.s3Up();
  }
});

test('revoked credentials and a missing bucket: the cached client uploads and fails (exit 0); a fresh one cannot be created (exit 1)', async () => {
  await lab.applyScenario('s3-bad-credentials');
  try {
    const cached = await rke2(M(0), ['save', '--name', 'denied']);
    expect(cached.code).toBe(0);
    expect(savedNames(cached.stderr)).toHaveLength(1);
    expect(await lab.journal(M(0), 20)).toContain(
      'Error received during snapshot upload to S3: The AWS Access Key Id you provided does not exist in our records.',
    );
    // A restarted server has no cached client: the request is refused before any snapshot.
    await lab.service(M(0), 'restart', undefined, { wait: 'active' });
    const fresh = await rke2(M(0), ['save', '--name', 'denied-fresh']);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr.trim()).toBe(
      'FATA[0000] see server log for details: failed to initialize S3 client: failed to test for existence of bucket rke2-etcd-snapshots: Access Denied.',
    );
    expect(savedNames(fresh.stderr)).toHaveLength(0);
  } finally {
    await lab.clearScenario('s3-bad-credentials');
  }
  expect((await rke2(M(0), ['save', '--name', 'warm'])).code).toBe(0); // caches the client again
  await lab.applyScenario('s3-missing-bucket');
  try {
    const cached = await rke2(M(0), ['save', '--name', 'nobucket']);
    expect(cached.code).toBe(0);
    expect(await lab.journal(M(0), 20)).toContain(
      'Error received during snapshot upload to S3: The specified bucket does not exist',
    );
    await lab.service(M(0), 'restart', undefined, { wait: 'active' });
    const fresh = await rke2(M(0), ['save', '--name', 'nobucket-fresh']);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain(
      'failed to initialize S3 client: bucket rke2-etcd-snapshots does not exist',
    );
  } finally {
    await lab.s3Up();
  }
  // Nothing of the bucket was lost.
  const ls = JSON.parse((await rke2(M(0), ['ls', '-o', 'json'])).stdout) as { items: Esf[] };
  expect(
    ls.items.some((i) => i.spec.snapshotName.startsWith('warm-') && i.spec.location.startsWith('s3://')),
  ).toBe(true);
});

test('disk-full: save writes nothing (exit 0, no saved line), the ENOSPC is in the server log and a failed record', async () => {
  const before = JSON.parse((await rke2(M(0), ['ls', '-o', 'json'])).stdout) as { items: Esf[] };
  await lab.applyScenario('disk-full', { node: M(0) });
  try {
    const r = await rke2(M(0), ['save', '--name', 'full']);
    expect(r.code).toBe(0);
    expect(savedNames(r.stderr)).toEqual([]);
    expect(await lab.journal(M(0), 20)).toMatch(
      /level=error msg="Failed to take etcd snapshot: .*no space left on device"/,
    );
    const failed = (await esfs()).find((e) => e.spec.snapshotName.startsWith('full-'));
    expect(failed?.status.readyToUse).toBe(false);
    expect(failed?.status.error?.message).toContain('no space left on device');
    // The files that were there are still there.
    const after = JSON.parse((await rke2(M(0), ['ls', '-o', 'json'])).stdout) as { items: Esf[] };
    expect(
      after.items.filter((i) => i.spec.location.startsWith('file://')).map((i) => i.spec.snapshotName),
    ).toEqual(
      before.items.filter((i) => i.spec.location.startsWith('file://')).map((i) => i.spec.snapshotName),
    );
  } finally {
    await lab.clearScenario('disk-full', { node: M(0) });
  }
  expect(savedNames((await rke2(M(0), ['save', '--name', 'roomy'])).stderr)).toHaveLength(2);
});

test('scheduled snapshots at chosen times on every master and in S3: the newest is the one after the upgrade', async () => {
  const pre = savedNames((await rke2(M(0), ['save', '--name', 'pre-upgrade-20270101T000000Z'])).stderr)[0]!;
  const at = Math.floor(Date.now() / 1000) + 6 * 3600;
  const res = await lab.scheduledSnapshots({ at });
  expect(res.map((r) => [r.node, r.created])).toEqual([
    [M(0), [`etcd-snapshot-${M(0)}-${at}`, `etcd-snapshot-${M(0)}-${at}`]],
    [M(1), [`etcd-snapshot-${M(1)}-${at}`, `etcd-snapshot-${M(1)}-${at}`]],
  ]);
  const ls = JSON.parse((await rke2(M(1), ['ls', '-o', 'json'])).stdout) as { items: Esf[] };
  const newest = ls.items[ls.items.length - 1]!;
  expect(newest.spec.snapshotName).toMatch(/^etcd-snapshot-/);
  expect(newest.status.creationTime).toBe(new Date(at * 1000).toISOString().replace(/\.\d+Z$/, 'Z'));
  expect(ls.items.some((i) => i.spec.snapshotName === pre)).toBe(true); // in S3, seen from master-1
  // Local retention (etcd-snapshot-retention: 5) prunes the schedule's own prefix only.
  for (let i = 1; i <= 5; i++) await lab.scheduledSnapshots({ at: at + i * 6 * 3600, nodes: [M(0)] });
  const local = JSON.parse((await rke2(M(0), ['ls', '-o', 'json'])).stdout) as { items: Esf[] };
  const mine = local.items.filter((i) => i.spec.location.startsWith('file://'));
  expect(mine.filter((i) => i.spec.snapshotName.startsWith('etcd-snapshot-'))).toHaveLength(5);
  expect(mine.some((i) => i.spec.snapshotName === pre)).toBe(true);
  // A master whose server does not run takes none.
  await lab.service(M(1), 'stop');
  const skipped = await lab.scheduledSnapshots({ nodes: [M(1)] });
  expect(skipped[0]).toMatchObject({ node: M(1), created: [], skipped: 'rke2-server is not running' });
  await lab.service(M(1), 'start');
});
