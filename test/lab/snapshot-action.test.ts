/**
 * The snapshot action end to end on a 1+1 lab (fast timing), through the BUNDLED action run as
 * the runner runs it (actions/snapshot/dist/index.js on Node 24 with INPUT_* variables and the
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files) and through the CLI (node bin/rke2-ops.js snapshot).
 * etcdutl for the restore level comes through @actions/tool-cache from a local HTTP server that
 * serves the Go-built etcd tools as etcd's release archive (checksum verified).
 *
 * Shown: the S3 copy equals the local file byte for byte (downloaded here); the metadata on the
 * master and in S3; the pre-upgrade marker; a Velero backup; a trial restore that passes on a
 * good snapshot and fails on same-size garbage; two snapshots in the same second; retention of
 * one prefix only; list mode. Failures, each with verified=false, a clear error and nothing
 * deleted (every failing run has retention 1, so a wrongly passing run WOULD delete): server
 * not running, S3 down during the save (RKE2 still says `saved`), bad S3 credentials, object
 * missing or of the wrong size, disk full, Velero PartiallyFailed and FailedValidation, timeout.
 * No S3 secret (nor the access key) in any log, output, summary, report or metadata.
 * Build first (npm run build): this tests the committed bundles.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from './lab.js';
import { loadS3Sdk } from './aws-sdk.js';
import { runBundledAction, type ActionRun } from '../helpers/run-action.js';
import { startEtcdReleaseServer, type EtcdReleaseServer } from '../helpers/etcd-release-server.js';
import type { SnapshotReport } from '../../src/snapshot/types.js';
import { restoreCheck } from '../../src/snapshot/verify.js';

jest.setTimeout(300_000);

const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/rke2-ops.js');
const NAME = 'snap-act';
const M0 = `${NAME}-master-0`;
const DATA = '/var/lib/rancher/rke2';
const SNAPDIR = `${DATA}/server/db/snapshots`;
const METADIR = `${DATA}/server/db/.metadata`;
const MARKER = `${DATA}/server/last-pre-upgrade-snapshot`;

let lab: Lab;
let etcd: EtcdReleaseServer;
let toolCache: string;
/** The lab's S3 key pair (s3rver's: the access key and the secret are the same string). */
let SECRET: string;
/** Every text a run produced: grepped for the secret at the end and after each run. */
const seen: { what: string; text: string }[] = [];
let s3: InstanceType<Awaited<ReturnType<typeof loadS3Sdk>>['S3Client']>;
let sdk: Awaited<ReturnType<typeof loadS3Sdk>>;

