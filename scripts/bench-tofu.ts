/**
 * Benchmark: what the tofu action adds to a plain `tofu plan`, on test/tofu/stack (shaped like
 * module/, 14 resources, local state with everything applied) and on a 3,000-line plan.
 *
 *   source .tools/env && npx tsx scripts/bench-tofu.ts [--runs 5]
 *
 * Per run, in the same temp copy (initialised once):
 *  - baseline: `tofu plan -input=false -no-color -out=<file>` (what a workflow step would run);
 *  - action:   the committed bundle (actions/tofu/dist) as the runner starts it (Node 24), init off,
 *              comment off: plan + show -json + show + summary + outputs + job summary;
 *  - summary:  summarisePlan + hash + comment rendering alone, in-process, on the plan JSON.
 * Prints medians and the ratio action / baseline.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { actionNode, inputEnv, runnerFiles } from '../test/helpers/run-action.js';
import { findTofu } from '../test/helpers/tofu.js';
import { parsePlanJson } from '../src/tofu/plan-json.js';
import { summarisePlan } from '../src/tofu/summary.js';
import { renderComment } from '../src/tofu/render.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const REPO = new URL('..', import.meta.url).pathname;
const found = findTofu();
if ('missing' in found) {
  console.error(`bench-tofu: ${found.missing}`);
  process.exit(2);
}
const tool = found;
const node = actionNode('tofu');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// The bundle gets a runner's environment: not tsx's NODE_OPTIONS.
const { NODE_OPTIONS: _ignored, ...processEnv } = process.env;
const env = { ...processEnv, ...tool.env, PATH: `${join(tool.binary, '..')}:${process.env.PATH}` };

const work = mkdtempSync(join(tmpdir(), 'rke2ops-bench-tofu-'));
const dir = join(work, 'stack');
cpSync(join(REPO, 'test/tofu/stack'), dir, { recursive: true });
const tofu = (args: string[]) => execFileSync(tool.binary, args, { cwd: dir, env, encoding: 'utf8' });
tofu(['init', '-input=false', '-no-color']);
tofu(['apply', '-input=false', '-no-color', '-auto-approve']);

function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function bench(label: string, vars: string[]) {
  const tfVars = Object.fromEntries(vars.map((v) => [`TF_VAR_${v.split('=')[0]}`, v.split('=')[1]!]));
  const baseline: number[] = [];
  const action: number[] = [];
  const summary: number[] = [];
  for (let i = 0; i < runs; i++) {
    baseline.push(
      timeMs(() =>
        execFileSync(
          tool.binary,
          ['plan', '-input=false', '-no-color', `-out=${join(work, 'base.tfplan')}`],
          {
            cwd: dir,
            env: { ...env, ...tfVars },
          },
        ),
      ),
    );
    const step = mkdtempSync(join(work, 'step-'));
    const files = runnerFiles(step);
    action.push(
      timeMs(() => {
        const r = spawnSync(node.path, [join(REPO, 'actions/tofu/dist/index.js')], {
          cwd: work,
          env: {
            ...env,
            ...inputEnv({
              'working-directory': 'stack',
              init: 'false',
              comment: 'false',
              vars: vars.join('\n'),
              'plan-file': join(work, 'action.tfplan'),
            }),
            ...files,
          },
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`action failed:\n${r.stdout}\n${r.stderr}`);
      }),
    );
    const json = readFileSync(join(work, 'action.tfplan.json'), 'utf8');
    summary.push(
      timeMs(() => {
        const s = summarisePlan(parsePlanJson(json, 'plan'));
        renderComment(
          {
            workingDirectory: 'stack',
            summary: s,
            planText: readFileSync(join(work, 'action.tfplan.txt'), 'utf8'),
            tofuVersion: tool.version,
            at: '',
          },
          '<!-- m -->',
        );
      }),
    );
    rmSync(step, { recursive: true, force: true });
  }
  const text = statSync(join(work, 'action.tfplan.txt')).size;
  console.log(
    `${label.padEnd(34)} plan text ${(text / 1024).toFixed(0).padStart(4)} KB | tofu plan ${median(baseline).toFixed(0).padStart(5)} ms | action ${median(action).toFixed(0).padStart(5)} ms | ratio ${(median(action) / median(baseline)).toFixed(2)} | summary+comment in-process ${median(summary).toFixed(1)} ms`,
  );
}

console.log(`tofu ${tool.version}, action on node ${node.version}, ${runs} runs each, medians`);
bench('upgrade plan (1 change)', ['rke2_version=v1.35.1+rke2r1']);
bench('replacement plan (4 replaced)', ['image=debian-12']);
bench('large plan (3,000 extra lines)', ['plan_padding=3000']);
const bundle = statSync(join(REPO, 'actions/tofu/dist/index.js')).size;
console.log(`bundle actions/tofu/dist/index.js: ${(bundle / 1e6).toFixed(2)} MB`);
rmSync(work, { recursive: true, force: true });
