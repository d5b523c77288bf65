/**
 * Front ends are thin and never import each other (issue #10, TEAM.md "Code conventions"):
 * checked on the transitive import graph of src/, so an indirect path (CLI -> core -> action)
 * fails too. The ESLint rule in eslint.config.js gives the same answer per import while editing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const src = join(root, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** Module specifiers a file imports: relative ones resolved to src/ paths, packages as named. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (!existsSync(target)) throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
      local.push(target);
    } else packages.push(spec);
  }
  return { local, packages };
}

const files = walk(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(graph.get(f)?.local ?? []));
  }
  return seen;
}

const rel = (f: string) => relative(src, f);
const actions = readdirSync(join(src, 'actions')).filter(
  (d) => d !== 'common' && existsSync(join(src, 'actions', d, 'index.ts')),
);

test('the import scanner sees imports (a scanner that finds none would pass everything)', () => {
  const cli = [...closure(join(src, 'cli/index.ts'))].map(rel);
  expect(cli).toEqual(expect.arrayContaining(['cli/program.ts', 'health/config.ts', 'ssh/connection.ts']));
  expect(graph.get(join(src, 'actions/health-check/main.ts'))!.packages).toContain('@actions/core');
});

test('the CLI reaches nothing in src/actions/, directly or through the core', () => {
  const reached = [...closure(join(src, 'cli/index.ts'))].map(rel);
  expect(reached.filter((f) => f.startsWith('actions/'))).toEqual([]);
});

test.each(actions)('action %s reaches no other action and not the CLI', (name) => {
  const reached = [...closure(join(src, 'actions', name, 'index.ts'))].map(rel);
  const foreign = reached.filter(
    (f) =>
      f.startsWith('cli/') ||
      (f.startsWith('actions/') && !f.startsWith(`actions/${name}/`) && !f.startsWith('actions/common/')),
  );
  expect(foreign).toEqual([]);
});

test('only src/actions/ imports the runner toolkit (@actions/*); the core never imports a front end', () => {
  const offenders = files
    .filter((f) => !rel(f).startsWith('actions/'))
    .flatMap((f) => {
      const { local, packages } = graph.get(f)!;
      const bad = [
        ...packages.filter((p) => p.startsWith('@actions/')),
        ...local
          .map(rel)
          .filter((t) => t.startsWith('actions/') || (!rel(f).startsWith('cli/') && t.startsWith('cli/'))),
      ];
      return bad.map((b) => `${rel(f)} -> ${b}`);
    });
  expect(offenders).toEqual([]);
});

test('every capability with a front end has its configuration layer in the core', () => {
  for (const name of actions) {
    const main = readFileSync(join(src, 'actions', name, 'main.ts'), 'utf8');
    const configs = [...main.matchAll(/from '\.\.\/\.\.\/([a-z0-9-]+)\/config\.js'/g)].map((m) => m[1]);
    expect({ name, configs: configs.length > 0 }).toEqual({ name, configs: true });
  }
});
