/**
 * The incident capability's pure parts: the report envelope (any action's report -> what
 * failed, the verdict, the snapshot hint), the inputs, the labels and markers, and the text of
 * issues and comments (tables escaped, rollback commands exact, GitHub's size limit kept).
 */
import { parseReport, subjectOf, type IncidentSubject } from '../../src/incident/envelope.js';
import type { RollbackReport } from '../../src/rollback/types.js';
import { readIncidentConfig } from '../../src/incident/config.js';
import { eventMarker, incidentLabel, incidentMarker, LABEL_MAX } from '../../src/incident/identity.js';
import {
  duration,
  failureComment,
  issueBody,
  issueTitle,
  rollbackCommands,
} from '../../src/incident/render.js';
import { redactSecretPatterns } from '../../src/lib/secret-patterns.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { COMMENT_BODY_LIMIT } from '../../src/github/markdown.js';

const health = (over: Record<string, unknown> = {}) => ({
  kind: 'health-check',
  cluster: 'prod-eu',
  healthy: false,
  verdict: 'NOT healthy after 3 poll(s) in 30 s',
  startedAt: '2027-01-01T10:00:00.000Z',
  finishedAt: '2027-01-01T10:00:30.000Z',
  checks: [
    { name: 'api', status: 'pass', message: 'ready' },
    {
      name: 'pods/kube-dns',
      status: 'fail',
      message: '0/2 Ready: CrashLoopBackOff',
      failing: ['m-0', 'm-1'],
    },
    { name: 'node-versions', status: 'fail', message: 'expected v1.34.4+rke2r1' },
  ],
  failedChecks: ['pods/kube-dns', 'node-versions'],
  pollHistory: [{ poll: 1 }],
  ...over,
});

const ctx = { repository: { owner: 'acme', repo: 'ops' }, rollbackWorkflow: 'rollback.yml' };

describe('report envelope', () => {
  test("health-check's report: failed checks with where, the verdict, no snapshot", () => {
    const s = parseReport(JSON.stringify(health()), 'report');
    expect(s).toMatchObject({
      kind: 'health-check',
      cluster: 'prod-eu',
      ok: false,
      at: '2027-01-01T10:00:30.000Z',
    });
    expect(s.failures).toEqual([
      { check: 'pods/kube-dns', detail: '0/2 Ready: CrashLoopBackOff', where: ['m-0', 'm-1'] },
      { check: 'node-versions', detail: 'expected v1.34.4+rke2r1', where: [] },
    ]);
    expect(s.snapshot).toBeUndefined();
  });

  test('any kind with `ok`; failedChecks, error or the verdict when there are no checks', () => {
    const base = { kind: 'backup-freshness', cluster: 'c1', ok: false };
    expect(subjectOf({ ...base, failedChecks: ['etcd-age'] }, 'r').failures).toEqual([
      { check: 'etcd-age', detail: '', where: [] },
    ]);
    expect(subjectOf({ ...base, error: { phase: 'reset', message: 'boom' } }, 'r').failures).toEqual([
      { check: 'reset', detail: 'boom', where: [] },
    ]);
    expect(subjectOf({ ...base, verdict: 'snapshot 3 d old' }, 'r').failures).toEqual([
      { check: 'backup-freshness', detail: 'snapshot 3 d old', where: [] },
    ]);
    expect(subjectOf({ ...base, ok: true }, 'r')).toMatchObject({ ok: true, failures: [] });
  });

  test('a verified snapshot in the report is named; an unverified one is not', () => {
    const snapshot = {
      name: 'pre-upgrade-m-0-1767261600.zip',
      verified: true,
      createdAt: '2027-01-01T09:00:00Z',
    };
    expect(parseReport(JSON.stringify(health({ snapshot })), 'r').snapshot).toMatchObject({
      name: snapshot.name,
      source: 'report',
    });
    const unverified = { ...snapshot, verified: false };
    expect(parseReport(JSON.stringify(health({ snapshot: unverified })), 'r').snapshot).toBeUndefined();
  });

  test("rollback's report (snapshot named `file`, no `verified`) is accepted; its snapshot is never offered as a target", () => {
    const rollback: Pick<
      RollbackReport,
      'kind' | 'cluster' | 'ok' | 'verdict' | 'snapshot' | 'startedAt' | 'finishedAt'
    > = {
      kind: 'rollback',
      cluster: 'prod',
      ok: false,
      verdict: 'rollback failed in join-peers',
      snapshot: {
        file: 'pre-upgrade-20270101-090000-abc123-m-0-1767261600.zip',
        sha256: 'a'.repeat(64),
        size: 1024,
        resolvedFrom: 'marker',
        source: { kind: 'local', path: '/var/lib/rancher/rke2/server/db/snapshots/x.zip' },
        createdAt: '2027-01-01T09:00:00Z',
      },
      startedAt: '2027-01-01T10:00:00Z',
      finishedAt: '2027-01-01T10:05:00Z',
    };
    const s = parseReport(JSON.stringify(rollback), 'report');
    expect(s).toMatchObject({ kind: 'rollback', cluster: 'prod', ok: false, verdict: rollback.verdict });
    expect(s.failures.length).toBeGreaterThan(0);
    expect(s.snapshot).toBeUndefined();
  });

  test('errors name the input and the field', () => {
    expect(() => parseReport('{', 'report-file')).toThrow(/^report-file: is not JSON/);
    expect(() => parseReport(JSON.stringify({ kind: 'x', cluster: 'Bad Name', ok: true }), 'report')).toThrow(
      /report\.cluster: must be a cluster name/,
    );
    expect(() => parseReport(JSON.stringify({ kind: 'x', cluster: 'c' }), 'report')).toThrow(
      /neither `ok` nor `healthy`/,
    );
    expect(() =>
      parseReport(JSON.stringify({ kind: 'x', cluster: 'c', ok: true, healthy: false }), 'r'),
    ).toThrow(/ok=true but healthy=false/);
    expect(() => parseReport(JSON.stringify({ kind: 'X Y', cluster: 'c', ok: true }), 'r')).toThrow(
      /report\.kind/,
    );
  });
});

