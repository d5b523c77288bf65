import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKey } from '../helpers/keys.js';
import { fakeClock, fakeCluster, fixture } from './health-fakes.js';
import { silentLogger } from '../../src/lib/logger.js';
import { SecretRegistry } from '../../src/lib/secrets.js';

/** The action's main with @actions/core mocked: outputs first, then the verdict. */
const events: string[] = [];
const outputs: Record<string, string> = {};
let summary = '';
const summaryApi = {
  addRaw: (text: string) => {
    summary += text;
    return summaryApi;
  },
  write: async () => {
    events.push('summary');
    return summaryApi;
  },
};
jest.unstable_mockModule('@actions/core', () => ({
  setOutput: (name: string, value: string) => {
    events.push(`output ${name}`);
    outputs[name] = value;
  },
  summary: summaryApi,
}));
const { execute: main } = await import('../../src/actions/health-check/main.js');

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFs2PnED7x6JVRbEZIBXMH4j0KSKIWpAEtnC0+4N2PO';
const KEY = makeKey().privateKey;
const inventory = JSON.stringify({
  version: 1,
  cluster: 'prod-eu',
  masters: [0, 1, 2].map((i) => ({
    name: `prod-eu-master-${i}`,
    address: `10.0.1.${i + 2}`,
    host_keys: [HOST_KEY],
  })),
  workers: [0, 1, 2].map((i) => ({
    name: `prod-eu-worker-${i}`,
    address: `10.0.2.${i + 2}`,
    host_keys: [HOST_KEY],
  })),
  rke2: { version: 'v1.34.4+rke2r1' },
});

function run(fixtureName: string, inputs: Record<string, string> = {}) {
  events.length = 0;
  summary = '';
  for (const k of Object.keys(outputs)) delete outputs[k];
  process.env.RUNNER_TEMP = mkdtempSync(join(tmpdir(), 'health-main-'));
  const values: Record<string, string> = {
    inventory,
    'ssh-key': KEY,
    timeout: '12',
    'poll-interval': '5',
    ...inputs,
  };
  const warnings: string[] = [];
  const ctx = {
    logger: { ...silentLogger, warning: (m: string) => void warnings.push(m) },
    secrets: new SecretRegistry(),
    getInput: (n: string) => values[n] ?? '',
  };
  const c = fakeCluster(() => fixture(fixtureName));
  return {
    warnings,
    promise: main(ctx, { connect: c.connect, clock: fakeClock(), fetch: jest.fn() as never }),
  };
}

test('healthy: every output set, summary written, the step passes', async () => {
  await run('healthy-3x3.json').promise;
  expect(outputs).toMatchObject({
    healthy: 'true',
    'time-to-healthy-seconds': '0',
    polls: '1',
    'failed-checks': '[]',
  });
  expect(JSON.parse(outputs.report!)).toMatchObject({
    kind: 'health-check',
    cluster: 'prod-eu',
    healthy: true,
  });
  expect(JSON.parse(readFileSync(outputs['report-file']!, 'utf8')).healthy).toBe(true);
  expect(outputs['report-file']!.startsWith(process.env.RUNNER_TEMP!)).toBe(true);
  expect(summary).toContain('✅ **Healthy**');
});

test('unhealthy: outputs and summary come first, then the failure names checks and nodes', async () => {
  const { promise } = run('worker-stopped.json');
  await expect(promise).rejects.toThrow(
    /cluster prod-eu is NOT healthy after 4 poll\(s\) in 12 s; failed checks: nodes\n- nodes \[prod-eu-worker-2\]: 5\/6 nodes Ready/,
  );
  expect(events).toEqual([
    'output healthy',
    'output time-to-healthy-seconds',
    'output duration-seconds',
    'output report',
    'output report-file',
    'output failed-checks',
    'output polls',
    'summary',
  ]);
  expect(outputs).toMatchObject({
    healthy: 'false',
    'time-to-healthy-seconds': '',
    'failed-checks': '["nodes"]',
  });
  expect(outputs.report).not.toContain(KEY.split('\n')[2]);
});

test('fail-on-unhealthy: false passes the step with a warning', async () => {
  const r = run('worker-stopped.json', { 'fail-on-unhealthy': 'false' });
  await r.promise;
  expect(outputs.healthy).toBe('false');
  expect(r.warnings.join('\n')).toContain('fail-on-unhealthy is false');
});
