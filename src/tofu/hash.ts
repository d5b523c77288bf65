import { createHash } from 'node:crypto';
import { child, isObject, type Json, type PlanJson, type ResourceChange } from './plan-json.js';

/**
 * The fingerprint of what a plan will do, so `apply` can refuse anything but the plan that was
 * reviewed. Built from `resource_changes` only, normalised:
 * - resources with nothing to do (`no-op`) are left out: refreshed attributes of untouched
 *   resources are not a change (the "plan always differs" complaint against text hashes);
 * - object keys are sorted, so key order and whitespace of the JSON cannot matter;
 * - sensitive values are replaced by a marker: the reviewer never saw them (the comment masks
 *   them), and a hash of a low-entropy secret published in a PR would invite guessing.
 */
export const SENSITIVE_MARK = { '(sensitive)': true } as const;

export interface NormalisedChange {
  address: string;
  previous_address: string | null;
  deposed: string | null;
  mode: string;
  type: string;
  provider_name: string;
  actions: string[];
  before: Json;
  after: Json;
  after_unknown: Json;
  replace_paths: Json;
  importing: Json;
}

export function normaliseResourceChanges(plan: PlanJson): NormalisedChange[] {
  return (plan.resource_changes ?? [])
    .filter((rc) => !(rc.change.actions.length === 1 && rc.change.actions[0] === 'no-op'))
    .map(normalise)
    .sort((a, b) =>
      compareKeys(`${a.address}\u0000${a.deposed ?? ''}`, `${b.address}\u0000${b.deposed ?? ''}`),
    );
}

function normalise(rc: ResourceChange): NormalisedChange {
  return {
    address: rc.address,
    previous_address: rc.previous_address ?? null,
    deposed: rc.deposed ?? null,
    mode: rc.mode,
    type: rc.type,
    provider_name: rc.provider_name,
    actions: [...rc.change.actions],
    before: maskSensitive(rc.change.before, rc.change.before_sensitive),
    after: maskSensitive(rc.change.after, rc.change.after_sensitive),
    after_unknown: rc.change.after_unknown ?? null,
    replace_paths: (rc.change.replace_paths ?? null) as Json,
    importing: (rc.change.importing ?? null) as Json,
  };
}

function maskSensitive(value: Json | undefined, mask: Json | undefined): Json {
  if (value === undefined) return null;
  if (mask === true) return value === null ? null : { ...SENSITIVE_MARK };
  if (Array.isArray(value)) return value.map((v, i) => maskSensitive(v, child(mask, i)));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSensitive(v, child(mask, k))]));
  }
  return value;
}

/** JSON with object keys sorted at every level: one text per value, whatever the key order. */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareKeys);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Code-unit order, independent of locale. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sha256 (hex) of the normalised resource changes, with a format prefix so it can evolve. */
export function resourceChangesHash(plan: PlanJson): string {
  const text = canonicalJson({
    format: 'rke2-ops/resource-changes/1',
    changes: normaliseResourceChanges(plan) as unknown as Json,
  });
  return createHash('sha256').update(text).digest('hex');
}