describe('inputs', () => {
  const get = (values: Record<string, string>) => (name: string) => values[name] ?? '';
  const report = JSON.stringify(health());

  test('the token is registered at once; repository defaults to the run; snapshot input wins', async () => {
    const secrets = new SecretRegistry();
    const cfg = await readIncidentConfig(
      get({ report, 'github-token': 'ghs_abcdefghijklmnop', snapshot: 'manual-m-0-1767261600' }),
      secrets,
      { repository: 'acme/ops' },
    );
    expect(secrets.redact('x ghs_abcdefghijklmnop y')).toBe('x *** y');
    expect(cfg.incident).toMatchObject({
      repository: { owner: 'acme', repo: 'ops' },
      rollbackWorkflow: 'rollback.yml',
      closeOnRecovery: true,
      duplicateCheckDelayMs: 3000,
    });
    expect(cfg.incident.subject.snapshot).toEqual({ name: 'manual-m-0-1767261600', source: 'input' });
  });

  test.each([
    [{ 'github-token': 't' }, /^report: give `report`/],
    [{ report, 'report-file': '/x', 'github-token': 't' }, /^report: give only one/],
    [{ report }, /^github-token: is empty/],
    [{ report, 'github-token': 't' }, /^repository: is not given/],
    [{ report, 'github-token': 't', repository: 'no-slash' }, /^repository: "no-slash" is not owner\/repo/],
    [{ report, 'github-token': 't', repository: 'a/b', snapshot: '../etc' }, /^snapshot: /],
    [
      { report, 'github-token': 't', repository: 'a/b', 'rollback-workflow': 'x.sh; rm' },
      /^rollback-workflow: "x.sh; rm" is not a workflow file/,
    ],
    [{ report, 'github-token': 't', repository: 'a/b', labels: 'ok,\u202ebad' }, /^labels: "\\u202ebad"/],
    [
      { report, 'github-token': 't', repository: 'a/b', 'duplicate-check-delay': '-1' },
      /^duplicate-check-delay/,
    ],
  ])('bad inputs %# -> %s', async (values, error) => {
    await expect(readIncidentConfig(get(values), new SecretRegistry())).rejects.toThrow(error);
  });

  test('report-file is read; a missing file is named', async () => {
    const cfg = await readIncidentConfig(
      get({ 'report-file': '/r.json', 'github-token': 't', repository: 'a/b' }),
      new SecretRegistry(),
      { readFile: async () => report },
    );
    expect(cfg.incident.subject.cluster).toBe('prod-eu');
    await expect(
      readIncidentConfig(
        get({ 'report-file': '/nope.json', 'github-token': 't', repository: 'a/b' }),
        new SecretRegistry(),
      ),
    ).rejects.toThrow(/^report-file: cannot read "\/nope\.json" \(ENOENT\)/);
  });
});

describe('labels and markers', () => {
  test('one label per kind and cluster, within GitHub 50 characters, unique when shortened', () => {
    expect(incidentLabel('health-check', 'prod-eu')).toBe('rke2-ops:health-check:prod-eu');
    const long = 'a'.repeat(63);
    const a = incidentLabel('backup-freshness', long);
    const b = incidentLabel('backup-freshness', `${'a'.repeat(62)}b`);
    expect(a.length).toBeLessThanOrEqual(LABEL_MAX);
    expect(a).not.toBe(b);
    expect(incidentMarker('health-check', 'prod-eu')).toBe('<!-- rke2-ops:incident:health-check:prod-eu -->');
    expect(eventMarker('failure', 'a -->\n<b>')).not.toMatch(/-->[\s\S]*-->/);
  });
});

