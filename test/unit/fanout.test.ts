import { fanOut } from '../../src/ssh/fanout.js';

const hosts = Array.from({ length: 12 }, (_, i) => ({ name: `n${i}` }));

test('bounded concurrency, results in input order, failures per host', async () => {
  let inFlight = 0;
  let peak = 0;
  const results = await fanOut(
    hosts,
    async (h) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (h.name === 'n3') throw new Error('boom');
      return h.name.toUpperCase();
    },
    { concurrency: 3 },
  );
  expect(peak).toBe(3);
  expect(results.map((r) => r.host)).toEqual(hosts.map((h) => h.name));
  expect(results.filter((r) => !r.ok)).toEqual([
    expect.objectContaining({ host: 'n3', ok: false, error: 'boom' }),
  ]);
  expect(results.filter((r) => r.ok)).toHaveLength(11);
});

test('failFast skips the hosts not yet started', async () => {
  const started: string[] = [];
  const results = await fanOut(
    hosts,
    async (h) => {
      started.push(h.name);
      if (h.name === 'n0') throw new Error('first fails');
      await new Promise((r) => setTimeout(r, 5));
      return 1;
    },
    { concurrency: 1, failFast: true },
  );
  expect(started).toEqual(['n0']);
  expect(results.slice(1).every((r) => !r.ok && r.error.includes('skipped'))).toBe(true);
});
