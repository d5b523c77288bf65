import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTofuConfig } from '../../src/tofu/config.js';
import { checksumFor, releaseFiles, releasePlatform } from '../../src/tofu/install.js';
import { readGitHubContext } from '../../src/github/context.js';

const cwd = mkdtempSync(join(tmpdir(), 'rke2ops-tofu-config-'));
mkdirSync(join(cwd, 'envs', 'prod'), { recursive: true });
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const parse = (inputs: Record<string, string>) =>
  parseTofuConfig((n) => inputs[n] ?? '', { cwd, tempDir: join(cwd, 'tmp') });
const hash = 'a'.repeat(64);

test('plan defaults: version, download URL, plan file under the temp dir, comment keyed by directory', () => {
  const c = parse({ 'working-directory': 'envs/prod/' });
  expect(c).toMatchObject({
    command: 'plan',
    workingDirectory: join(cwd, 'envs', 'prod'),
    displayDirectory: 'envs/prod',
    install: { version: '1.11.6', baseUrl: 'https://github.com/opentofu/opentofu/releases/download' },
    init: true,
    comment: true,
    commentKey: 'envs/prod',
  });
  if (c.command !== 'plan') throw new Error('plan expected');
  expect(c.planFile.startsWith(join(cwd, 'tmp', 'rke2-ops-tofu', 'envs_prod-'))).toBe(true);
  expect(parse({ 'comment-key': 'staging' })).toMatchObject({
    displayDirectory: '.',
    commentKey: '.#staging',
  });
});

test('vars become TF_VAR_ values; plan-args are options, never the ones the action sets', () => {
  const c = parse({
    vars: 'rke2_version=v1.35.1+rke2r1\n# comment\nlabels={a="b=c"}',
    'plan-args': '-target=module.x\n-refresh=false',
  });
  expect(c).toMatchObject({
    vars: { rke2_version: 'v1.35.1+rke2r1', labels: '{a="b=c"}' },
    planArgs: ['-target=module.x', '-refresh=false'],
  });
  expect(() => parse({ vars: 'no equals sign' })).toThrow(
    /^vars: "no equals sign": expected one "name=value" per line/,
  );
  expect(() => parse({ vars: '$(id)=1' })).toThrow(/^vars: /);
  expect(() => parse({ 'plan-args': '-out=/tmp/x' })).toThrow(
    /^plan-args: "-out=\/tmp\/x" is set by the action itself/,
  );
  expect(() => parse({ 'plan-args': 'rm -rf /' })).toThrow(/^plan-args: "rm -rf \/": one option per line/);
});

test('apply needs the saved plan and the reviewed hash; errors name the input', () => {
  expect(() => parse({ command: 'apply' })).toThrow(/^plan-file: apply needs the saved plan/);
  expect(() => parse({ command: 'apply', 'plan-file': 'tfplan' })).toThrow(
    /^resource-changes-hash: apply needs the resource-changes-hash/,
  );
  expect(() => parse({ command: 'apply', 'plan-file': 'tfplan', 'resource-changes-hash': 'abc' })).toThrow(
    /^resource-changes-hash: must be 64 hex/,
  );
  expect(
    parse({ command: 'apply', 'plan-file': 'tfplan', 'resource-changes-hash': hash.toUpperCase() }),
  ).toMatchObject({
    command: 'apply',
    planFile: join(cwd, 'tfplan'),
    expectedHash: hash,
  });
});

