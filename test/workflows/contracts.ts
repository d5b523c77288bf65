/**
 * Cross-file checks of workflows against the contracts they use - what neither GitHub's parser
 * nor actionlint checks across files:
 *
 *  - a step using one of this repository's actions (`./actions/<name>` or
 *    `rke2-ops/ops/actions/<name>@<ref>`) passes only inputs its action.yml declares and every
 *    required one (required: true, no default);
 *  - a job calling one of this repository's reusable workflows (`./.github/workflows/<x>.yml`
 *    or `rke2-ops/ops/.github/workflows/<x>.yml@<ref>`) passes only declared inputs and secrets
 *    (or `secrets: inherit`) and every required one;
 *  - every reference resolves: `needs.<job>.outputs.<o>` (a job it needs, an output that job
 *    declares - for a called workflow, its workflow_call outputs), `steps.<id>.outputs.<o>` (a
 *    step before it in the same job; for our actions, a declared output), `jobs.<job>.outputs.<o>`
 *    in workflow_call outputs, `inputs.<name>` (declared by a trigger), `secrets.<name>` (declared
 *    by workflow_call, when the workflow is reusable);
 *  - no expression inside a `run:` script (inputs reach shells only through `env:`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const TOOLKIT_REPOSITORY = 'rke2-ops/ops';

const root = new URL('../..', import.meta.url).pathname;

type Obj = Record<string, unknown>;

interface Spec {
  required?: boolean;
  default?: unknown;
}

export interface ActionContract {
  inputs: Record<string, Spec>;
  outputs: Set<string>;
}

export interface WorkflowContract {
  inputs: Record<string, Spec>;
  secrets: Record<string, Spec>;
  outputs: Set<string>;
}

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Obj;
  env?: Obj;
  if?: unknown;
}

interface Job {
  uses?: string;
  with?: Obj;
  secrets?: Obj | 'inherit';
  needs?: string | string[];
  outputs?: Record<string, unknown>;
  steps?: Step[];
  [key: string]: unknown;
}

export interface Workflow {
  on?: unknown;
  jobs?: Record<string, Job>;
  concurrency?: unknown;
  permissions?: unknown;
  [key: string]: unknown;
}

/**
 * The README's calling workflows for a consumer: ```yaml blocks whose first line is
 * `# .github/workflows/<file> (in your repository)`.
 */
export function readmeWorkflows(): { name: string; text: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```yaml\n(# (\.github\/workflows\/[\w.-]+\.ya?ml) \(in your repository\)\n[\s\S]*?)```/g;
  return [...readme.matchAll(block)].map((m) => ({ name: m[2]!, text: m[1]! }));
}

export function readAction(name: string, base = root): ActionContract | undefined {
  const file = join(base, 'actions', name, 'action.yml');
  if (!existsSync(file)) return undefined;
  const doc = parseYaml(readFileSync(file, 'utf8')) as { inputs?: Record<string, Spec>; outputs?: Obj };
  return { inputs: doc.inputs ?? {}, outputs: new Set(Object.keys(doc.outputs ?? {})) };
}

function triggers(wf: Workflow): Obj {
  const on = wf.on;
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.map((e: string) => [e, null]));
  return (on as Obj) ?? {};
}

export function callContract(wf: Workflow): WorkflowContract | undefined {
  const call = triggers(wf).workflow_call as Obj | null | undefined;
  if (call === undefined) return undefined;
  return {
    inputs: ((call?.inputs as Record<string, Spec>) ?? {}) as Record<string, Spec>,
    secrets: ((call?.secrets as Record<string, Spec>) ?? {}) as Record<string, Spec>,
    outputs: new Set(Object.keys((call?.outputs as Obj) ?? {})),
  };
}

export function readWorkflow(path: string): Workflow {
  return parseYaml(readFileSync(path, 'utf8')) as Workflow;
}

const required = (spec: Spec | null | undefined) => Boolean(spec?.required) && spec?.default === undefined;

