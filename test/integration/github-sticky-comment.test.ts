/**
 * src/github against the GitHub REST stand-in (a real HTTP server on 127.0.0.1): the client
 * honours GITHUB_API_URL, the sticky comment is created once and then edited in place, found
 * across pages, and fails cleanly. Also checks the stand-in's issue/label/search endpoints
 * through Octokit, so the incident action can rely on them.
 */
import { createGitHubClient } from '../../src/actions/common/github.js';
import { httpStatus } from '../../src/github/client.js';
import { COMMENT_BODY_LIMIT } from '../../src/github/markdown.js';
import { findStickyComments, stickyMarker, upsertStickyComment } from '../../src/github/sticky-comment.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { startGitHubApi, type GitHubApiStandIn } from '../helpers/github-api.js';

let api: GitHubApiStandIn;
beforeAll(async () => {
  api = await startGitHubApi();
});
afterAll(() => api.close());

const client = () => createGitHubClient({ token: api.token, apiUrl: api.url });
const target = (issueNumber: number) => ({ owner: api.owner, repo: api.repo, issueNumber });

test('first run creates the comment, the second edits the same one; other keys get their own', async () => {
  const pr = api.addPullRequest();
  const marker = stickyMarker('tofu-plan', 'module/examples/minimal');
  const first = await upsertStickyComment(client(), target(pr), marker, 'plan one');
  const second = await upsertStickyComment(client(), target(pr), marker, 'plan two');
  expect(first.action).toBe('created');
  expect(second).toMatchObject({ action: 'updated', id: first.id, duplicates: 0 });
  expect(api.commentsOn(pr)).toHaveLength(1);
  expect(api.commentsOn(pr)[0]!.body).toBe(`${marker}\nplan two`);
  expect(api.callsTo('POST', new RegExp(`/issues/${pr}/comments$`))).toHaveLength(1);
  expect(api.callsTo('PATCH', new RegExp(`/issues/comments/${first.id}$`))).toHaveLength(1);

  const other = await upsertStickyComment(
    client(),
    target(pr),
    stickyMarker('tofu-plan', 'envs/prod'),
    'prod',
  );
  expect(other.action).toBe('created');
  expect(api.commentsOn(pr)).toHaveLength(2);
});

test('found on a later page of a busy pull request; quoted markers do not count', async () => {
  const pr = api.addPullRequest();
  const marker = stickyMarker('tofu-plan', '.');
  const mine = await upsertStickyComment(client(), target(pr), marker, 'v1');
  for (let i = 0; i < 130; i++) api.addComment(pr, i === 7 ? `> ${marker}\n> quoted` : `chatter ${i}`);
  const again = await upsertStickyComment(client(), target(pr), marker, 'v2');
  expect(again).toMatchObject({ action: 'updated', id: mine.id });
  const pages = api.callsTo('GET', new RegExp(`/issues/${pr}/comments$`)).filter((c) => c.query.page === '2');
  expect(pages.length).toBeGreaterThan(0);
});

test('a key with HTML or newlines cannot break out of the hidden marker', () => {
  const marker = stickyMarker('tofu-plan', 'a -->\n<img src=x>');
  expect(marker).toMatch(/^<!-- rke2-ops:tofu-plan:[^\n]* -->$/);
  expect(marker.slice(4, -4)).not.toContain('-->');
  expect(marker).not.toContain('<img');
});

test('a marker copied into someone else comment is not edited (403): a new comment is written', async () => {
  const pr = api.addPullRequest();
  const marker = stickyMarker('tofu-plan', 'copied');
  const foreign = api.addComment(pr, `${marker}\nnot yours`, 'mallory');
  const res = await upsertStickyComment(client(), target(pr), marker, 'ours');
  expect(res.action).toBe('created');
  expect(api.comments.get(foreign.id)!.body).toBe(`${marker}\nnot yours`);
});

