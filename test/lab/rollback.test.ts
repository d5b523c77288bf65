/**
 * The rollback action end to end on ONE 3+3 lab (fast timing), through the BUNDLE run as the
 * runner runs it (actions/rollback/dist on Node 24, INPUT_* / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY):
 * refusals that touch no node (wrong confirm, wrong host key, token differs, missing and corrupt
 * snapshot, a held lock), the dry run, then after a bad upgrade a rollback killed at two phase
 * boundaries and once mid-phase whose re-runs resume and complete - every master's key space
 * equal to the snapshot's key for key, every node on the snapshot's version, healthy - and a
 * second rollback with Velero namespaces that brings the PVC data back. Build first (npm run
 * build): this tests the committed bundles.
 */
import { jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { createLab, type Lab } from './lab.js';
import { BASE_VERSION, BAD_VERSION } from './release-table.js';
import { kubectl } from './helpers.js';
import {
  expectedKeyspace,
  fingerprint,
  hostPath,
  keyspaceDiffs,
  runRollbackBundle,
  SNAPDIR,
  takeSnapshot,
} from './rollback-helpers.js';

jest.setTimeout(900_000);

const NAME = 'rb-main';
const M = (i: number) => `${NAME}-master-${i}`;
const W = (i: number) => `${NAME}-worker-${i}`;
let lab: Lab;
let snapshot = '';
/** The PVC data when the snapshot (and its Velero backup) was taken. */
let backupData: Record<string, string> = {};

beforeAll(async () => {
  lab = await createLab({ masters: 3, workers: 3, name: NAME, scenario: 'healthy', timing: 'fast' });
  backupData = await lab.readVolume('openedx', 'mysql-data');
  snapshot = await takeSnapshot(lab);
});
afterAll(async () => {
  await lab?.destroy();
});

const versions = async () =>
  (
    await kubectl(await lab.shell(M(0)), [
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[*].status.nodeInfo.kubeletVersion}',
    ])
  )
    .trim()
    .split(' ');

