/**
 * The incident core against the GitHub REST stand-in (a real HTTP server on 127.0.0.1), through
 * both clients it is given in production: Octokit (the action's createGitHubClient) and the
 * fetch client (the CLI's). The lifecycle open -> comment -> recover -> nothing; issues that
 * only look like incidents; runs racing to open (held together by the stand-in so that every
 * one lists before any writes, with GitHub's search lag on to prove search is not relied on);
 * retries; secrets; and the CLI bundle (`rke2-ops incident`).
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitHubClient } from '../../src/actions/common/github.js';
import type { IssuesClient } from '../../src/github/client.js';
import { createRestClient } from '../../src/github/rest.js';
import { readIncidentConfig } from '../../src/incident/config.js';
import { runIncident, type IncidentRun } from '../../src/incident/run.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { startGitHubApi, type GitHubApiStandIn } from '../helpers/github-api.js';

jest.setTimeout(60_000);

const root = new URL('../..', import.meta.url).pathname;
const CLI = join(root, 'bin/rke2-ops.js');

let api: GitHubApiStandIn;
beforeAll(async () => {
  // Search would miss every issue younger than a minute: the core must not depend on it.
  api = await startGitHubApi({ searchLagMs: 60_000 });
});
afterAll(() => api.close());

const clients: [string, () => IssuesClient][] = [
  ['Octokit (action)', () => createGitHubClient({ token: api.token, apiUrl: api.url })],
  ['fetch client (CLI)', () => createRestClient({ token: api.token, baseUrl: api.url })],
];

function report(cluster: string, ok: boolean, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'health-check',
    cluster,
    healthy: ok,
    verdict: ok ? 'healthy after 1 poll(s), 0.4 s' : 'NOT healthy after 2 poll(s) in 5 s',
    finishedAt: new Date().toISOString(),
    checks: ok
      ? [{ name: 'api', status: 'pass', message: 'ready' }]
      : [
          { name: 'api', status: 'pass', message: 'ready' },
          {
            name: 'pods/kube-dns',
            status: 'fail',
            message: '0/2 Ready (CrashLoopBackOff)',
            failing: [`${cluster}-master-0`],
          },
        ],
    ...extra,
  });
}

async function incident(
  client: IssuesClient,
  text: string,
  run: IncidentRun = {},
  inputs: Record<string, string> = {},
  secrets = new SecretRegistry(),
) {
  const values: Record<string, string> = {
    report: text,
    'github-token': api.token,
    repository: `${api.owner}/${api.repo}`,
    'duplicate-check-delay': '0.05s',
    ...inputs,
  };
  const config = await readIncidentConfig((n) => values[n] ?? '', secrets);
  return runIncident(config.incident, {
    client,
    logger: silentLogger,
    secrets,
    clock: systemClock,
    run,
    retryDelayMs: 10,
  });
}

const openIncidents = (cluster: string) =>
  [...api.issues.values()].filter(
    (i) => i.state === 'open' && i.labels.includes(`rke2-ops:health-check:${cluster}`),
  );
const writes = () => api.calls.filter((c) => c.method !== 'GET').length;

describe.each(clients)('lifecycle through %s', (name, client) => {
  const cluster = name.startsWith('Octokit') ? 'life-a' : 'life-b';
  const runUrl = (id: number) => `https://github.com/acme/ops/actions/runs/${id}`;

  test('passing with nothing open: no write at all', async () => {
    const before = writes();
    const r = await incident(client(), report(cluster, true), { id: '1', url: runUrl(1) });
    expect(r).toMatchObject({ action: 'none', duplicatesClosed: [] });
    expect(writes()).toBe(before);
  });

  test('failing: opens one issue with labels, marker, table, run link and the rollback dispatch', async () => {
    const r = await incident(
      client(),
      report(cluster, false),
      { id: '2', url: runUrl(2) },
      { snapshot: 'pre-upgrade-x-1767261600' },
    );
    expect(r.action).toBe('opened');
    const [issue] = openIncidents(cluster);
    expect(openIncidents(cluster)).toHaveLength(1);
    expect(r.issue).toEqual({
      number: issue!.number,
      url: expect.stringContaining(`/issues/${issue!.number}`),
    });
    expect(issue!.title).toBe(`rke2-ops: health-check failing on ${cluster}`);
    expect(issue!.labels).toEqual(
      expect.arrayContaining([`rke2-ops:health-check:${cluster}`, 'rke2-ops-incident']),
    );
    expect(issue!.body.split('\n')[0]).toBe(`<!-- rke2-ops:incident:health-check:${cluster} -->`);
    expect(issue!.body).toContain(
      `| \`pods/kube-dns\` | 0/2 Ready (CrashLoopBackOff) | ${cluster}-master-0 |`,
    );
    expect(issue!.body).toContain(`[this run](${runUrl(2)})`);
    expect(issue!.body).toContain('`pre-upgrade-x-1767261600`');
    expect(issue!.body).toContain(
      `gh workflow run rollback.yml -R acme/ops -f cluster=${cluster} -f snapshot=pre-upgrade-x-1767261600 -f confirm=${cluster}`,
    );
    expect(api.labels.get(`rke2-ops:health-check:${cluster}`)?.color).toBe('b60205');
  });

  test('the same run again reports nothing new; the next failing run comments', async () => {
    const [issue] = openIncidents(cluster);
    const again = await incident(client(), report(cluster, false), { id: '2', url: runUrl(2) });
    expect(again.action).toBe('already-reported');
    expect(api.commentsOn(issue!.number)).toHaveLength(0);

    const next = await incident(client(), report(cluster, false), { id: '3', url: runUrl(3) });
    expect(next).toMatchObject({ action: 'commented', issue: { number: issue!.number } });
    const comments = api.commentsOn(issue!.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('Still failing');
    expect(comments[0]!.body).toContain(`[this run](${runUrl(3)})`);
    expect(comments[0]!.body).toContain('-f snapshot=latest-pre-upgrade');
    expect(openIncidents(cluster)).toHaveLength(1);
  });

  test('passing: comments "recovered" and closes it; passing again changes nothing', async () => {
    const [issue] = openIncidents(cluster);
    const r = await incident(client(), report(cluster, true), { id: '4', url: runUrl(4) });
    expect(r).toMatchObject({ action: 'closed', issue: { number: issue!.number } });
    const stored = api.issues.get(issue!.number)!;
    expect(stored).toMatchObject({ state: 'closed', stateReason: 'completed' });
    expect(api.commentsOn(issue!.number).at(-1)!.body).toMatch(
      /Recovered[\s\S]*Recovered 0 min after this issue was opened/,
    );
    const before = writes();
    expect((await incident(client(), report(cluster, true), { id: '5' })).action).toBe('none');
    expect(writes()).toBe(before);
  });

  test('a new failure after recovery opens a new issue (the closed one stays closed)', async () => {
    const r = await incident(client(), report(cluster, false), { id: '6' });
    expect(r.action).toBe('opened');
    expect(openIncidents(cluster)).toHaveLength(1);
    await incident(client(), report(cluster, true), { id: '7' });
    expect(openIncidents(cluster)).toHaveLength(0);
  });
});

test('look-alikes are ignored: a pull request, or an issue with the label but not the marker', async () => {
  const cluster = 'looks';
  const label = `rke2-ops:health-check:${cluster}`;
  api.addIssue({
    title: 'PR',
    labels: [label],
    pullRequest: true,
    body: `<!-- rke2-ops:incident:health-check:${cluster} -->`,
  });
  const human = api.addIssue({ title: 'labelled by hand', labels: [label], body: 'someone' });
  const r = await incident(clients[0]![1](), report(cluster, false), { id: '1' });
  expect(r.action).toBe('opened');
  expect(r.issue!.number).not.toBe(human.number);
  await incident(clients[0]![1](), report(cluster, true), { id: '2' });
  expect(api.issues.get(human.number)!.state).toBe('open');
});

test.each([2, 5])(
  '%i runs racing to open: one issue stays open, the others are closed as its duplicates',
  async (n) => {
    const cluster = `race-${n}`;
    // Every run lists (finds nothing) before any of them opens an issue.
    api.gate({ method: 'GET', path: /\/repos\/acme\/ops\/issues$/ }, n);
    const runs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        incident(clients[i % 2]![1](), report(cluster, false), { id: `${100 + i}` }),
      ),
    );
    const all = [...api.issues.values()].filter((i) => i.labels.includes(`rke2-ops:health-check:${cluster}`));
    expect(all).toHaveLength(n);
    const open = all.filter((i) => i.state === 'open');
    expect(open).toHaveLength(1);
    const canonical = open[0]!;
    expect(canonical.number).toBe(Math.min(...all.map((i) => i.number)));
    expect(runs.filter((r) => r.action === 'opened')).toHaveLength(1);
    expect(runs.filter((r) => r.action === 'commented')).toHaveLength(n - 1);
    expect(runs.every((r) => r.issue!.number === canonical.number)).toBe(true);
    for (const dup of all.filter((i) => i !== canonical)) {
      expect(dup).toMatchObject({ state: 'closed', stateReason: 'not_planned' });
      expect(
        api.commentsOn(dup.number).some((c) => c.body.includes(`Duplicate of #${canonical.number}`)),
      ).toBe(true);
    }
    // Each run that lost the race recorded its failure on the issue that stayed open, once.
    expect(api.commentsOn(canonical.number).filter((c) => c.body.includes('Still failing'))).toHaveLength(
      n - 1,
    );
    // Search was never used (its lag would have hidden every one of these issues).
    expect(api.callsTo('GET', /^\/search\//)).toHaveLength(0);
  },
);

test('a leftover duplicate (a racing run that died before closing it) is closed by the next run', async () => {
  const cluster = 'leftover';
  const marker = `<!-- rke2-ops:incident:health-check:${cluster} -->`;
  const labels = [`rke2-ops:health-check:${cluster}`];
  const a = api.addIssue({
    title: 'a',
    body: marker,
    labels,
    user: { login: 'github-actions[bot]', type: 'Bot' },
  });
  const b = api.addIssue({
    title: 'b',
    body: marker,
    labels,
    user: { login: 'github-actions[bot]', type: 'Bot' },
  });
  const r = await incident(clients[1]![1](), report(cluster, false), { id: '9' });
  expect(r).toMatchObject({ action: 'commented', issue: { number: a.number }, duplicatesClosed: [b.number] });
  expect(api.issues.get(b.number)!.state).toBe('closed');
});

test('5xx and 429 are retried, a 4xx is not (and names the call)', async () => {
  const cluster = 'flaky';
  api.failNext({ method: 'POST', path: /\/repos\/acme\/ops\/issues$/ }, 502);
  api.failNext({ method: 'GET', path: /\/repos\/acme\/ops\/issues$/ }, 429);
  const r = await incident(clients[0]![1](), report(cluster, false), { id: '1' });
  expect(r.action).toBe('opened');
  expect(openIncidents(cluster)).toHaveLength(1);

  api.failNext(
    { method: 'POST', path: /\/issues\/\d+\/comments$/ },
    403,
    1,
    'Resource not accessible by integration',
  );
  await expect(incident(clients[1]![1](), report(cluster, false), { id: '2' })).rejects.toThrow(
    /HTTP 403 Resource not accessible by integration/,
  );
});

test('no secret reaches an issue or a comment: registered ones, and secret shapes in the report', async () => {
  const cluster = 'secrets';
  const secrets = new SecretRegistry();
  secrets.add('hunter2-registered-secret');
  const leaky = report(cluster, false, {
    verdict: 'NOT healthy: hunter2-registered-secret',
    checks: [
      {
        name: 'ssh-check',
        status: 'fail',
        message:
          'key -----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY----- ghp_0123456789abcdefghijklmnopqrstuvwxyz',
      },
    ],
  });
  await incident(clients[0]![1](), leaky, { id: '1' }, {}, secrets);
  await incident(clients[0]![1](), leaky, { id: '2' }, {}, secrets);
  const texts = [
    ...openIncidents(cluster).flatMap((i) => [i.title, i.body]),
    ...openIncidents(cluster).flatMap((i) => api.commentsOn(i.number).map((c) => c.body)),
  ];
  expect(texts.length).toBeGreaterThanOrEqual(3);
  for (const t of texts) expect(t).not.toMatch(/hunter2|PRIVATE KEY|ghp_0123|ghs_standin/);
});

describe('rke2-ops incident (the CLI bundle)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-incident-cli-'));
  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'incident', ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  test('opens from a report file with $GITHUB_TOKEN; --json prints the result; bad input exits 2 with no call', async () => {
    const file = join(dir, 'r.json');
    writeFileSync(file, report('cli-x', false));
    const env = { GITHUB_TOKEN: api.token, GITHUB_API_URL: api.url };
    const opened = await cli(['--report', file, '--repo', 'acme/ops'], env);
    expect(opened.stderr).not.toMatch(/error|warning/);
    expect(opened).toMatchObject({ code: 0 });
    expect(opened.stdout).toMatch(
      /^opened #\d+ for "health-check" on "cli-x"\nhttp:\/\/127\.0\.0\.1:\d+\/acme\/ops\/issues\/\d+\n$/,
    );
    writeFileSync(file, report('cli-x', true));
    const closed = await cli(['--report', file, '--repo', 'acme/ops', '--json'], env);
    expect(JSON.parse(closed.stdout)).toMatchObject({ action: 'closed' });

    const before = api.calls.length;
    const noToken = await cli(['--report', file, '--repo', 'acme/ops'], { GITHUB_API_URL: api.url });
    expect(noToken).toMatchObject({ code: 2 });
    expect(noToken.stderr).toMatch(/\$GITHUB_TOKEN: is empty/);
    const badRepo = await cli(['--report', file, '--repo', 'x'], env);
    expect(badRepo.code).toBe(2);
    expect(badRepo.stderr).toMatch(/--repo: "x" is not owner\/repo/);
    expect(api.calls.length).toBe(before);

    api.failNext({ path: /\/issues$/ }, 401, 3, 'Bad credentials');
    writeFileSync(file, report('cli-y', false));
    const denied = await cli(['--report', file, '--repo', 'acme/ops'], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 401 Bad credentials/);
  });
});
