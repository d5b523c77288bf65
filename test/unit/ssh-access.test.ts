import { jest } from '@jest/globals';
import { SshPool, type Connector } from '../../src/ssh/pool.js';
import { checkSshAccess, sshCheckTargets } from '../../src/ssh/access.js';
import { AuthRefusedError, HostKeyMismatchError, SshError } from '../../src/ssh/errors.js';
import type { RemoteShell, SshTarget } from '../../src/ssh/types.js';

const node = (name: string, role: 'master' | 'worker'): SshTarget & { role: 'master' | 'worker' } => ({
  name,
  address: '10.0.0.1',
  port: 22,
  user: 'root',
  hostKeys: ['k'],
  role,
});
const NODES = [node('m0', 'master'), node('m1', 'master'), node('w0', 'worker'), node('w1', 'worker')];

function fakeConnector(failures: Record<string, () => Error>) {
  const calls: string[] = [];
  const connect = jest.fn<Connector>(async (t) => {
    calls.push(t.name);
    const fail = failures[t.name];
    if (fail) throw fail();
    return {
      target: t,
      hostKeyFingerprint: `SHA256:${t.name}`,
      exec: jest.fn(),
      close: () => {},
    } as unknown as RemoteShell;
  });
  return { connect, calls };
}

test('one result per node, each failure classified; never stops at the first', async () => {
  const { connect } = fakeConnector({
    m1: () => new HostKeyMismatchError('m1', 'SHA256:impostor'),
    w0: () => new SshError('w0', 'connect ECONNREFUSED', true),
    w1: () => new AuthRefusedError('w1', 'root'),
  });
  const pool = new SshPool({ credentials: { privateKey: 'k' } }, connect);
  const results = await checkSshAccess(NODES, pool);
  expect(results.map((r) => [r.node, r.role, r.status, r.hostKeyFingerprint])).toEqual([
    ['m0', 'master', 'ok', 'SHA256:m0'],
    ['m1', 'master', 'host-key-mismatch', 'SHA256:impostor'],
    ['w0', 'worker', 'unreachable', undefined],
    ['w1', 'worker', 'auth-refused', undefined],
  ]);
});

test('the pool remembers what cannot heal (no second contact) and retries what can', async () => {
  const { connect, calls } = fakeConnector({
    m1: () => new HostKeyMismatchError('m1', 'SHA256:impostor'),
    w0: () => new SshError('w0', 'connect ECONNREFUSED', true),
  });
  const pool = new SshPool({ credentials: { privateKey: 'k' } }, connect);
  await checkSshAccess(NODES, pool);
  await checkSshAccess(NODES, pool);
  expect(calls.filter((c) => c === 'm1')).toEqual(['m1']); // a mismatch is not retried
  expect(calls.filter((c) => c === 'w0')).toEqual(['w0', 'w0']); // refused may heal
  expect(calls.filter((c) => c === 'm0')).toEqual(['m0']); // an open connection is reused
  expect(pool.permanentFailure(NODES[1]!)).toBeInstanceOf(HostKeyMismatchError);
  await pool.drop(NODES[1]!);
  await expect(pool.get(NODES[1]!)).rejects.toBeInstanceOf(HostKeyMismatchError);
  expect(calls.filter((c) => c === 'm1')).toEqual(['m1']);
  expect(pool.outcomes().map((o) => [o.node, o.ok])).toEqual([
    ['m0', true],
    ['m1', false],
    ['w0', false],
    ['w1', true],
  ]);
});

test('scopes', () => {
  expect(sshCheckTargets(NODES, 'all').map((n) => n.name)).toEqual(['m0', 'm1', 'w0', 'w1']);
  expect(sshCheckTargets(NODES, 'masters').map((n) => n.name)).toEqual(['m0', 'm1']);
  expect(sshCheckTargets(NODES, 'none')).toEqual([]);
});
