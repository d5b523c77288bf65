/**
 * The runner contract, end to end: the committed ncc bundle of an action, run with INPUT_*
 * variables and real GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, publishes outputs and a
 * summary; bad input fails the step with a message naming the field.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionNode, runBundledAction } from '../helpers/run-action.js';

const dir = mkdtempSync(join(tmpdir(), 'rke2ops-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = new URL('../..', import.meta.url).pathname;
const actionNames = readdirSync(join(root, 'actions')).filter((d) =>
  existsSync(join(root, 'actions', d, 'action.yml')),
);

describe('runtime: every bundle runs on the node its action.yml declares', () => {
  test.each(actionNames)('%s', async (name) => {
    const node = actionNode(name);
    // Printed on purpose: the suite's log shows which node ran the bundles.
    console.log(`actions/${name}: runs.using ${node.using} -> ${node.path} ${node.version}`);
    expect(node.using).toBe('node24');
    expect(node.version).toMatch(/^v24\./);
    const run = await runBundledAction(name, {}, { RKE2OPS_BUNDLE_CHECK: '1' });
    expect(run.code).toBe(0);
    expect(run.nodeVersion).toBe(node.version);
    // The bundle itself reports the version it ran on; no runtime warning (e.g. the AWS SDK's
    // "upgrade to node >= 22") on stderr.
    expect(run.stdout).toBe(`bundle-ok ${name} on node ${node.version}\n`);
    expect(run.stderr).toBe('');
  });
});

function hostKey(name: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
}

const inventory = {
  version: 1,
  cluster: 'lab-a',
  masters: [
    { name: 'lab-a-master-0', address: '127.0.1.10', host_keys: [hostKey('m0')] },
    { name: 'lab-a-master-1', address: '127.0.1.11', host_keys: [hostKey('m1')] },
    { name: 'lab-a-master-2', address: '127.0.1.12', host_keys: [hostKey('m2')] },
  ],
  workers: [{ name: 'lab-a-worker-0', address: '127.0.2.10', host_keys: [hostKey('w0')] }],
  rke2: { version: 'v1.34.4+rke2r1' },
};

test('outputs and job summary from the bundled action (tofu output -json shape, from a file)', async () => {
  const file = join(dir, 'tofu-output.json');
  writeFileSync(
    file,
    JSON.stringify({ ops_inventory: { sensitive: false, type: 'object', value: inventory } }),
  );
  const run = await runBundledAction('inventory', { 'inventory-file': file });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.outputs.cluster).toBe('lab-a');
  expect(JSON.parse(run.outputs.masters!)).toEqual(['lab-a-master-0', 'lab-a-master-1', 'lab-a-master-2']);
  expect(JSON.parse(run.outputs.workers!)).toEqual(['lab-a-worker-0']);
  expect(run.outputs['node-count']).toBe('4');
  expect(Number(run.outputs['duration-seconds'])).toBeGreaterThanOrEqual(0);
  const report = JSON.parse(run.outputs.report!);
  expect(report.nodes[0].hostKeyFingerprints[0]).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  expect(run.summary).toContain('<h2>Inventory: lab-a</h2>');
  expect(run.summary).toContain('lab-a-worker-0');
});

test('bad input fails the step with ::error:: naming the field, and sets no outputs', async () => {
  const bad = { ...inventory, masters: [{ ...inventory.masters[0], address: '127.0.1.999' }] };
  const run = await runBundledAction('inventory', { inventory: JSON.stringify(bad) });
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/::error::inventory\.masters\[0\]\.address: must be an IPv4\/IPv6 address/);
  expect(run.outputs).toEqual({});
});

test('missing inputs are reported, not crashed on', async () => {
  const run = await runBundledAction('inventory', {});
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/::error::inventory: give `inventory` \(JSON\) or `inventory-file`/);
});
