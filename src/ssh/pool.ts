import { connect, type ConnectDeps } from './connection.js';
import { isPermanentSshFailure, type SshError } from './errors.js';
import type { RemoteShell, SshTarget } from './types.js';

/** Opens one connection; `connect` in production, a fake or a counting wrapper in tests. */
export type Connector = (target: SshTarget, deps: ConnectDeps) => Promise<RemoteShell>;

/** What the pool learned about one node's SSH trust and credentials during this run. */
export type ConnectOutcome =
  | { node: string; ok: true; hostKeyFingerprint?: string | undefined }
  | { node: string; ok: false; error: unknown };

/**
 * One connection per node, opened on first use and reused: an exec on an open connection
 * costs ~190 ms, a new connection ~280 ms more (toolchain-notes.md).
 *
 * A failure that cannot heal during a run (a wrong host key, a refused key: `retryable` false)
 * is remembered: the node is not contacted again, and every user of the pool sees the same
 * error. Other failures are forgotten, so the next `get` retries. `outcomes()` keeps the last
 * result per node contacted - the trust record a run reports on.
 */
export class SshPool {
  private readonly connections = new Map<string, Promise<RemoteShell>>();
  private readonly seen = new Map<string, ConnectOutcome>();

  constructor(
    private readonly deps: ConnectDeps,
    private readonly connector: Connector = connect,
  ) {}

  get(target: SshTarget): Promise<RemoteShell> {
    const key = poolKey(target);
    let pending = this.connections.get(key);
    if (!pending) {
      pending = this.connector(target, this.deps);
      this.connections.set(key, pending);
      pending.then(
        (shell) =>
          this.seen.set(target.name, {
            node: target.name,
            ok: true,
            hostKeyFingerprint: shell.hostKeyFingerprint,
          }),
        (error: unknown) => {
          this.seen.set(target.name, { node: target.name, ok: false, error });
          if (!isPermanentSshFailure(error)) this.connections.delete(key);
        },
      );
    }
    return pending;
  }

  /** The permanent failure remembered for a node, if any (no connection is attempted). */
  permanentFailure(target: SshTarget): SshError | undefined {
    const outcome = this.seen.get(target.name);
    return outcome && !outcome.ok && isPermanentSshFailure(outcome.error) ? outcome.error : undefined;
  }

  /** The last connect result of every node contacted, in first-contact order. */
  outcomes(): ConnectOutcome[] {
    return [...this.seen.values()];
  }

  /** Drops a connection (e.g. after the node rebooted) so the next get reconnects. */
  async drop(target: SshTarget): Promise<void> {
    const key = poolKey(target);
    const pending = this.connections.get(key);
    if (pending && this.permanentFailure(target)) return; // stays refused for the run
    this.connections.delete(key);
    if (pending) (await pending.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}

/** One entry per node: two named nodes never share a connection, even behind one address. */
function poolKey(target: SshTarget): string {
  return `${target.name} ${target.user}@${target.address}:${target.port}`;
}
