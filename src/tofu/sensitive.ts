import { child, isObject, type Json, type PlanJson, type StateModule } from './plan-json.js';

/**
 * Every value tofu marks sensitive in a plan: resource attributes (before and after), outputs,
 * root variables declared `sensitive`, and the prior state. The front ends register them as
 * secrets (masked in the log, redacted from every summary, comment and report) - a second line
 * of defence behind never rendering a sensitive value in the first place.
 */
export function sensitiveValues(plan: PlanJson): string[] {
  const found = new Set<string>();
  const take = (value: Json | undefined, mask: Json | undefined) => collect(value, mask, found);
  for (const rc of plan.resource_changes ?? []) {
    take(rc.change.before, rc.change.before_sensitive);
    take(rc.change.after, rc.change.after_sensitive);
  }
  for (const oc of Object.values(plan.output_changes ?? {})) {
    take(oc.before, oc.before_sensitive);
    take(oc.after, oc.after_sensitive);
  }
  const declared = plan.configuration?.root_module?.variables ?? {};
  for (const [name, v] of Object.entries(plan.variables ?? {})) {
    if (declared[name]?.sensitive) take(v.value, true);
  }
  const prior = plan.prior_state?.values;
  for (const out of Object.values(prior?.outputs ?? {})) if (out.sensitive) take(out.value, true);
  const walkModule = (m: StateModule | undefined) => {
    for (const r of m?.resources ?? []) take(r.values, r.sensitive_values);
    for (const c of m?.child_modules ?? []) walkModule(c);
  };
  walkModule(prior?.root_module);
  return [...found];
}

/** Sensitive values of `tofu output -json` (`{name: {sensitive, value}}`). */
export function sensitiveOutputValues(
  outputs: Record<string, { sensitive?: boolean; value?: Json }>,
): string[] {
  const found = new Set<string>();
  for (const out of Object.values(outputs)) if (out.sensitive) collect(out.value, true, found);
  return [...found];
}

function collect(value: Json | undefined, mask: Json | undefined, into: Set<string>): void {
  if (value === undefined || value === null || mask === undefined || mask === false) return;
  if (mask === true) {
    leaves(value, into);
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => collect(v, child(mask, i), into));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) collect(v, child(mask, k), into);
}

function leaves(value: Json, into: Set<string>): void {
  if (value === null) return;
  if (Array.isArray(value)) value.forEach((v) => leaves(v, into));
  else if (isObject(value)) Object.values(value).forEach((v) => leaves(v, into));
  else if (typeof value === 'string') into.add(value);
  else if (typeof value === 'number') into.add(String(value));
  // Booleans are not secrets worth masking: "true" everywhere would shred every log line.
}

/**
 * Registers sensitive values as secrets. A multi-line value (a private key, a cloud-init
 * document holding a token) is registered whole, and of its lines only the token-like ones
 * (no blank inside, 16+ characters: key material, tokens): masking every `runcmd:` line of
 * every log would hide the plan without protecting anything.
 */
export function registerSensitive(
  secrets: { add(v: string, o?: { lines?: (l: string) => boolean }): void },
  values: readonly string[],
): void {
  for (const value of values) secrets.add(value, { lines: (line) => line.length >= 16 && !/\s/.test(line) });
}