beforeAll(async () => {
  [lab, etcd] = await Promise.all([
    createLab({
      masters: 1,
      workers: 1,
      name: NAME,
      scenario: 'healthy',
      timing: 'fast',
      etcdS3Timeout: '8s',
    }),
    startEtcdReleaseServer(),
  ]);
  SECRET = lab.s3.secretAccessKey;
  expect(SECRET.length).toBeGreaterThan(3);
  toolCache = mkdtempSync(join(tmpdir(), 'snap-act-toolcache-'));
  sdk = await loadS3Sdk();
  s3 = new sdk.S3Client({
    endpoint: `http://${lab.s3.endpoint}`,
    region: lab.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: lab.s3.accessKeyId, secretAccessKey: lab.s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});
afterAll(async () => {
  s3?.destroy();
  await etcd?.close();
  await lab?.destroy();
});

// ---- helpers ------------------------------------------------------------------------------------

function expectNoSecret(what: string, text: string): void {
  seen.push({ what, text });
  if (text.includes(SECRET)) throw new Error(`the S3 secret appears in ${what}`);
}

interface SnapRun {
  code: number | null;
  report: SnapshotReport;
  outputs: Record<string, string>;
  summary: string;
  log: string;
}

/** The bundled action (Node 24, runner contract); the report file is read before it is gone. */
async function action(inputs: Record<string, string>): Promise<SnapRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'snap-act-runner-'));
  const r: ActionRun = await runBundledAction(
    'snapshot',
    {
      'inventory-file': lab.inventoryPath,
      'ssh-key': lab.privateKey,
      's3-access-key': lab.s3.accessKeyId,
      's3-secret-key': lab.s3.secretAccessKey,
      'etcd-download-base-url': etcd.baseUrl,
      ...inputs,
    },
    { RUNNER_TEMP: runnerTemp, RUNNER_TOOL_CACHE: toolCache },
    240_000,
  );
  expect(r.nodeVersion).toMatch(/^v24\./);
  const log = `${r.stdout.replace(/^::add-mask::.*$/gm, '')}\n${r.stderr}`;
  if (!r.outputs.report) throw new Error(`no report output (exit ${r.code}):\n${log}`);
  const file = r.outputs['report-file']!;
  expect(existsSync(file)).toBe(true);
  for (const [what, text] of [
    ['action log', log],
    ['job summary', r.summary],
    ['outputs', JSON.stringify(r.outputs)],
    ['report file', readFileSync(file, 'utf8')],
  ] as const)
    expectNoSecret(what, text);
  return {
    code: r.code,
    report: JSON.parse(r.outputs.report) as SnapshotReport,
    outputs: r.outputs,
    summary: r.summary,
    log,
  };
}

/** The CLI with --json and --report-file; S3 keys from the environment, as documented. */
async function cli(args: string[]): Promise<SnapRun> {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'snap-act-cli-')), 'report.json');
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'snapshot',
        ...args,
        '-i',
        lab.inventoryPath,
        '-k',
        lab.privateKeyPath,
        '--json',
        '--report-file',
        reportFile,
      ],
      {
        cwd: tmpdir(),
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          RKE2OPS_S3_ACCESS_KEY: lab.s3.accessKeyId,
          RKE2OPS_S3_SECRET_KEY: lab.s3.secretAccessKey,
          RKE2OPS_TOOL_CACHE: toolCache,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  if (!r.stdout.trim()) throw new Error(`CLI printed no report (exit ${r.code}):\n${r.stderr}`);
  expectNoSecret('CLI output', `${r.stdout}\n${r.stderr}`);
  expectNoSecret('CLI report file', readFileSync(reportFile, 'utf8'));
  return {
    code: r.code,
    report: JSON.parse(r.stdout) as SnapshotReport,
    outputs: {},
    summary: '',
    log: r.stderr,
  };
}

async function sh(cmd: string): Promise<string> {
  return (await (await lab.shell(M0)).check(['bash', '-c', cmd])).stdout;
}

const s3Key = (file: string) => `${lab.s3.folder}/${file}`;

