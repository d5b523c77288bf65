/**
 * Gives a configuration a state as if it had been applied - offline, without the cloud: plans
 * it (`-refresh=false`), writes every planned object into the state with its unknown values
 * filled in (typed by the provider schemas: numbers for numeric IDs, addresses from the
 * documentation ranges), pushes that state, and plans again until nothing is left to do;
 * then an apply writes the outputs (no resource changes left, so no provider is asked to do
 * anything). After that, `tofu plan -refresh=false` with a changed variable shows what a real
 * change of a running cluster would show. Used to plan module/examples/minimal offline.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TofuTool } from './tofu.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type CtyType = string | [string, unknown] | [string, unknown, unknown];

interface Attribute {
  type?: CtyType;
  computed?: boolean;
}
interface Block {
  attributes?: Record<string, Attribute>;
  block_types?: Record<string, { nesting_mode: string; block: Block }>;
}
interface ResourceSchema {
  version: number;
  block: Block;
}
interface ResourceChange {
  address: string;
  module_address?: string;
  mode: string;
  type: string;
  name: string;
  index?: number | string;
  provider_name: string;
  change: { actions: string[]; before: Json; after: Json; after_unknown?: Json };
}

const isObject = (v: unknown): v is Record<string, Json> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const at = (v: Json | undefined, k: string | number): Json | undefined =>
  Array.isArray(v) && typeof k === 'number' ? v[k] : isObject(v) && typeof k === 'string' ? v[k] : undefined;

/**
 * Values with a structure the provider relies on (it parses them while planning); everything
 * else is a plain fake. hcloud: a subnet's ID is `<network id>-<ip range>`, and a load
 * balancer's network attachment takes its network from its subnet's ID.
 */
const FIXUPS: Record<string, (a: Record<string, Json>) => void> = {
  hcloud_network_subnet: (a) => {
    a.id = `${a.network_id}-${a.ip_range}`;
  },
  hcloud_load_balancer_network: (a) => {
    if (typeof a.subnet_id === 'string') a.network_id = Number(a.subnet_id.split('-')[0]);
  },
};

/** Providers whose resources are created for real (they need no cloud): keys, tokens. */
const REAL_PROVIDERS = /\/hashicorp\/(tls|random)$/;

