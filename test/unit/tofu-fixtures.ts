/** Small hand-made plan JSON documents (tofu show -json shape) for the tofu unit tests. */
import type { Change, ChangeAction, Json, PlanJson, ResourceChange } from '../../src/tofu/plan-json.js';

export function rc(
  address: string,
  actions: ChangeAction[],
  before: Json,
  after: Json,
  extra: Partial<Omit<ResourceChange, 'change'>> & { change?: Partial<Change> } = {},
): ResourceChange {
  const m = /^(?:.*\.)?([a-z0-9_]+)\.([a-z0-9_]+)(?:\[(.+)\])?$/.exec(address)!;
  const index = m[3] === undefined ? undefined : /^\d+$/.test(m[3]) ? Number(m[3]) : m[3].replace(/"/g, '');
  const { change, ...rest } = extra;
  return {
    address,
    mode: 'managed',
    type: m[1]!,
    name: m[2]!,
    ...(index !== undefined ? { index } : {}),
    provider_name: 'registry.opentofu.org/hetznercloud/hcloud',
    change: {
      actions,
      before,
      after,
      after_unknown: {},
      before_sensitive: false,
      after_sensitive: false,
      ...change,
    },
    ...rest,
  };
}

export function plan(changes: ResourceChange[], extra: Partial<PlanJson> = {}): PlanJson {
  return { format_version: '1.2', terraform_version: '1.11.6', resource_changes: changes, ...extra };
}

export const server = (
  name: string,
  labels: Record<string, string>,
  more: Record<string, Json> = {},
): Json => ({
  name,
  image: 'ubuntu-24.04',
  server_type: 'cx23',
  labels,
  ...more,
});
