import { AuthRefusedError, HostKeyMismatchError, isPermanentSshFailure } from '../ssh/errors.js';
import type { ConnectOutcome } from '../ssh/pool.js';
import type { SshAccessResult, SshCheckScope } from '../ssh/access.js';
import { errorMessage } from '../lib/errors.js';
import type { Check } from './types.js';

/**
 * The SSH side of the verdict. `ssh-trust`: a host key that matches none of the pinned ones on
 * ANY node contacted fails the run, naming the node and the fingerprint it presented - even
 * when another master answered the probe: the run never says healthy past a possible attack.
 * `ssh-check`: every node in scope accepts the pinned host key and the credentials (what a
 * rollback will need), one result per node.
 */
export function trustCheck(outcomes: readonly ConnectOutcome[], hostKeysVerified: boolean): Check {
  if (!hostKeysVerified)
    return {
      name: 'ssh-trust',
      status: 'skip',
      message:
        'host keys NOT verified (insecure-skip-host-key-verification): anyone on the path could answer',
    };
  const mismatches = outcomes.flatMap((o) =>
    !o.ok && o.error instanceof HostKeyMismatchError ? [{ node: o.node, presented: o.error.presented }] : [],
  );
  const verified = outcomes.filter((o) => o.ok).map((o) => o.node);
  const observed = { verified, mismatches };
  if (mismatches.length)
    return {
      name: 'ssh-trust',
      status: 'fail',
      message:
        `host key mismatch on ${mismatches.map((m) => `${m.node} (presented ${m.presented ?? 'an unknown key'})`).join(', ')}: ` +
        'nothing was run there. If the node was rebuilt, update its host_keys; otherwise treat it as a possible attack.',
      failing: mismatches.map((m) => m.node),
      observed,
    };
  return {
    name: 'ssh-trust',
    status: 'pass',
    message: verified.length
      ? `pinned host key verified on ${verified.length} node(s) contacted`
      : 'no node answered yet: no host key seen',
    observed,
  };
}

export function accessCheck(results: readonly SshAccessResult[], scope: SshCheckScope): Check {
  if (scope === 'none')
    return {
      name: 'ssh-check',
      status: 'skip',
      message: 'ssh-check: none (SSH access to every node not checked)',
    };
  const failed = results.filter((r) => !r.ok);
  const counted = `${results.length - failed.length}/${results.length} ${scope === 'masters' ? 'masters' : 'nodes'}`;
  const observed = { scope, nodes: results.map((r) => ({ node: r.node, status: r.status })) };
  if (failed.length === 0)
    return {
      name: 'ssh-check',
      status: 'pass',
      message: `${counted} accept the pinned host key and the credentials`,
      observed,
    };
  return {
    name: 'ssh-check',
    status: 'fail',
    message: `${counted} reachable over SSH (a rollback needs every one): ${failed.map((r) => `${r.node} ${r.status}`).join(', ')}`,
    failing: failed.map((r) => r.node),
    observed,
  };
}

/** Nodes whose SSH failure cannot heal during this run (named, with why). */
export function permanentFailures(outcomes: readonly ConnectOutcome[]): string[] {
  return outcomes.flatMap((o) =>
    !o.ok && isPermanentSshFailure(o.error) ? [`${o.node}: ${o.error.kind}`] : [],
  );
}

/**
 * When no master can ever be used (every one refused for good: wrong host key, refused key),
 * the one clear error that ends the run at once; undefined when polling may still help.
 */
export function fatalProbeFailure(
  outcomes: readonly ConnectOutcome[],
  masters: readonly string[],
): string | undefined {
  if (masters.length === 0) return undefined;
  const byNode = new Map(outcomes.map((o) => [o.node, o]));
  const errors = masters.map((m) => byNode.get(m));
  if (!errors.every((o) => o && !o.ok && isPermanentSshFailure(o.error))) return undefined;
  const failures = errors.map((o) => (o && !o.ok ? o.error : undefined));
  if (failures.every((e) => e instanceof HostKeyMismatchError))
    return (
      `host key mismatch on every master (${failures.map((e) => `${e.host} presented ${e.presented ?? 'an unknown key'}`).join('; ')}): ` +
      'nothing was run. If the nodes were rebuilt, update their host_keys; otherwise treat this as a possible attack.'
    );
  if (failures.every((e) => e instanceof AuthRefusedError))
    return `every master refused the SSH key (as ${failures[0]!.user}): check ssh-key (and ssh-key-passphrase) and the nodes' authorized_keys`;
  return `no master can be used: ${failures.map((e) => errorMessage(e)).join('; ')}`;
}
