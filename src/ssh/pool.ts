import { connect, type ConnectDeps } from './connection.js';
import type { RemoteShell, SshTarget } from './types.js';

/** Opens one connection; `connect` in production, a fake or a counting wrapper in tests. */
export type Connector = (target: SshTarget, deps: ConnectDeps) => Promise<RemoteShell>;

/**
 * One connection per node, opened on first use and reused: an exec on an open connection
 * costs ~190 ms, a new connection ~280 ms more (toolchain-notes.md).
 */
export class SshPool {
  private readonly connections = new Map<string, Promise<RemoteShell>>();

  constructor(
    private readonly deps: ConnectDeps,
    private readonly connector: Connector = connect,
  ) {}

  get(target: SshTarget): Promise<RemoteShell> {
    const key = poolKey(target);
    let pending = this.connections.get(key);
    if (!pending) {
      pending = this.connector(target, this.deps);
      // A failed connect must not be cached: the next call retries.
      pending.catch(() => this.connections.delete(key));
      this.connections.set(key, pending);
    }
    return pending;
  }

  /** Drops a connection (e.g. after the node rebooted) so the next get reconnects. */
  async drop(target: SshTarget): Promise<void> {
    const key = poolKey(target);
    const pending = this.connections.get(key);
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