/** Every `${{ ... }}` expression in a value, with where it was found. */
function expressions(value: unknown, where: string, out: { where: string; text: string }[] = []) {
  if (typeof value === 'string') {
    for (const m of value.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) out.push({ where, text: m[1]! });
  } else if (Array.isArray(value)) value.forEach((v, i) => expressions(v, `${where}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) expressions(v, `${where}.${k}`, out);
  return out;
}

/** `if:` values are expressions even without `${{ }}`. */
function ifExpressions(value: unknown, where: string): { where: string; text: string }[] {
  if (typeof value !== 'string') return [];
  return value.includes('${{') ? expressions(value, where) : [{ where, text: value }];
}

export interface Resolver {
  action(ref: string): { name: string; contract: ActionContract | undefined } | undefined;
  workflow(ref: string): { name: string; contract: WorkflowContract | undefined } | undefined;
}

/** Resolves this repository's actions and reusable workflows, local or by the toolkit's name. */
export function repositoryResolver(base = root): Resolver {
  return {
    action(ref) {
      const m =
        /^\.\/actions\/([\w-]+)$/.exec(ref) ??
        new RegExp(`^${TOOLKIT_REPOSITORY}/actions/([\\w-]+)@[\\w.-]+$`).exec(ref);
      return m ? { name: `actions/${m[1]}`, contract: readAction(m[1]!, base) } : undefined;
    },
    workflow(ref) {
      const m =
        /^\.\/\.github\/workflows\/([\w.-]+\.ya?ml)$/.exec(ref) ??
        new RegExp(`^${TOOLKIT_REPOSITORY}/\\.github/workflows/([\\w.-]+\\.ya?ml)@[\\w.-]+$`).exec(ref);
      if (!m) return undefined;
      const file = join(base, '.github', 'workflows', m[1]!);
      return {
        name: `.github/workflows/${m[1]}`,
        contract: existsSync(file) ? callContract(readWorkflow(file)) : undefined,
      };
    },
  };
}

const needsOf = (job: Job) =>
  job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

/** Every contract violation in one workflow document (empty when it keeps every contract). */
export function checkWorkflow(
  file: string,
  wf: Workflow,
  resolve: Resolver = repositoryResolver(),
): string[] {
  const problems: string[] = [];
  const say = (where: string, what: string) => problems.push(`${file}: ${where}: ${what}`);
  const jobs = wf.jobs ?? {};
  const on = triggers(wf);
  const call = callContract(wf);
  const declaredInputs = new Set([
    ...Object.keys(call?.inputs ?? {}),
    ...Object.keys(((on.workflow_dispatch as Obj | null)?.inputs as Obj) ?? {}),
  ]);

  const jobOutputs = (name: string): Set<string> | undefined => {
    const job = jobs[name];
    if (!job) return undefined;
    if (job.uses) return resolve.workflow(job.uses)?.contract?.outputs;
    return new Set(Object.keys(job.outputs ?? {}));
  };

  const checkRefs = (where: string, text: string, ctx: { needs?: string[]; steps?: Map<string, Step> }) => {
    for (const [, job, out] of text.matchAll(/\bneeds\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      if (!ctx.needs?.includes(job!)) say(where, `needs.${job}: ${job} is not in this job's needs`);
      else if (!jobOutputs(job!)?.has(out!))
        say(where, `needs.${job}.outputs.${out}: job ${job} has no output ${out}`);
    }
    for (const [, id, out] of text.matchAll(/\bsteps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      const step = ctx.steps?.get(id!);
      if (!step) {
        say(where, `steps.${id}: no step with that id before this point`);
        continue;
      }
      const ours = step.uses ? resolve.action(step.uses) : undefined;
      if (ours?.contract && !ours.contract.outputs.has(out!))
        say(where, `steps.${id}.outputs.${out}: ${ours.name} has no output ${out}`);
    }
    for (const [, job, out] of text.matchAll(/\bjobs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      if (!jobs[job!]) say(where, `jobs.${job}: no such job`);
      else if (!jobOutputs(job!)?.has(out!)) say(where, `jobs.${job}.outputs.${out}: no such job output`);
    }
    for (const [, name] of text.matchAll(/\binputs\.([\w-]+)/g))
      if (!declaredInputs.has(name!)) say(where, `inputs.${name}: no trigger declares this input`);
    if (call)
      for (const [, name] of text.matchAll(/\bsecrets\.([\w-]+)/g))
        if (name !== 'GITHUB_TOKEN' && !(name! in call.secrets))
          say(where, `secrets.${name}: not a secret of this reusable workflow`);
  };

  for (const e of expressions(call ? (on.workflow_call as Obj) : {}, 'on.workflow_call'))
    checkRefs(e.where, e.text, {});
  for (const key of ['concurrency', 'env', 'run-name'])
    for (const e of expressions(wf[key], key)) checkRefs(e.where, e.text, {});

  for (const [jobName, job] of Object.entries(jobs)) {
    const needs = needsOf(job);
    for (const n of needs) if (!jobs[n]) say(`jobs.${jobName}.needs`, `no job ${n}`);
    const steps = new Map<string, Step>();
    const { steps: stepList, outputs, if: _if, ...rest } = job;
    // Job-level values (if, with, env, concurrency, environment, ...): needs.* resolves, steps do not.
    for (const e of [...expressions(rest, `jobs.${jobName}`), ...ifExpressions(job.if, `jobs.${jobName}.if`)])
      checkRefs(e.where, e.text, { needs });

    if (job.uses) {
      const called = resolve.workflow(job.uses);
      if (called) {
        if (!called.contract) say(`jobs.${jobName}`, `${called.name} does not exist or is not reusable`);
        else checkCall(`jobs.${jobName}`, called.name, called.contract, job, say);
      }
    }

    (stepList ?? []).forEach((step, i) => {
      const where = `jobs.${jobName}.steps[${step.id ?? i}]`;
      const { run, if: _stepIf, ...stepRest } = step;
      for (const e of [...expressions(stepRest, where), ...ifExpressions(step.if, `${where}.if`)])
        checkRefs(e.where, e.text, { needs, steps });
      if (typeof run === 'string' && run.includes('${{'))
        say(`${where}.run`, 'an expression inside run: (pass the value through env:)');
      if (step.uses) {
        const ours = resolve.action(step.uses);
        if (ours) {
          if (!ours.contract) say(where, `${ours.name} does not exist`);
          else checkWith(where, ours.name, ours.contract.inputs, step.with ?? {}, say);
        }
      }
      if (step.id) steps.set(step.id, step);
    });
    for (const e of expressions(outputs, `jobs.${jobName}.outputs`))
      checkRefs(e.where, e.text, { needs, steps });
  }
  return problems;
}

function checkWith(
  where: string,
  name: string,
  declared: Record<string, Spec>,
  given: Obj,
  say: (where: string, what: string) => void,
) {
  for (const key of Object.keys(given)) if (!(key in declared)) say(where, `${name} has no input ${key}`);
  for (const [key, spec] of Object.entries(declared))
    if (required(spec) && !(key in given)) say(where, `${name} needs input ${key}`);
}

function checkCall(
  where: string,
  name: string,
  contract: WorkflowContract,
  job: Job,
  say: (where: string, what: string) => void,
) {
  checkWith(where, name, contract.inputs, job.with ?? {}, say);
  if (job.secrets === 'inherit') return;
  const given = job.secrets ?? {};
  for (const key of Object.keys(given))
    if (!(key in contract.secrets)) say(where, `${name} has no secret ${key}`);
  for (const [key, spec] of Object.entries(contract.secrets))
    if (required(spec) && !(key in given)) say(where, `${name} needs secret ${key}`);
}