describe('refusals: nothing is stopped, no node is touched', () => {
  let before: string[];
  beforeAll(async () => {
    before = await fingerprint(lab);
  });
  afterEach(async () => {
    expect(await fingerprint(lab)).toEqual(before);
  });

  test('confirm must equal the cluster name (no connection is made)', async () => {
    const r = await runRollbackBundle(lab, { confirm: 'prod' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::confirm: is "prod".*set confirm to the cluster's name \(rb-main\)/);
    expect(r.outputs.ok).toBeUndefined();
  });

  test('a wrong pinned host key on one worker', async () => {
    const inv = JSON.parse(readFileSync(lab.inventoryPath, 'utf8')) as typeof lab.inventory;
    inv.workers[1]!.host_keys = [inv.workers[0]!.host_keys[0]!];
    const r = await runRollbackBundle(lab, { 'inventory-file': '', inventory: JSON.stringify(inv) });
    expect(r.code).toBe(1);
    expect(r.outputs['failed-phase']).toBe('preflight');
    expect(r.report!.failure!.node).toBe(W(1));
    expect(r.report!.failure!.message).toMatch(/host key/i);
    expect(r.report!.phases.map((p) => p.id)).toEqual(['preflight']);
  });

  test('a master whose server/token differs from the snapshot', async () => {
    const token = hostPath(lab, M(2), '/var/lib/rancher/rke2/server/token');
    const original = readFileSync(token, 'utf8');
    writeFileSync(token, 'K10other::server:other\n');
    try {
      const r = await runRollbackBundle(lab, {});
      expect(r.code).toBe(1);
      expect(r.report!.failure!.node).toBe(M(2));
      expect(r.report!.failure!.message).toMatch(/server\/token on rb-main-master-2 differs/);
    } finally {
      writeFileSync(token, original);
    }
  });

  test('a snapshot that does not exist', async () => {
    const r = await runRollbackBundle(lab, {
      snapshot: 'pre-upgrade-20270101T000000Z-abcdef-rb-main-master-0-1798761600',
    });
    expect(r.code).toBe(1);
    expect(r.outputs['failed-phase']).toBe('preflight');
    expect(r.report!.failure!.message).toMatch(/no rke2-ops metadata/);
  });

  test('a corrupt local snapshot without an S3 copy to fall back on', async () => {
    const spare = await takeSnapshot(lab, 'on-demand');
    before = await fingerprint(lab);
    const path = hostPath(lab, M(0), `${SNAPDIR}/${spare}`);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path, bytes);
    const r = await runRollbackBundle(lab, { snapshot: spare }, { s3: false });
    expect(r.code).toBe(1);
    expect(r.report!.failure!.message).toMatch(/is damaged .* no S3 copy to use/);
  });

  test('a second rollback while one holds the lock', async () => {
    const s = await lab.shell(M(0));
    const lock = '/var/lib/rancher/rke2/server/rke2-ops/rollback.lock';
    await s.run([
      'bash',
      '-c',
      `mkdir -p ${lock} && echo other-run >${lock}/owner && touch ${lock}/heartbeat`,
    ]);
    const r = await runRollbackBundle(lab, {});
    await s.run(['rm', '-rf', '/var/lib/rancher/rke2/server/rke2-ops']);
    expect(r.code).toBe(1);
    expect(r.report!.failure!.message).toMatch(/another rollback \(run other-run\) holds the lock/);
  });

  test('dry-run prints every phase, node and command and changes nothing', async () => {
    const r = await runRollbackBundle(lab, { confirm: '', 'dry-run': 'true' });
    expect(r.code).toBe(0);
    const plan = r.report!.plan;
    expect(plan.map((p) => p.id)).toEqual([
      'stop',
      'install',
      'reset',
      'start-master',
      'join-peers',
      'start-workers',
      'velero',
      'health',
    ]);
    expect(plan[0]!.steps.map((s) => s.node)).toEqual([W(0), W(1), W(2), M(1), M(2), M(0)]);
    expect(plan[2]!.steps.at(-1)!.command).toContain(
      `--etcd-s3=false --cluster-reset-restore-path=${SNAPDIR}/${snapshot}`,
    );
    expect(plan[4]!.steps.map((s) => s.command).join('\n')).toMatch(
      /mv \/var\/lib\/rancher\/rke2\/server\/db \/var\/lib\/rancher\/rke2\/server\/db\.bak-/,
    );
    expect(r.summary).toContain('Plan');
  });
});

test('after a bad upgrade: killed at two phase boundaries and mid-phase, re-runs resume and complete with the key space intact', async () => {
  const expected = await expectedKeyspace(lab, snapshot);
  expect(expected.size).toBeGreaterThan(100);
  await lab.applyScenario('bad-upgrade');
  expect(new Set(await versions())).toEqual(new Set([BAD_VERSION]));

  const base = { 'lock-stale': '3s', 'join-timeout': '120s', 'health-timeout': '120s' };
  // Default: two phase boundaries and once mid-phase. RKE2OPS_ROLLBACK_FAULTS=all: every phase
  // boundary, mid-reset and mid-join (each re-run resumes, so the chain covers them all).
  const kills =
    process.env.RKE2OPS_ROLLBACK_FAULTS === 'all'
      ? [
          /phase stop: ok/,
          /phase install: ok/,
          /phase reset: started/,
          /phase reset: ok/,
          /phase start-master: ok/,
          new RegExp(`join-peers ${M(1)}: ok`),
          /phase join-peers: ok/,
          /phase start-workers: ok/,
        ]
      : [
          /phase stop: ok/, // boundary: every node stopped
          new RegExp(`join-peers ${M(1)}: ok`), // mid-phase: one peer joined, the other not yet
          /phase start-workers: ok/, // boundary: before the health check
        ];
  let survived = 0;
  for (const killOn of kills) {
    const r = await runRollbackBundle(lab, base, { killOn });
    expect(r.signal).toBe('SIGKILL');
    survived++;
    await new Promise((res) => setTimeout(res, 3500)); // the dead run's lock goes stale
  }
  const r = await runRollbackBundle(lab, base);
  expect(r.code).toBe(0);
  const report = r.report!;
  expect(report.resumedFrom!.completed).toEqual([
    'stop',
    'install',
    'reset',
    'start-master',
    'join-peers',
    'start-workers',
  ]);
  expect(report.phases.find((p) => p.id === 'health')!.status).toBe('ok');
  expect(Number(r.outputs['mttr-seconds'])).toBeGreaterThan(0);
  process.stdout.write(
    `fault injection: ${survived} kills survived, MTTR over all runs ${r.outputs['mttr-seconds']} s\n`,
  );

  expect(await keyspaceDiffs(lab, expected)).toEqual({ [M(0)]: [], [M(1)]: [], [M(2)]: [] });
  expect(await versions()).toEqual(Array(6).fill(BASE_VERSION));
  for (const n of lab.state.nodes)
    expect((await (await lab.shell(n.name)).run(['rke2', '--version'])).stdout).toContain(BASE_VERSION);
  // The peers' old etcd data is kept, not deleted.
  for (const m of [M(1), M(2)])
    expect(
      (await (await lab.shell(m)).run(['bash', '-c', 'ls -d /var/lib/rancher/rke2/server/db.bak-*'])).code,
    ).toBe(0);
});

test('with velero-namespaces: PVC data back to the backup, outputs, summary with a Gantt chart', async () => {
  await lab.applyScenario('bad-upgrade');
  expect(await lab.readVolume('openedx', 'mysql-data')).not.toEqual(backupData);
  const r = await runRollbackBundle(lab, {
    'velero-namespaces': 'openedx',
    'join-timeout': '120s',
    'velero-timeout': '180s',
  });
  expect(r.stdout.slice(-3000)).toContain('healthy');
  expect(r.code).toBe(0);
  expect(r.outputs.ok).toBe('true');
  expect(r.outputs.snapshot).toBe(snapshot);
  expect(r.outputs.version).toBe(BASE_VERSION);
  expect(r.outputs.healthy).toBe('true');
  expect(Number(r.outputs['mttr-seconds'])).toBeGreaterThan(0);
  expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
  expect(r.report!.velero!.phase).toBe('Completed');
  expect(r.report!.velero!.podVolumeRestores.length).toBeGreaterThan(0);
  expect(await lab.readVolume('openedx', 'mysql-data')).toEqual(backupData);
  expect(r.summary).toContain('```mermaid\ngantt');
  expect(r.summary).toMatch(/MTTR: [\d.]+ s/);
  expect(await versions()).toEqual(Array(6).fill(BASE_VERSION));
});
