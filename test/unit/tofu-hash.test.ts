import { canonicalJson, normaliseResourceChanges, resourceChangesHash } from '../../src/tofu/hash.js';
import type { Json } from '../../src/tofu/plan-json.js';
import { sensitiveValues } from '../../src/tofu/sensitive.js';
import { plan, rc } from './tofu-fixtures.js';

const base = () =>
  plan([
    rc(
      'terraform_data.guardrails',
      ['update'],
      { input: { a: 1, rke2_version: 'v1.34.4+rke2r1' } },
      { input: { rke2_version: 'v1.35.1+rke2r1', a: 1 } },
    ),
    rc(
      'random_password.token',
      ['create'],
      null,
      { length: 48 },
      { change: { after_unknown: { result: true } } },
    ),
  ]);

test('key order, whitespace and resource order do not change the hash', () => {
  const reordered = JSON.parse(JSON.stringify(base()));
  reordered.resource_changes.reverse();
  reordered.resource_changes[1].change.after = { input: { a: 1, rke2_version: 'v1.35.1+rke2r1' } };
  const pretty = JSON.parse(JSON.stringify(reordered, null, 4));
  expect(resourceChangesHash(pretty)).toBe(resourceChangesHash(base()));
  expect(resourceChangesHash(base())).toMatch(/^[0-9a-f]{64}$/);
});

test('no-op resources (refreshed attributes included) are left out', () => {
  const withNoop = base();
  withNoop.resource_changes!.push(
    rc('hcloud_server.master[0]', ['no-op'], { status: 'running' }, { status: 'running' }),
  );
  const drifted = base();
  drifted.resource_changes!.push(
    rc('hcloud_server.master[0]', ['no-op'], { status: 'off' }, { status: 'off' }),
  );
  expect(resourceChangesHash(withNoop)).toBe(resourceChangesHash(base()));
  expect(resourceChangesHash(drifted)).toBe(resourceChangesHash(base()));
  expect(normaliseResourceChanges(withNoop).map((c) => c.address)).toEqual([
    'random_password.token',
    'terraform_data.guardrails',
  ]);
});

test('any change to what happens changes the hash: a value, an action, an unknown, a new resource', () => {
  const h = resourceChangesHash(base());
  const value = base();
  (value.resource_changes![0]!.change.after as { input: { rke2_version: string } }).input.rke2_version =
    'v1.35.2+rke2r1';
  const action = base();
  action.resource_changes![0]!.change.actions = ['delete', 'create'];
  const unknown = base();
  unknown.resource_changes![1]!.change.after_unknown = {};
  const extra = base();
  extra.resource_changes!.push(rc('hcloud_server.worker[3]', ['delete'], { name: 'w3' }, null));
  const hashes = [value, action, unknown, extra].map(resourceChangesHash);
  expect(new Set([h, ...hashes]).size).toBe(5);
});

test('sensitive values are masked before hashing (and are what sensitiveValues finds)', () => {
  const secret = (v: string) =>
    plan([
      rc(
        'terraform_data.ccm',
        ['update'],
        { input: 'old-token-value' },
        { input: v },
        {
          change: { before_sensitive: { input: true }, after_sensitive: { input: true } },
        },
      ),
    ]);
  expect(resourceChangesHash(secret('token-A-0123456789'))).toBe(
    resourceChangesHash(secret('token-B-0123456789')),
  );
  expect(JSON.stringify(normaliseResourceChanges(secret('token-A-0123456789')))).not.toContain('token-A');
  expect(sensitiveValues(secret('token-A-0123456789')).sort()).toEqual([
    'old-token-value',
    'token-A-0123456789',
  ]);
});

test('sensitiveValues also reads sensitive root variables, outputs and the prior state', () => {
  const p = plan([], {
    variables: { hcloud_token: { value: 'tok-0123456789' }, cluster_name: { value: 'prod' } },
    configuration: { root_module: { variables: { hcloud_token: { sensitive: true }, cluster_name: {} } } },
    output_changes: {
      key: { actions: ['create'], before: null, after: { pem: 'PEM-BODY-LINE' }, after_sensitive: true },
    },
    prior_state: {
      values: {
        outputs: { rke2_token: { sensitive: true, value: 'rke2-token-0123' } },
        root_module: {
          child_modules: [
            {
              resources: [
                { address: 'x', values: { a: 'open', b: 'hidden-value' }, sensitive_values: { b: true } },
              ],
            },
          ],
        },
      },
    },
  });
  expect(sensitiveValues(p).sort()).toEqual([
    'PEM-BODY-LINE',
    'hidden-value',
    'rke2-token-0123',
    'tok-0123456789',
  ]);
});

test('canonicalJson sorts keys at every level and keeps array order', () => {
  const v: Json = { b: [{ z: 1, a: 2 }, 3], a: null };
  expect(canonicalJson(v)).toBe('{"a":null,"b":[{"a":2,"z":1},3]}');
});