test('bad values are refused with the input named', () => {
  expect(() => parse({ command: 'destroy' })).toThrow(/^command: must be one of plan, apply, output/);
  expect(() => parse({ 'working-directory': 'missing' })).toThrow(
    /^working-directory: ".*missing" is not a directory/,
  );
  expect(() => parse({ 'working-directory': 'envs/prod\u202e' })).toThrow(
    /^working-directory: "envs\/prod\\u202e" contains control or bidi characters/,
  );
  expect(() => parse({ 'comment-key': 'a\n::error::x' })).toThrow(
    /^comment-key: "a\\n::error::x" contains control/,
  );
  expect(() => parse({ version: 'latest' })).toThrow(/^version: "latest" is not an exact OpenTofu version/);
  expect(parse({ version: 'v1.10.2' }).install.version).toBe('1.10.2');
  expect(() => parse({ 'download-base-url': 'file:///etc' })).toThrow(
    /^download-base-url: must be an http\(s\) URL/,
  );
  expect(() => parse({ 'lock-timeout': '5 minutes' })).toThrow(/^lock-timeout: /);
  expect(() => parse({ 'pull-request': '0' })).toThrow(/^pull-request: must be at least 1/);
  expect(parse({ command: 'output' })).toMatchObject({ command: 'output', includeSensitive: false });
});

test('release file names follow OpenTofu; SHA256SUMS lines are matched exactly', () => {
  expect(releaseFiles('1.11.6', releasePlatform('linux', 'x64'))).toEqual({
    archive: 'tofu_1.11.6_linux_amd64.zip',
    checksums: 'tofu_1.11.6_SHA256SUMS',
  });
  expect(() => releasePlatform('win32', 'x64')).toThrow(/no OpenTofu release for win32/);
  const sums = `${'1'.repeat(64)}  tofu_1.11.6_linux_amd64.zip.sig\n${'2'.repeat(64)}  tofu_1.11.6_linux_amd64.zip\n${'3'.repeat(64)} *tofu_1.11.6_darwin_arm64.zip\n`;
  expect(checksumFor(sums, 'tofu_1.11.6_linux_amd64.zip')).toBe('2'.repeat(64));
  expect(checksumFor(sums, 'tofu_1.11.6_darwin_arm64.zip')).toBe('3'.repeat(64));
  expect(checksumFor(sums, 'tofu_1.11.6_linux_arm64.zip')).toBeUndefined();
});

test('GitHub context: repository, run URL and the PR of pull_request and PR-comment events', () => {
  const payloads: Record<string, string> = {
    '/pr.json': JSON.stringify({ pull_request: { number: 7 } }),
    '/comment.json': JSON.stringify({ issue: { number: 9, pull_request: { url: 'x' } } }),
    '/issue.json': JSON.stringify({ issue: { number: 11 } }),
  };
  const read = (p: string) => {
    if (!(p in payloads)) throw new Error('ENOENT');
    return payloads[p]!;
  };
  const env = {
    GITHUB_REPOSITORY: 'acme/ops',
    GITHUB_RUN_ID: '42',
    GITHUB_SERVER_URL: 'https://ghe.example/',
    GITHUB_API_URL: 'http://127.0.0.1:1/',
  };
  expect(readGitHubContext({ ...env, GITHUB_EVENT_PATH: '/pr.json' }, read)).toMatchObject({
    apiUrl: 'http://127.0.0.1:1',
    repository: { owner: 'acme', repo: 'ops' },
    runUrl: 'https://ghe.example/acme/ops/actions/runs/42',
    pullRequest: 7,
  });
  expect(readGitHubContext({ ...env, GITHUB_EVENT_PATH: '/comment.json' }, read).pullRequest).toBe(9);
  expect(readGitHubContext({ ...env, GITHUB_EVENT_PATH: '/issue.json' }, read).pullRequest).toBeUndefined();
  expect(
    readGitHubContext({ ...env, GITHUB_EVENT_PATH: '/missing.json', GITHUB_RUN_ATTEMPT: '2' }, read),
  ).toMatchObject({
    payload: {},
    runUrl: 'https://ghe.example/acme/ops/actions/runs/42/attempts/2',
  });
  expect(readGitHubContext({}, read)).toMatchObject({
    apiUrl: 'https://api.github.com',
    repository: undefined,
    runUrl: undefined,
  });
});
