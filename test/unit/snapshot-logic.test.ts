/**
 * The snapshot capability's pure logic (the lab test covers the whole path): names that never
 * clobber, retention that never leaves its prefix, the Velero verdict, the etcd release
 * checksum handling and the installer refusing a tampered archive (with a fake tool cache).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOwnSnapshotFile, snapshotBaseName, snapshotOrigin, utcStamp } from '../../src/rke2/names.js';
import { selectForDeletion } from '../../src/snapshot/retention.js';
import { veleroVerdict } from '../../src/velero/run.js';
import type { VeleroBackupResult } from '../../src/velero/types.js';
import { checksumFor, etcdReleaseFiles, installEtcdTools, type ToolCache } from '../../src/etcd/install.js';
import { silentLogger } from '../../src/lib/logger.js';
import { batchScript, parseBatch } from '../../src/rke2/batch.js';
import { sh } from '../../src/lib/quote.js';
import { execFileSync } from 'node:child_process';

const AT = new Date('2027-01-01T12:00:00.400Z');
const file = (prefix: string, nonce: string, ts: number, node = 'prod-master-0') =>
  `${prefix}-${utcStamp(AT)}-${nonce}-${node}-${ts}`;

describe('snapshot names', () => {
  test('two saves in the same second get different names (and files)', () => {
    const a = snapshotBaseName('pre-upgrade', AT);
    const b = snapshotBaseName('pre-upgrade', AT);
    expect(a).toMatch(/^pre-upgrade-20270101T120000Z-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
  });

  test('own files parse only under their own prefix; scheduled ones are recognised', () => {
    const f = file('pre-upgrade', 'abc123', 1798804800);
    expect(parseOwnSnapshotFile(f, 'pre-upgrade')).toMatchObject({
      baseName: 'pre-upgrade-20270101T120000Z-abc123',
      node: 'prod-master-0',
      unixTs: 1798804800,
    });
    expect(parseOwnSnapshotFile(f, 'pre')).toBeNull();
    expect(parseOwnSnapshotFile(`${f}.zip`, 'pre-upgrade')?.compressed).toBe(true);
    expect(snapshotOrigin('etcd-snapshot-prod-master-0-1798804800')).toBe('scheduled');
    expect(snapshotOrigin(f)).toBe('toolkit');
    expect(snapshotOrigin('on-demand-prod-master-0-1798804800')).toBe('other');
  });
});

describe('retention of one prefix', () => {
  const mine = [1, 2, 3, 4].map((i) => file('pre-upgrade', `00000${i}`, 1798804800 + i * 60));
  const others = [
    'etcd-snapshot-prod-master-0-1798800000',
    'on-demand-prod-master-0-1798800000',
    file('pre-upgrade-x', '000009', 1798800000),
    file('nightly', '000009', 1798800000),
  ];

  test('keeps the current one and keep-1 newest older ones; never another prefix or a scheduled one', () => {
    const r = selectForDeletion([...mine, ...others], mine[3]!, 'pre-upgrade', 2);
    expect(r.deleted).toEqual([mine[1], mine[0]]);
    expect(r.kept).toEqual([mine[2]]);
    for (const o of others) expect(r.deleted).not.toContain(o);
  });

  test('a newer snapshot (a concurrent run, even in the same second) is never deleted', () => {
    const sameSecond = file('pre-upgrade', 'ffffff', 1798804800 + 3 * 60);
    const r = selectForDeletion([...mine, sameSecond], mine[2]!, 'pre-upgrade', 1);
    expect(r.deleted).toEqual([mine[1], mine[0]]);
    expect(r.kept).toEqual(expect.arrayContaining([mine[3], sameSecond]));
  });

  test('keep 0 deletes nothing; a current file of another prefix deletes nothing', () => {
    expect(selectForDeletion(mine, mine[3]!, 'pre-upgrade', 0).deleted).toEqual([]);
    expect(selectForDeletion(mine, others[0]!, 'pre-upgrade', 1).deleted).toEqual([]);
  });
});

describe('Velero verdict', () => {
  const base: VeleroBackupResult = {
    name: 'pre-upgrade-x',
    namespace: 'velero',
    schedule: 'velero-full-cluster',
    storageLocation: 'default',
    phase: 'Completed',
    phasesSeen: ['InProgress', 'Finalizing', 'Completed'],
    errors: 0,
    warnings: 0,
    validationErrors: [],
    failedVolumes: [],
    timedOut: false,
    durationSeconds: 3,
  };
  const cases: [string, Partial<VeleroBackupResult>, boolean][] = [
    ['Completed', {}, true],
    ['PartiallyFailed', { errors: 1 }, false],
    ['Failed', { failureReason: 'backup already exists in object storage' }, false],
    [
      'FailedValidation',
      { validationErrors: ['BackupStorageLocation default is in Unavailable status.'] },
      false,
    ],
    ['InProgress', { timedOut: true }, false],
    ['', { failureReason: 'not started: BackupStorageLocation default is Unavailable' }, false],
  ];
  test.each(cases)('phase %j (%j) -> ok %j', (phase, extra, ok) => {
    const v = veleroVerdict({ ...base, ...extra, phase });
    expect(v.ok).toBe(ok);
    if (!ok)
      for (const detail of Object.values(extra).flat())
        if (typeof detail === 'string') expect(v.message).toContain(detail);
  });
  test('PartiallyFailed passes only when allowed', () => {
    expect(veleroVerdict({ ...base, phase: 'PartiallyFailed' }, true).ok).toBe(true);
    expect(veleroVerdict({ ...base, phase: 'Failed' }, true).ok).toBe(false);
  });
});

describe('etcd release install', () => {
  const version = '3.6.16';
  const files = etcdReleaseFiles(version, { os: 'linux', arch: 'amd64' });

  test('SHA256SUMS lines (text and binary mode) are matched by exact file name', () => {
    const h = 'a'.repeat(64);
    const sums = `${'b'.repeat(64)}  ${files.archive}.asc\n${h} *${files.archive}\n`;
    expect(checksumFor(sums, files.archive)).toBe(h);
    expect(checksumFor(sums, 'etcd-v3.6.16-linux-arm64.tar.gz')).toBeUndefined();
  });

  function fakeCache(archive: Buffer, sums: string) {
    const dir = mkdtempSync(join(tmpdir(), 'fake-tc-'));
    const fake = { downloads: [] as string[], extracted: 0, tc: null as unknown as ToolCache };
    fake.tc = {
      find: () => '',
      downloadTool: async (url) => {
        fake.downloads.push(url);
        const p = join(dir, String(fake.downloads.length));
        writeFileSync(p, url.endsWith('SHA256SUMS') ? sums : archive);
        return p;
      },
      extractTar: async () => {
        fake.extracted++;
        return dir;
      },
      extractZip: async () => dir,
      cacheDir: async (d) => d,
    };
    return fake;
  }

  test('an archive whose sha256 differs from SHA256SUMS is refused before it is unpacked', async () => {
    const archive = Buffer.from('not the archive SHA256SUMS describes');
    const sums = `${createHash('sha256').update('the real archive').digest('hex')}  ${files.archive}\n`;
    const fake = fakeCache(archive, sums);
    await expect(
      installEtcdTools(
        { version, baseUrl: 'http://127.0.0.1:1/' },
        { toolCache: fake.tc, logger: silentLogger, platform: { os: 'linux', arch: 'amd64' } },
      ),
    ).rejects.toThrow(/does not match .* refusing/);
    expect(fake.extracted).toBe(0);
    expect(fake.downloads).toEqual([
      `http://127.0.0.1:1/v${version}/SHA256SUMS`,
      `http://127.0.0.1:1/v${version}/${files.archive}`,
    ]);
  });

  test('SHA256SUMS without a line for the archive: nothing is downloaded beyond it', async () => {
    const fake = fakeCache(Buffer.from('x'), `${'c'.repeat(64)}  other.tar.gz\n`);
    await expect(
      installEtcdTools(
        { version, baseUrl: 'http://127.0.0.1:1' },
        { toolCache: fake.tc, logger: silentLogger, platform: { os: 'linux', arch: 'amd64' } },
      ),
    ).rejects.toThrow(/has no line for/);
    expect(fake.downloads).toHaveLength(1);
  });
});

describe('batch with parallel steps', () => {
  test('consecutive parallel steps run together after the step before them, and are waited for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-'));
    const flag = join(dir, 'flag');
    const steps = [
      { key: 'first', command: sh`echo first`, stopOnFailure: true },
      // waits for a file only its sibling creates: deadlocks (then times out) when run in sequence
      {
        key: 'waiter',
        command: sh`timeout 5 bash -c ${`until [ -e ${flag} ]; do sleep 0.05; done`}; echo waited`,
        parallel: true,
      },
      { key: 'maker', command: sh`sleep 0.2; touch ${flag}; echo made`, parallel: true },
      { key: 'last', command: sh`ls ${flag}` },
    ];
    const stdout = execFileSync('bash', ['-c', batchScript(steps)], { encoding: 'utf8' });
    const r = parseBatch(steps, {
      host: 'local',
      code: 0,
      signal: null,
      stdout,
      stderr: '',
      durationMs: 0,
      timedOut: false,
    } as never);
    expect(r.waiter).toMatchObject({ ran: true, code: 0, stdout: 'waited\n' });
    expect(r.maker).toMatchObject({ ran: true, code: 0, stdout: 'made\n' });
    expect(r.last!.code).toBe(0);
  });

  test('a failed stopOnFailure step keeps the parallel steps after it from running', () => {
    const steps = [
      { key: 'save', command: sh`exit 3`, stopOnFailure: true },
      { key: 'ls', command: sh`echo ls`, parallel: true },
    ];
    const stdout = execFileSync('bash', ['-c', batchScript(steps)], { encoding: 'utf8' });
    const r = parseBatch(steps, {
      host: 'local',
      code: 0,
      signal: null,
      stdout,
      stderr: '',
      durationMs: 0,
      timedOut: false,
    } as never);
    expect(r.save!.code).toBe(3);
    expect(r.ls).toMatchObject({ ran: false, stdout: '' });
  });
});