async function getObject(key: string): Promise<Buffer | null> {
  try {
    const r = await s3.send(new sdk.GetObjectCommand({ Bucket: lab.s3.bucket, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return null;
    throw error;
  }
}

async function putObject(key: string, body: Buffer): Promise<void> {
  await s3.send(new sdk.PutObjectCommand({ Bucket: lab.s3.bucket, Key: key, Body: body }));
}

async function s3Keys(): Promise<string[]> {
  const r = await s3.send(
    new sdk.ListObjectsV2Command({ Bucket: lab.s3.bucket, Prefix: `${lab.s3.folder}/` }),
  );
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

/** What a failing run must leave alone: every snapshot file, every S3 object, the marker. */
async function state(): Promise<{ local: string[]; s3: string[]; marker: string }> {
  return {
    local: (await sh(`ls -1 ${SNAPDIR} ${METADIR} 2>/dev/null || true`)).split('\n').filter(Boolean).sort(),
    s3: await s3Keys(),
    marker: (await sh(`cat ${MARKER} 2>/dev/null || true`)).trim(),
  };
}

/** verified=false, one clear error (phase, node, next step), nothing deleted, marker kept. */
async function expectFailedRun(
  r: SnapRun,
  before: Awaited<ReturnType<typeof state>>,
  want: { phase: string; message: RegExp },
): Promise<void> {
  expect(r.code).toBe(1);
  expect(r.report.verified).toBe(false);
  if (r.outputs.verified !== undefined) {
    expect(r.outputs.verified).toBe('false');
    expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
    expect(r.summary).toMatch(/not verified/i);
    expect(r.log).toContain('Nothing was deleted');
  }
  expect(r.report.failure?.phase).toBe(want.phase);
  expect(r.report.failure?.message).toMatch(want.message);
  expect(r.report.failure?.next).toBeTruthy();
  expect(r.report.retention?.deleted ?? []).toEqual([]);
  const after = await state();
  for (const f of before.local) expect(after.local).toContain(f);
  for (const k of before.s3) expect(after.s3).toContain(k);
  expect(after.marker).toBe(before.marker);
}

let good: SnapshotReport;

// ---- the good path ------------------------------------------------------------------------------

test('action, restore level: S3 copy byte-equal, metadata on the master and in S3, marker, Velero, etcdutl via the tool cache', async () => {
  const r = await action({ 'verify-level': 'restore', retention: '0' });
  if (!r.report.verified) throw new Error(`not verified:\n${r.log}`);
  expect(r.code).toBe(0);
  good = r.report;
  const file = r.outputs.snapshot!;
  expect(file).toMatch(new RegExp(`^pre-upgrade-\\d{8}T\\d{6}Z-[0-9a-f]{6}-${M0}-\\d{10}$`));
  expect(r.outputs.verified).toBe('true');
  expect(r.outputs['s3-key']).toBe(s3Key(file));
  expect(r.outputs['rke2-version']).toBe('v1.34.4+rke2r1');
  expect(JSON.parse(r.outputs['rke2-versions']!)).toHaveProperty(M0, 'v1.34.4+rke2r1');
  expect(r.outputs['velero-phase']).toBe('Completed');
  expect(Number(r.outputs['duration-seconds'])).toBeGreaterThan(0);
  for (const level of ['local', 's3', 'restore'])
    expect(r.report.checks.filter((c) => c.level === level).every((c) => c.status === 'pass')).toBe(true);
  expect(r.report.checks.map((c) => c.name)).toEqual(
    expect.arrayContaining([
      'preflight',
      'local-file',
      's3-object',
      's3-sha256',
      'restore',
      'velero-backup',
      'metadata-s3',
      'metadata-local',
    ]),
  );
  // etcdutl came from the release server through the tool cache, checksum checked.
  expect(etcd.requests).toEqual(
    expect.arrayContaining([
      `/v${etcd.version}/SHA256SUMS`,
      `/v${etcd.version}/etcd-v${etcd.version}-linux-amd64.tar.gz`,
    ]),
  );
  expect(r.log).toMatch(/sha256 [0-9a-f]{64} verified against SHA256SUMS/);

  // Byte for byte: the S3 object downloaded here equals the file on the master.
  const local = Buffer.from((await sh(`base64 -w0 ${SNAPDIR}/${file}`)).trim(), 'base64');
  const remote = await getObject(s3Key(file));
  expect(remote).not.toBeNull();
  expect(remote!.equals(local)).toBe(true);
  expect(createHash('sha256').update(local).digest('hex')).toBe(r.outputs.sha256);
  expect(String(local.length)).toBe(r.outputs.size);

  // Metadata in both places, identical, with what rollback needs.
  const onMaster = JSON.parse(await sh(`cat ${METADIR}/${file}.rke2-ops.json`));
  const inS3 = JSON.parse(
    (await getObject(`${lab.s3.folder}/.metadata/${file}.rke2-ops.json`))!.toString('utf8'),
  );
  expect(inS3).toEqual(onMaster);
  expect(onMaster).toMatchObject({
    file,
    sha256: r.outputs.sha256,
    size: local.length,
    cluster: NAME,
    s3: { key: s3Key(file), bucket: lab.s3.bucket },
    rke2: { nodes: { [M0]: 'v1.34.4+rke2r1' } },
    velero: { name: r.outputs['velero-backup'], phase: 'Completed' },
    verification: { level: 'restore', verified: true },
  });
  expect(onMaster.tokenSha256).toBe(
    (await sh(`printf %s "$(cat ${DATA}/server/token)" | sha256sum | cut -d' ' -f1`)).trim(),
  );
  expect(onMaster.counts.before).toEqual({
    nodes: 2,
    namespaces: expect.any(Number),
    secrets: expect.any(Number),
  });
  expect(onMaster.etcd.storageVersion).toMatch(/^3\.6/);
  for (const text of [JSON.stringify(onMaster), JSON.stringify(inS3)]) expectNoSecret('metadata', text);
  // The token itself is nowhere.
  const token = (await sh(`cat ${DATA}/server/token`)).trim();
  expect(JSON.stringify(r.outputs)).not.toContain(token);

  expect((await sh(`cat ${MARKER}`)).trim()).toBe(file);
  expect(r.summary).toContain('| ');
  expect(r.summary).toContain('gantt');
  expect(r.summary).toContain(file);
});

test('restore level: fails on an S3 object replaced by same-size garbage, missing or of the wrong size (verify mode, nothing deleted)', async () => {
  const file = good.snapshot!.file;
  const key = s3Key(file);
  const original = (await getObject(key))!;
  try {
    // The trial restore alone rejects the garbage (not only the sha256 comparison).
    const garbagePath = join(mkdtempSync(join(tmpdir(), 'snap-act-garbage-')), file);
    const garbage = randomBytes(original.length);
    writeFileSync(garbagePath, garbage);
    const tools = {
      etcdutl: join(toolCache, 'etcd', etcd.version, 'amd64', 'etcdutl'),
      etcd: join(toolCache, 'etcd', etcd.version, 'amd64', 'etcd'),
    };
    expect(existsSync(tools.etcdutl)).toBe(true);
    const direct = await restoreCheck(garbagePath, {
      compressed: false,
      tools: {
        ...tools,
        dir: join(toolCache, 'etcd', etcd.version, 'amd64'),
        version: etcd.version,
        source: 'cache',
      },
      expected: null,
      tempDir: tmpdir(),
    });
    expect(direct.check.status).toBe('fail');
    expect(direct.check.message).toMatch(/snapshot status|invalid|corrupt|not a valid|restore/i);

    await putObject(key, garbage);
    let before = await state();
    let r = await action({ mode: 'verify', snapshot: file, 'verify-level': 'restore' });
    await expectFailedRun(r, before, { phase: 'verify-s3', message: /sha256/ });
    expect(r.report.checks.find((c) => c.name === 's3-object')?.status).toBe('pass'); // same size

    await putObject(key, original.subarray(0, original.length - 4096));
    before = await state();
    r = await cli(['verify', file, '--level', 's3']);
    await expectFailedRun(r, before, {
      phase: 'verify-s3',
      message: new RegExp(`${original.length - 4096}.*${original.length}|size`),
    });

    await s3.send(new sdk.DeleteObjectCommand({ Bucket: lab.s3.bucket, Key: key }));
    before = await state();
    r = await cli(['verify', file, '--level', 's3']);
    await expectFailedRun(r, before, {
      phase: 'verify-s3',
      message: /not found|missing|does not exist|no such/i,
    });
  } finally {
    await putObject(key, original);
  }
  // Repaired: the same verification passes again (the failures were about the object).
  const ok = await action({ mode: 'verify', snapshot: file, 'verify-level': 'restore' });
  expect(ok.report.verified).toBe(true);
});

test('CLI: two snapshots started in the same second do not clobber each other', async () => {
  // Up to three tries to land both saves in one second (each run names its own base).
  for (let attempt = 0; ; attempt++) {
    const [a, b] = await Promise.all([
      cli(['save', '--prefix', 'twin', '--kind', 'on-demand', '--velero', 'false', '--retention', '0']),
      cli(['save', '--prefix', 'twin', '--kind', 'on-demand', '--velero', 'false', '--retention', '0']),
    ]);
    expect(a.report.verified).toBe(true);
    expect(b.report.verified).toBe(true);
    const [fa, fb] = [a.report.snapshot!.file, b.report.snapshot!.file];
    expect(fa).not.toBe(fb);
    expect(a.report.snapshot!.sha256).toBeTruthy();
    const keys = await s3Keys();
    for (const f of [fa, fb]) {
      expect(keys).toContain(s3Key(f));
      expect(keys).toContain(`${lab.s3.folder}/.metadata/${f}.rke2-ops.json`);
      const meta = JSON.parse(await sh(`cat ${METADIR}/${f}.rke2-ops.json`));
      expect(meta.file).toBe(f);
    }
    const stamp = (f: string) => /-(\d{8}T\d{6}Z)-/.exec(f)![1];
    if (stamp(fa) === stamp(fb) || attempt === 2) {
      expect(stamp(fa)).toBe(stamp(fb));
      break;
    }
  }
});

test('CLI: retention keeps the newest N of its own prefix; other prefixes and scheduled snapshots stay; list marks the rollback target', async () => {
  const scheduled = await lab.scheduledSnapshots({ at: new Date('2027-01-01T06:00:00Z') });
  expect(scheduled[0]!.created.length).toBeGreaterThan(0);
  const files: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await cli([
      'save',
      '--prefix',
      'ret',
      '--kind',
      'on-demand',
      '--velero',
      'false',
      '--retention',
      '2',
    ]);
    expect(r.report.verified).toBe(true);
    files.push(r.report.snapshot!.file);
    if (i === 2) expect(r.report.retention?.deleted).toEqual([files[0]]);
  }
  const { local, s3: keys } = await state();
  expect(local).not.toContain(files[0]);
  expect(local).not.toContain(`${files[0]}.rke2-ops.json`);
  expect(keys).not.toContain(s3Key(files[0]!));
  expect(keys).not.toContain(`${lab.s3.folder}/.metadata/${files[0]}.rke2-ops.json`);
  for (const f of files.slice(1)) {
    expect(local).toContain(f);
    expect(keys).toContain(s3Key(f));
  }
  // Other prefixes (the pre-upgrade and twin snapshots) and the scheduled ones are untouched.
  expect(local).toContain(good.snapshot!.file);
  expect(local.some((f) => f.startsWith('twin-'))).toBe(true);
  expect(local.some((f) => f.startsWith('etcd-snapshot-'))).toBe(true);
  // on-demand does not move the pre-upgrade marker.
  expect((await state()).marker).toBe(good.snapshot!.file);

  const list = await cli(['list']);
  expect(list.code).toBe(0);
  expect(list.report.latestPreUpgrade).toBe(good.snapshot!.file);
  const byFile = new Map(list.report.listing!.map((e) => [e.file, e]));
  expect(byFile.get(good.snapshot!.file)).toBeDefined();
  expect([...byFile.keys()].some((f) => f.startsWith('etcd-snapshot-'))).toBe(true);
  expect(byFile.has(files[0]!)).toBe(false);

  const listed = await action({ mode: 'list' });
  expect(listed.code).toBe(0);
  expect(listed.outputs['latest-pre-upgrade']).toBe(good.snapshot!.file);
  expect(JSON.parse(listed.outputs.snapshots!).length).toBe(list.report.listing!.length);
  expect(listed.summary).toContain(good.snapshot!.file);
});

// ---- failures: verified=false, a clear error, nothing deleted -----------------------------------

test('rke2-server not running: preflight fails before anything is saved', async () => {
  const before = await state();
  await lab.service(M0, 'stop');
  try {
    const r = await action({ retention: '1', velero: 'false' });
    await expectFailedRun(r, before, {
      phase: 'preflight',
      message: /rke2-server is (inactive|failed|deactivating)/,
    });
    expect(r.report.snapshot).toBeUndefined();
  } finally {
    await lab.service(M0, 'start');
  }
});

test('S3 down during the save (RKE2 still says saved) and bad S3 credentials: the s3 level fails, RKE2 recorded why', async () => {
  let before = await state();
  await lab.applyScenario('s3-down', { mode: 'refuse' });
  let r: SnapRun;
  try {
    r = await action({ retention: '1', velero: 'false' });
  } finally {
    await lab.clearScenario('s3-down');
  }
  await expectFailedRun(r, before, {
    phase: 'verify-s3',
    message: /cannot connect.*RKE2 printed 1 "saved" line/s,
  });
  expect(r.report.checks.find((c) => c.name === 'local-file')?.status).toBe('pass');
  expect(r.outputs['failed-checks']).toContain('s3-object');

  before = await state();
  await lab.applyScenario('s3-bad-credentials');
  try {
    r = await cli(['save', '--retention', '1', '--velero', 'false']);
  } finally {
    await lab.clearScenario('s3-bad-credentials');
  }
  await expectFailedRun(r, before, { phase: 'verify-s3', message: /access denied.*s3-access-key/s });
});

test("disk full: RKE2 exits 0 and writes nothing; the save fails with RKE2's ENOSPC record", async () => {
  const before = await state();
  await lab.applyScenario('disk-full');
  let r: SnapRun;
  try {
    r = await action({ retention: '1', velero: 'false' });
  } finally {
    await lab.clearScenario('disk-full');
  }
  await expectFailedRun(r, before, { phase: 'save', message: /no file .* exists.*no space left on device/s });
});

test('Velero PartiallyFailed and FailedValidation fail the gate (the etcd snapshot itself verified)', async () => {
  for (const result of ['PartiallyFailed', 'FailedValidation']) {
    const before = await state();
    lab.setSettings({ veleroResult: result });
    let r: SnapRun;
    try {
      r = await action({ retention: '1' });
    } finally {
      lab.setSettings({});
    }
    await expectFailedRun(r, before, { phase: 'velero', message: new RegExp(result) });
    expect(r.outputs['velero-phase']).toBe(result);
    expect(r.report.checks.find((c) => c.name === 's3-sha256')?.status).toBe('pass');
    expect(r.report.metadata?.verification.verified).toBe(false);
    expect(r.report.metadata?.velero?.phase).toBe(result);
    if (result === 'FailedValidation') expect(r.report.velero?.validationErrors.length).toBeGreaterThan(0);
  }
  // Allowed on request: PartiallyFailed passes with velero-allow-partially-failed.
  lab.setSettings({ veleroResult: 'PartiallyFailed' });
  try {
    const r = await action({ retention: '0', kind: 'on-demand', 'velero-allow-partially-failed': 'true' });
    expect(r.report.verified).toBe(true);
  } finally {
    lab.setSettings({});
  }
});

test('timeout: a hanging S3 (blackhole) makes the save outlive the time budget', async () => {
  const before = await state();
  await lab.s3Down({ mode: 'blackhole' });
  let r: SnapRun;
  try {
    r = await action({ retention: '1', velero: 'false', timeout: '4s' });
  } finally {
    await lab.s3Up();
  }
  await expectFailedRun(r, before, { phase: 'save', message: /did not finish/ });
  // (The hung save ends on the node after etcd-s3-timeout; kept last so nothing waits for it.)
});

test('no S3 secret anywhere (every run of this file was checked as it ran)', () => {
  expect(seen.length).toBeGreaterThan(20);
  expect(seen.filter((s) => s.text.includes(SECRET))).toEqual([]);
});
