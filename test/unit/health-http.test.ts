import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkUrl, type FetchLike } from '../../src/health/http.js';
import { parseUrlLine } from '../../src/health/config.js';
import { failureMessage, summaryMarkdown } from '../../src/health/report.js';
import type { HealthReport } from '../../src/health/run.js';

const realFetch: FetchLike = (u, i) => fetch(u, i);

describe('HTTP checks from the runner', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/heartbeat') res.writeHead(200).end('{"mysql": "ok", "mongo": "ok"}');
      else if (req.url === '/moved') res.writeHead(302, { location: '/heartbeat' }).end();
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('late'), 600).unref();
      else res.writeHead(503).end('down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const check = (line: string, timeoutMs = 1000) =>
    checkUrl(parseUrlLine(line, 'urls'), timeoutMs, realFetch);

  test('2xx passes; a body match is applied', async () => {
    expect((await check(`${base}/heartbeat`)).status).toBe('pass');
    expect((await check(`${base}/heartbeat body=/"mongo": "ok"/`)).status).toBe('pass');
    const c = await check(`${base}/heartbeat body=degraded`);
    expect(c).toMatchObject({ status: 'fail', message: 'HTTP 200 but the body does not match "degraded"' });
  });

  test('a redirect is an answer (3xx accepted by default), unless a status is required', async () => {
    expect((await check(`${base}/moved`)).status).toBe('pass');
    expect(await check(`${base}/moved status=200`)).toMatchObject({
      status: 'fail',
      message: 'HTTP 302, want 200',
    });
  });

  test('a 503 fails; a slow URL fails on the timeout; a closed port fails with the cause', async () => {
    expect(await check(`${base}/down`)).toMatchObject({
      status: 'fail',
      message: 'HTTP 503, want 200-399',
      failing: [`${base}/down`],
    });
    expect(await check(`${base}/slow`, 200)).toMatchObject({
      status: 'fail',
      message: 'no answer within 200 ms',
    });
    const spare = createServer();
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((r) => spare.close(r));
    const refused = await check(`http://127.0.0.1:${port}/`);
    expect(refused.status).toBe('fail');
    expect(refused.message).toContain('ECONNREFUSED');
  });
});

describe('report rendering', () => {
  const report: HealthReport = {
    kind: 'health-check',
    cluster: 'prod-eu',
    healthy: false,
    verdict: 'NOT healthy',
    startedAt: '2026-11-27T09:00:00.000Z',
    finishedAt: '2026-11-27T09:10:00.000Z',
    durationSeconds: 600,
    timeToHealthySeconds: null,
    ssh: { check: 'none', nodes: [] },
    startupMs: 100,
    polls: 61,
    timeoutSeconds: 600,
    pollIntervalSeconds: 10,
    checks: [
      { name: 'api', status: 'pass', message: 'API ready' },
      { name: 'nodes', status: 'fail', message: '5/6 nodes Ready: w-2 NotReady | x', failing: ['w-2'] },
      { name: 'pods/kube-proxy', status: 'skip', message: 'kube-proxy disabled' },
    ],
    failedChecks: ['nodes'],
    pollHistory: [
      {
        poll: 61,
        atSeconds: 600,
        durationMs: 300,
        via: 'm-1',
        execs: 1,
        unreachable: [{ host: 'm-0', error: 'unreachable: ECONNREFUSED' }],
        failed: ['nodes'],
      },
    ],
  };

  test('the failure message names the checks and the nodes', () => {
    expect(failureMessage(report)).toContain('failed checks: nodes\n- nodes [w-2]: 5/6 nodes Ready');
  });

  test('the summary has a verdict, one row per check, and the unreachable master', () => {
    const md = summaryMarkdown(report);
    expect(md).toContain('❌ **Not healthy** - 1 check(s) failing after 61 poll(s) in 600 s: nodes');
    expect(md).toContain('| nodes | ❌ fail | 5/6 nodes Ready: w-2 NotReady \\| x | w-2 |');
    expect(md).toContain('| pods/kube-proxy | ⏭️ skip |');
    expect(md).toContain('Not answering: m-0');
  });
});