export function materialiseState(
  tool: TofuTool,
  dir: string,
  env: Record<string, string> = {},
  maxRounds = 8,
): number {
  const run = (args: string[]) =>
    execFileSync(tool.binary, args, {
      cwd: dir,
      env: { ...process.env, ...tool.env, ...env },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
  const schemas = new Map<string, ResourceSchema>();
  const providers = JSON.parse(run(['providers', 'schema', '-json'])).provider_schemas as Record<
    string,
    { resource_schemas?: Record<string, ResourceSchema> }
  >;
  for (const p of Object.values(providers))
    for (const [type, s] of Object.entries(p.resource_schemas ?? {})) schemas.set(type, s);

  let n = 1000;
  const next = () => ++n;
  /** A stand-in for a value only the cloud would know, of the schema's type. */
  const fake = (type: CtyType | undefined, name: string): Json => {
    if (type === 'number') return next();
    if (type === 'bool') return false;
    if (type === 'string' || type === undefined || type === 'dynamic') {
      if (name === 'id') return String(next());
      if (name === 'subnet_id') return `${next()}-10.0.1.0/24`; // hcloud parses it
      if (/ipv6_network/.test(name)) return '2001:db8::/64';
      if (/ipv6/.test(name)) return `2001:db8::${next().toString(16)}`;
      if (/ipv4|ip_address|^ip$/.test(name)) return `203.0.113.${next() % 250}`;
      return `offline-${name}-${next()}`;
    }
    if (Array.isArray(type) && (type[0] === 'list' || type[0] === 'set')) return [];
    if (Array.isArray(type) && type[0] === 'map') return {};
    if (Array.isArray(type) && type[0] === 'object')
      return Object.fromEntries(Object.keys(type[1] as object).map((k) => [k, null]));
    return null;
  };
  /** after with its unknown parts filled: the value the object had before if any, else a fake. */
  const fill = (
    after: Json | undefined,
    unknown: Json | undefined,
    before: Json | undefined,
    type: CtyType | undefined,
    name: string,
  ): Json => {
    if (unknown === true) return before !== undefined && before !== null ? before : fake(type, name);
    if (Array.isArray(after)) {
      const elem = Array.isArray(type) && type[0] !== 'object' ? (type[1] as CtyType) : undefined;
      return after.map((v, i) => fill(v, at(unknown, i), at(before, i), elem, name));
    }
    if (isObject(after)) {
      const types =
        Array.isArray(type) && type[0] === 'object' ? (type[1] as Record<string, CtyType>) : undefined;
      const elem = Array.isArray(type) && type[0] === 'map' ? (type[1] as CtyType) : undefined;
      return Object.fromEntries(
        Object.entries(after).map(([k, v]) => [
          k,
          fill(v, at(unknown, k), at(before, k), types?.[k] ?? elem, k),
        ]),
      );
    }
    return after === undefined ? null : after;
  };
  const fillBlock = (
    after: Json,
    unknown: Json | undefined,
    before: Json | undefined,
    block: Block,
  ): Json => {
    const out: Record<string, Json> = {};
    for (const [name, attr] of Object.entries(block.attributes ?? {})) {
      let value = fill(at(after, name), at(unknown, name), at(before, name), attr.type, name);
      if (attr.type === 'dynamic' && value !== null) value = { value, type: ctyTypeOf(value) } as Json;
      out[name] = value;
    }
    for (const [name, nested] of Object.entries(block.block_types ?? {})) {
      const a = at(after, name);
      if (Array.isArray(a))
        out[name] = a.map((v, i) =>
          fillBlock(v, at(at(unknown, name), i), at(at(before, name), i), nested.block),
        );
      else if (isObject(a)) out[name] = fillBlock(a, at(unknown, name), at(before, name), nested.block);
      else out[name] = nested.nesting_mode === 'single' ? null : [];
    }
    return out;
  };

  // Keys and tokens are real (other providers parse them); only cloud objects are filled in.
  run(['plan', '-refresh=false', '-input=false', '-no-color', '-out=materialise.tfplan']);
  const first = JSON.parse(run(['show', '-json', 'materialise.tfplan'])) as {
    resource_changes?: ResourceChange[];
  };
  const real = (first.resource_changes ?? []).filter(
    (r) =>
      r.mode === 'managed' && REAL_PROVIDERS.test(r.provider_name) && r.change.actions.join() === 'create',
  );
  if (real.length)
    run([
      'apply',
      '-refresh=false',
      '-input=false',
      '-no-color',
      '-auto-approve',
      ...real.map((r) => `-target=${r.address}`),
    ]);

  for (let round = 1; round <= maxRounds; round++) {
    run(['plan', '-refresh=false', '-input=false', '-no-color', '-out=materialise.tfplan']);
    const plan = JSON.parse(run(['show', '-json', 'materialise.tfplan'])) as {
      resource_changes?: ResourceChange[];
    };
    const todo = (plan.resource_changes ?? []).filter(
      (r) => r.mode === 'managed' && r.change.actions.join() !== 'no-op',
    );
    if (!todo.length) {
      run(['apply', '-refresh=false', '-input=false', '-no-color', '-auto-approve']);
      return round;
    }
    const pulled = run(['state', 'pull']).trim();
    const state = pulled
      ? JSON.parse(pulled)
      : {
          version: 4,
          terraform_version: '',
          serial: 0,
          lineage: randomUUID(),
          outputs: {},
          resources: [],
          check_results: null,
        };
    state.serial += 1;
    for (const rc of todo) {
      const schema = schemas.get(rc.type);
      if (!schema) throw new Error(`no schema for ${rc.type}`);
      const builtin = rc.provider_name === 'terraform.io/builtin/terraform';
      let res = (state.resources as Record<string, unknown>[]).find(
        (r) =>
          r.mode === 'managed' &&
          r.type === rc.type &&
          r.name === rc.name &&
          (r.module ?? null) === (rc.module_address ?? null),
      );
      if (!res) {
        res = {
          ...(rc.module_address ? { module: rc.module_address } : {}),
          mode: 'managed',
          type: rc.type,
          name: rc.name,
          provider: builtin
            ? 'provider["terraform.io/builtin/terraform"]'
            : `provider["${rc.provider_name}"]`,
          instances: [],
        };
        state.resources.push(res);
      }
      const instances = (res.instances as { index_key?: number | string }[]).filter(
        (i) => i.index_key !== rc.index,
      );
      if (rc.change.actions.join() !== 'delete') {
        const attributes = fillBlock(
          rc.change.after,
          rc.change.after_unknown,
          rc.change.before,
          schema.block,
        ) as Record<string, Json>;
        // terraform_data's output is its input, known once applied.
        if (rc.type === 'terraform_data') attributes.output = attributes.input ?? null;
        FIXUPS[rc.type]?.(attributes);
        instances.push({
          ...(rc.index !== undefined ? { index_key: rc.index } : {}),
          schema_version: schema.version,
          attributes,
          sensitive_attributes: [],
        } as never);
      }
      res.instances = instances;
    }
    const file = join(dir, 'materialise.tfstate');
    writeFileSync(file, JSON.stringify(state));
    run(['state', 'push', file]);
  }
  const left = readFileSync(join(dir, 'materialise.tfplan')).length;
  throw new Error(`state did not converge in ${maxRounds} rounds (last plan ${left} bytes)`);
}

/** cty's JSON type of a value, as tofu stores dynamic attributes: {"value":..., "type":...}. */
function ctyTypeOf(value: Json): unknown {
  if (value === null) return 'dynamic';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return ['tuple', value.map(ctyTypeOf)];
  return ['object', Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ctyTypeOf(v)]))];
}