describe('rendering', () => {
  const subject = (): IncidentSubject => parseReport(JSON.stringify(health()), 'report');

  test('the rollback commands are exact: dry run, then confirm = cluster; latest-pre-upgrade without a snapshot', () => {
    expect(rollbackCommands(subject(), ctx)).toEqual({
      dryRun:
        'gh workflow run rollback.yml -R acme/ops -f cluster=prod-eu -f snapshot=latest-pre-upgrade -f dry-run=true',
      rollback:
        'gh workflow run rollback.yml -R acme/ops -f cluster=prod-eu -f snapshot=latest-pre-upgrade -f confirm=prod-eu',
    });
    const s = {
      ...subject(),
      snapshot: { name: 'pre-upgrade-prod-eu-m-0-1767261600.zip', source: 'input' as const },
    };
    expect(rollbackCommands(s, ctx).rollback).toContain('-f snapshot=pre-upgrade-prod-eu-m-0-1767261600.zip');
  });

  test('the body: marker first, title, table, run link, snapshot, commands', () => {
    const body = issueBody(
      subject(),
      { ...ctx, runUrl: 'https://github.com/acme/ops/actions/runs/7' },
      '<!-- m -->',
      ['l1'],
    );
    expect(body.split('\n')[0]).toBe('<!-- m -->');
    expect(issueTitle(subject())).toBe('rke2-ops: health-check failing on prod-eu');
    expect(body).toContain('| `pods/kube-dns` | 0/2 Ready: CrashLoopBackOff | m-0, m-1 |');
    expect(body).toContain('[this run](https://github.com/acme/ops/actions/runs/7)');
    expect(body).toContain('`latest-pre-upgrade`');
    expect(body).toContain('-f confirm=prod-eu');
  });

  test('a backup breach is not a reason to roll back: no rollback commands, what to do instead', () => {
    const s = parseReport(
      JSON.stringify({
        kind: 'backup-freshness',
        cluster: 'prod-eu',
        ok: false,
        checks: [{ name: 'etcd-snapshot', status: 'fail', message: 'newest is 9h 0m old' }],
      }),
      'report',
    );
    for (const text of [issueBody(s, ctx, '<!-- m -->', ['l1']), failureComment(s, ctx, '<!-- e -->')]) {
      expect(text).not.toContain('gh workflow run rollback.yml');
      expect(text).toContain('Not a reason to roll back');
    }
    expect(issueBody(s, ctx, '<!-- m -->', ['l1'])).toContain('### What to do');
  });

  test('report text cannot break the table, inject HTML or hide characters', () => {
    const s = subject();
    s.failures = [{ check: 'x|y', detail: 'a | b\n<script>alert(1)</script>\u202e', where: ['n|1'] }];
    const body = failureComment(s, ctx, '<!-- e -->');
    const row = body.split('\n').find((l) => l.includes('x\\|y'))!;
    expect(row).toContain('a \\| b');
    expect(row).toContain('&lt;script&gt;');
    expect(row).not.toContain('\u202e');
    expect(row.split(/(?<!\\)\|/).length).toBe(5);
  });

  test('a report with thousands of failures still fits in one issue body', () => {
    const s = subject();
    s.failures = Array.from({ length: 5000 }, (_, i) => ({
      check: `c${i}`,
      detail: 'x'.repeat(600),
      where: ['n'],
    }));
    const body = issueBody(s, ctx, '<!-- m -->', ['l']);
    expect([...body].length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT);
    expect(body).toMatch(/and \d+ more failed check\(s\)/);
  });

  test('durations for "recovered after"', () => {
    const t0 = '2027-01-01T10:00:00Z';
    expect(duration(t0, Date.parse(t0) + 12 * 60_000)).toBe('12 min');
    expect(duration(t0, Date.parse(t0) + 185 * 60_000)).toBe('3 h 5 min');
    expect(duration(t0, Date.parse(t0) + 52 * 3_600_000)).toBe('2 d 4 h');
    expect(duration(undefined, 0)).toBeUndefined();
  });
});

test('secret shapes are redacted from text that leaves the runner', () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----';
  const text = [
    `key: ${key}`,
    'token ghs_0123456789abcdefghijklmnopqrstuvwxyz',
    'aws AKIAIOSFODNN7EXAMPLE',
    'rke2 K10' + 'ab'.repeat(32) + '::server:s3cr3tpassw0rd',
    'keep v1.34.4+rke2r1',
  ].join('\n');
  const out = redactSecretPatterns(text);
  expect(out).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXk|ghs_0|AKIAIOSF|s3cr3t/);
  expect(out).toContain('keep v1.34.4+rke2r1');
});