test('5xx is retried; 4xx is not; an over-long body is refused before any call', async () => {
  const pr = api.addPullRequest();
  const marker = stickyMarker('tofu-plan', 'retry');
  api.failNext({ method: 'POST', path: new RegExp(`/issues/${pr}/comments$`) }, 502);
  const ok = await upsertStickyComment(client(), target(pr), marker, 'after a 502', { retryDelayMs: 10 });
  expect(ok.action).toBe('created');

  api.failNext({ method: 'PATCH', path: /\/issues\/comments\/\d+$/ }, 422, 1, 'Validation Failed');
  const failure = await upsertStickyComment(client(), target(pr), marker, 'x', { retryDelayMs: 10 }).catch(
    (e) => e,
  );
  expect(httpStatus(failure)).toBe(422);
  expect(api.callsTo('PATCH', new RegExp(`/issues/comments/${ok.id}$`))).toHaveLength(1);

  const before = api.calls.length;
  await expect(
    upsertStickyComment(client(), target(pr), marker, 'x'.repeat(COMMENT_BODY_LIMIT)),
  ).rejects.toThrow(/over GitHub's limit of 65536/);
  expect(api.calls.length).toBe(before);
});

test('the token is registered as a secret and a wrong one is refused with 401', async () => {
  const secrets = new SecretRegistry();
  const bad = createGitHubClient({ token: 'ghs_wrong_token_value', apiUrl: api.url, secrets });
  expect(secrets.redact('token ghs_wrong_token_value')).toBe('token ***');
  const error = await findStickyComments(
    bad,
    target(api.addPullRequest()),
    stickyMarker('tofu-plan', '.'),
  ).catch((e) => e);
  expect(httpStatus(error)).toBe(401);
  expect(api.calls.at(-1)).toMatchObject({ authorized: false, status: 401 });
  expect(() => createGitHubClient({ token: ' ', apiUrl: api.url })).toThrow(/github-token: is empty/);
});

test('stand-in: issues with labels, list by label and state, close, search, pagination', async () => {
  const gh = client();
  const { owner, repo } = api;
  const created = await gh.rest.issues.create({
    owner,
    repo,
    title: 'Incident: prod-eu health',
    body: 'b',
    labels: ['rke2-ops', 'cluster:prod-eu'],
  });
  expect(created.status).toBe(201);
  expect(created.data.labels.map((l) => (typeof l === 'string' ? l : l.name))).toEqual([
    'rke2-ops',
    'cluster:prod-eu',
  ]);
  await gh.rest.issues.createComment({ owner, repo, issue_number: created.data.number, body: 'again' });

  const open = await gh.rest.issues.listForRepo({ owner, repo, labels: 'cluster:prod-eu', state: 'open' });
  expect(open.data.map((i) => i.number)).toEqual([created.data.number]);
  const found = await gh.rest.search.issuesAndPullRequests({
    q: `repo:${owner}/${repo} is:issue is:open label:"cluster:prod-eu"`,
  });
  expect(found.data.total_count).toBe(1);

  const closed = await gh.rest.issues.update({
    owner,
    repo,
    issue_number: created.data.number,
    state: 'closed',
  });
  expect(closed.data).toMatchObject({ state: 'closed', state_reason: 'completed' });
  expect((await gh.rest.issues.get({ owner, repo, issue_number: created.data.number })).data.comments).toBe(
    1,
  );
  const none = await gh.rest.issues.listForRepo({ owner, repo, labels: 'cluster:prod-eu', state: 'open' });
  expect(none.data).toEqual([]);

  await gh.rest.issues.createLabel({ owner, repo, name: 'incident', color: 'ff0000' });
  await expect(gh.rest.issues.createLabel({ owner, repo, name: 'incident' })).rejects.toMatchObject({
    status: 422,
  });
  expect((await gh.rest.issues.getLabel({ owner, repo, name: 'incident' })).data.color).toBe('ff0000');

  for (let i = 0; i < 5; i++)
    await gh.rest.issues.create({ owner, repo, title: `bulk ${i}`, labels: ['bulk'] });
  const all = await gh.paginate(gh.rest.issues.listForRepo, {
    owner,
    repo,
    labels: 'bulk',
    state: 'all',
    per_page: 2,
  });
  expect(all).toHaveLength(5);
  await expect(
    gh.rest.issues.create({ owner, repo, title: 'too long', body: 'x'.repeat(65_537) }),
  ).rejects.toMatchObject({
    status: 422,
  });
});
