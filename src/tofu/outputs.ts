import type { OutputConfig } from './config.js';
import type { Json } from './plan-json.js';
import type { TofuReport } from './report.js';
import { registerSensitive, sensitiveOutputValues } from './sensitive.js';
import { TofuSession, type TofuDeps } from './session.js';

/** `tofu output -json`: name -> {sensitive, type, value}. */
export type TofuOutputs = Record<string, { sensitive?: boolean; type?: Json; value?: Json }>;

export interface OutputsResult {
  /** Every output; sensitive values replaced by null unless asked for (then masked in logs). */
  outputs: Record<string, { sensitive: boolean; value: Json }>;
  names: string[];
  sensitive: string[];
}

/**
 * Reads the outputs after apply or on their own. Sensitive values are registered as secrets
 * at once; they leave only when `includeSensitive` (and the runner then masks them - and
 * refuses to pass them between jobs, which is the point).
 */
export async function readOutputs(session: TofuSession, includeSensitive: boolean): Promise<OutputsResult> {
  const run = await session.run(['output', '-json', '-no-color']);
  session.check(run, 'outputs', 'check that the state is reachable (backend configuration, credentials)');
  let parsed: TofuOutputs;
  try {
    parsed = JSON.parse(run.stdout || '{}') as TofuOutputs;
  } catch (error) {
    throw new Error(`tofu output -json did not print JSON (${(error as Error).message})`, { cause: error });
  }
  registerSensitive(session.deps.secrets, sensitiveOutputValues(parsed));
  const outputs: OutputsResult['outputs'] = {};
  const sensitive: string[] = [];
  for (const [name, out] of Object.entries(parsed)) {
    const isSensitive = out.sensitive === true;
    if (isSensitive) sensitive.push(name);
    outputs[name] = {
      sensitive: isSensitive,
      value: isSensitive && !includeSensitive ? null : (out.value ?? null),
    };
  }
  return { outputs, names: Object.keys(parsed).sort(), sensitive: sensitive.sort() };
}

/** `tofu output -json` on its own, for passing ops_inventory to the other actions. */
export async function runOutput(
  config: OutputConfig,
  deps: TofuDeps,
): Promise<{ report: TofuReport; outputs?: OutputsResult }> {
  const session = new TofuSession('output', config, deps);
  try {
    await session.prepare();
    const outputs = await session.timer.run('outputs', () => readOutputs(session, config.includeSensitive));
    return {
      report: session.report({
        ok: true,
        verdict: `${config.displayDirectory}: ${outputs.names.length} output(s)`,
        outputs: { names: outputs.names, sensitive: outputs.sensitive },
      }),
      outputs,
    };
  } catch (error) {
    return { report: session.failed(error) };
  }
}
