/**
 * The parts of `tofu show -json <planfile>` (format 1.x) this toolkit reads. Values are
 * untyped JSON: resources differ per provider. `*_sensitive` mirror their value with `true`
 * where a value is sensitive; `after_unknown` with `true` where it is known only after apply.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type ChangeAction = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget';

export interface Change {
  actions: ChangeAction[];
  before: Json;
  after: Json;
  after_unknown?: Json;
  before_sensitive?: Json;
  after_sensitive?: Json;
  replace_paths?: Json[][];
  importing?: { id?: string } | null;
}

export interface ResourceChange {
  address: string;
  module_address?: string;
  previous_address?: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  index?: number | string;
  deposed?: string;
  provider_name: string;
  change: Change;
  action_reason?: string;
}

export interface PlanJson {
  format_version: string;
  terraform_version?: string;
  variables?: Record<string, { value: Json }>;
  resource_changes?: ResourceChange[];
  output_changes?: Record<string, Change>;
  prior_state?: { values?: StateValues };
  configuration?: {
    root_module?: { variables?: Record<string, { sensitive?: boolean }> };
  };
  errored?: boolean;
  applyable?: boolean;
  complete?: boolean;
}

export interface StateValues {
  outputs?: Record<string, { sensitive?: boolean; value: Json }>;
  root_module?: StateModule;
}

export interface StateModule {
  resources?: { address: string; values?: Json; sensitive_values?: Json }[];
  child_modules?: StateModule[];
}

/** Parses and checks the shape just enough to fail with a clear message on anything else. */
export function parsePlanJson(text: string, source: string): PlanJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON (${(error as Error).message})`, { cause: error });
  }
  const plan = parsed as PlanJson;
  if (!plan || typeof plan !== 'object' || typeof plan.format_version !== 'string')
    throw new Error(`${source} is not a plan in tofu's JSON format (no format_version)`);
  if (!/^1\./.test(plan.format_version))
    throw new Error(`${source}: plan JSON format ${plan.format_version} is not supported (1.x expected)`);
  if (plan.resource_changes !== undefined && !Array.isArray(plan.resource_changes))
    throw new Error(`${source}: resource_changes is not a list`);
  return plan;
}

export const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The child of a JSON value at a key or index (undefined when absent). */
export function child(value: Json | undefined, key: string | number): Json | undefined {
  if (Array.isArray(value) && typeof key === 'number') return value[key];
  if (isObject(value) && typeof key === 'string') return value[key];
  return undefined;
}

/** Whether a sensitivity (or unknown) mask marks the value at `path` (or a parent of it). */
export function marked(mask: Json | undefined, path: readonly (string | number)[]): boolean {
  let node = mask;
  for (const key of path) {
    if (node === true) return true;
    node = child(node, key);
    if (node === undefined) return false;
  }
  return node === true;
}
