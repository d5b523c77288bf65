import pLimit from 'p-limit';
import { errorMessage } from '../lib/errors.js';
import { SshError, HostKeyMismatchError, type SshFailureKind } from './errors.js';
import type { SshPool } from './pool.js';
import type { SshTarget } from './types.js';

/** Which nodes a run must be able to reach over SSH (`ssh-check` input). */
export type SshCheckScope = 'all' | 'masters' | 'none';
export const SSH_CHECK_SCOPES: readonly SshCheckScope[] = ['all', 'masters', 'none'];

export type SshAccessStatus = 'ok' | SshFailureKind | 'error';

export interface SshAccessResult {
  node: string;
  address: string;
  port: number;
  user: string;
  /** Role in the inventory, when known. */
  role?: string;
  ok: boolean;
  status: SshAccessStatus;
  /** The verified host key on success; the key the server presented on a mismatch. */
  hostKeyFingerprint?: string;
  message: string;
  durationMs: number;
}

/**
 * Can every target be reached with the pinned host key and the credentials? One authenticated
 * connection per node (through the pool, so a later exec reuses it), bounded concurrency, one
 * result per node - never stopping at the first failure. This is the readiness a rollback
 * needs: every node must accept us before anything is stopped. Connections to nodes the caller
 * does not keep using can be released with `pool.drop`.
 */
export async function checkSshAccess<T extends SshTarget & { role?: string }>(
  targets: readonly T[],
  pool: SshPool,
  options: { concurrency?: number; now?: () => number } = {},
): Promise<SshAccessResult[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? 16));
  const now = options.now ?? (() => performance.now());
  return Promise.all(
    targets.map((target) =>
      limit(async (): Promise<SshAccessResult> => {
        const base = {
          node: target.name,
          address: target.address,
          port: target.port,
          user: target.user,
          ...(target.role ? { role: target.role } : {}),
        };
        const started = now();
        try {
          const shell = await pool.get(target);
          return {
            ...base,
            ok: true,
            status: 'ok',
            ...(shell.hostKeyFingerprint ? { hostKeyFingerprint: shell.hostKeyFingerprint } : {}),
            message: target.insecureSkipHostKeyVerification
              ? `accepts the key as ${target.user} (host key NOT verified)`
              : `accepts the pinned host key and the key as ${target.user}`,
            durationMs: Math.round(now() - started),
          };
        } catch (error) {
          return {
            ...base,
            ok: false,
            status: error instanceof SshError ? error.kind : 'error',
            ...(error instanceof HostKeyMismatchError && error.presented
              ? { hostKeyFingerprint: error.presented }
              : {}),
            message: errorMessage(error),
            durationMs: Math.round(now() - started),
          };
        }
      }),
    ),
  );
}

/** Targets of a scope: every node, the masters only, or none. */
export function sshCheckTargets<T extends { role?: string }>(nodes: readonly T[], scope: SshCheckScope): T[] {
  if (scope === 'none') return [];
  return scope === 'masters' ? nodes.filter((n) => n.role === 'master') : [...nodes];
}
