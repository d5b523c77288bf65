import { renderHealth, wantColor } from '../../src/cli/render-health.js';
import type { HealthReport } from '../../src/health/run.js';

const report = (healthy: boolean): HealthReport => ({
  kind: 'health-check',
  cluster: 'prod-eu',
  healthy,
  verdict: '',
  startedAt: '2026-11-27T09:00:00.000Z',
  finishedAt: '2026-11-27T09:00:01.000Z',
  durationSeconds: 1,
  timeToHealthySeconds: healthy ? 0.4 : null,
  polls: 1,
  timeoutSeconds: 60,
  pollIntervalSeconds: 10,
  checks: [
    { name: 'ssh-trust', status: 'pass', message: 'pinned host key verified on 6 node(s) contacted' },
    healthy
      ? { name: 'nodes', status: 'pass', message: '6/6 nodes Ready' }
      : {
          name: 'nodes',
          status: 'fail',
          message: '5/6 nodes Ready: w2 NotReady (x\n::error::y)',
          failing: ['w2'],
        },
  ],
  failedChecks: healthy ? [] : ['nodes'],
  pollHistory: [],
  ssh: { check: 'all', nodes: [] },
  startupMs: 50,
});

test('plain text without colour: verdict line, one row per check, failing nodes named', () => {
  const out = renderHealth(report(false), { color: false });
  expect(out).not.toContain('\u001b[');
  expect(out.split('\n')).toEqual([
    'prod-eu: NOT HEALTHY (1 poll(s) in 1 s)',
    '  pass  ssh-trust  pinned host key verified on 6 node(s) contacted',
    '  FAIL  nodes      5/6 nodes Ready: w2 NotReady (x\\n::error::y) [w2]',
    'Next: inspect the named nodes and pods; after an upgrade, consider a rollback to the pre-upgrade snapshot.',
    '',
  ]);
});

test('colour when asked: the verdict and statuses are coloured', () => {
  const out = renderHealth(report(true), { color: true });
  expect(out).toContain('\u001b[32m');
  expect(out).toContain('HEALTHY');
});

test('colour only on a TTY, never with NO_COLOR or TERM=dumb', () => {
  expect(wantColor({ isTTY: true }, {})).toBe(true);
  expect(wantColor({ isTTY: false }, {})).toBe(false);
  expect(wantColor({ isTTY: true }, { NO_COLOR: '' })).toBe(false);
  expect(wantColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  expect(wantColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
});
