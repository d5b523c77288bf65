/**
 * The front-end conventions every action follows (GitHub's typescript-action template), checked
 * for each actions/<name>/action.yml so a new action cannot drift from them:
 *  - action.yml runs `dist/index.js` on `node24`;
 *  - src/actions/<name>/index.ts only loads the ESM shim and awaits main.ts's `run()`;
 *  - main.ts exports `run(): Promise<void>`, has no import-time side effects, and `run()` goes
 *    through the shared runtime (proved by its RKE2OPS_BUNDLE_CHECK answer).
 */
import { jest } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
const actions = readdirSync(join(root, 'actions')).filter((d) =>
  existsSync(join(root, 'actions', d, 'action.yml')),
);

/** index.ts, whatever comment heads it: exactly these statements. */
const ENTRY_STATEMENTS = [
  "import '../../lib/esm-shim.js';",
  "import { run } from './main.js';",
  'await run();',
];

function statements(source: string): string[] {
  return source
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('//'));
}

test('there are actions to check', () => {
  expect(actions).toEqual(expect.arrayContaining(['health-check', 'inventory']));
});

describe.each(actions)('%s', (name) => {
  test('action.yml runs dist/index.js on node24', () => {
    const doc = parseYaml(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
    };
    expect(doc.runs).toMatchObject({ using: 'node24', main: 'dist/index.js' });
  });

  test('index.ts only loads the shim and calls run()', () => {
    const source = readFileSync(join(root, 'src/actions', name, 'index.ts'), 'utf8');
    expect(statements(source)).toEqual(ENTRY_STATEMENTS);
  });

  test('main.ts exports run() with no import-time side effects; run() goes through the runtime', async () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const saved = process.env.RKE2OPS_BUNDLE_CHECK;
    try {
      const mod = (await import(join(root, 'src/actions', name, 'main.ts'))) as { run?: unknown };
      expect(write).not.toHaveBeenCalled();
      expect(typeof mod.run).toBe('function');
      const run = mod.run as () => Promise<void>;
      expect(run.length).toBe(0);
      process.env.RKE2OPS_BUNDLE_CHECK = '1';
      await expect(run()).resolves.toBeUndefined();
      expect(write).toHaveBeenCalledWith(`bundle-ok ${name} on node ${process.version}\n`);
    } finally {
      write.mockRestore();
      if (saved === undefined) delete process.env.RKE2OPS_BUNDLE_CHECK;
      else process.env.RKE2OPS_BUNDLE_CHECK = saved;
    }
  });
});
