/**
 * scripts/move-major-tag.sh, the release workflow's last step, against throwaway git
 * repositories: a bare `origin` and a clone as actions/checkout with fetch-depth 0 leaves it
 * (every tag, origin/main). The major tag moves forward to a release on main and is pushed; a
 * pre-release, a commit off main, an older release and a re-run move nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const script = join(root, 'scripts/move-major-tag.sh');

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'rke2-ops tests',
  GIT_AUTHOR_EMAIL: 'tests@rke2-ops.invalid',
  GIT_COMMITTER_NAME: 'rke2-ops tests',
  GIT_COMMITTER_EMAIL: 'tests@rke2-ops.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

let dir: string;
let origin: string;
let clone: string;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function commit(message: string): string {
  writeFileSync(join(clone, 'file.txt'), `${message}\n`);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-gpg-sign', '-m', message);
  return git(clone, 'rev-parse', 'HEAD');
}

/** Tags a commit and pushes the tag, as a maintainer releasing does. */
function release(tag: string, commitSha: string): void {
  git(clone, 'tag', tag, commitSha);
  git(clone, 'push', '-q', 'origin', `refs/tags/${tag}`);
}

/** The release workflow's step: the script in a fresh view of origin (fetch-depth 0). */
function move(tag: string, ...args: string[]) {
  git(clone, 'fetch', '-q', '--tags', '--force', 'origin');
  const r = spawnSync('bash', [script, tag, ...args], { cwd: clone, env, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const remoteTag = (tag: string) => {
  const r = spawnSync('git', ['rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`], {
    cwd: origin,
    env,
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rke2ops-release-'));
  origin = join(dir, 'origin.git');
  clone = join(dir, 'clone');
  git(dir, 'init', '-q', '--bare', '-b', 'main', origin);
  git(dir, 'init', '-q', '-b', 'main', clone);
  git(clone, 'remote', 'add', 'origin', origin);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a release on main moves the major tag forward and pushes it; a re-run is a no-op', () => {
  const c1 = commit('one');
  git(clone, 'push', '-q', 'origin', 'main');
  release('v1.0.0', c1);
  expect(move('v1.0.0')).toMatchObject({ code: 0, out: expect.stringContaining('v1: none -> v1.0.0') });
  expect(remoteTag('v1')).toBe(c1);

  const c2 = commit('two');
  git(clone, 'push', '-q', 'origin', 'main');
  release('v1.1.0', c2);
  const dry = move('v1.1.0', '--dry-run');
  expect(dry.code).toBe(0);
  expect(remoteTag('v1')).toBe(c1);
  expect(move('v1.1.0')).toMatchObject({ code: 0, out: expect.stringContaining(`v1: ${c1} -> v1.1.0`) });
  expect(remoteTag('v1')).toBe(c2);
  expect(move('v1.1.0')).toMatchObject({ code: 0, out: expect.stringContaining('already points at v1.1.0') });
  expect(remoteTag('v1')).toBe(c2);
});

test('an older release, a pre-release, a commit off main, a bad tag: refused, nothing moves', () => {
  const main = git(clone, 'rev-parse', 'HEAD');
  // A fix tagged on an old commit after v1.1.0: v1 must not go back.
  release('v1.0.1', git(clone, 'rev-parse', 'HEAD~1'));
  expect(move('v1.0.1')).toMatchObject({ code: 1, out: expect.stringMatching(/older than v1\.1\.0/) });
  release('v1.2.0-rc.1', main);
  expect(move('v1.2.0-rc.1')).toMatchObject({ code: 1, out: expect.stringMatching(/pre-releases/) });
  // A commit that was never pushed to main.
  git(clone, 'checkout', '-q', '-b', 'side');
  release('v1.3.0', commit('side'));
  expect(move('v1.3.0')).toMatchObject({ code: 1, out: expect.stringMatching(/is not on origin\/main/) });
  git(clone, 'checkout', '-q', 'main');
  expect(move('v9.9.9')).toMatchObject({ code: 1, out: expect.stringMatching(/no tag v9\.9\.9/) });
  expect(remoteTag('v1')).toBe(main);
});

test('a new major moves its own tag and leaves the old one', () => {
  const v1 = remoteTag('v1');
  const c = commit('three');
  git(clone, 'push', '-q', 'origin', 'main');
  release('v2.0.0', c);
  expect(move('v2.0.0').code).toBe(0);
  expect({ v1: remoteTag('v1'), v2: remoteTag('v2') }).toEqual({ v1, v2: c });
});
