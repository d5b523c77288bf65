/** A node shell over real SSH through the project's SSH core (src/ssh), commands from quoted argv. */
import { connect, type RemoteShell, type ExecResult } from '../../src/ssh/index.js';
import { targetsFromInventory } from '../../src/inventory/targets.js';
import { quoteArgv } from '../../src/lib/quote.js';
import type { Inventory } from '../../src/inventory/schema.js';

export class LabShell {
  private constructor(readonly remote: RemoteShell) {}

  static async open(inventory: Inventory, node: string, privateKey: string): Promise<LabShell> {
    const target = targetsFromInventory(inventory).find((t) => t.name === node);
    if (!target) throw new Error(`no node ${node} in the inventory`);
    const remote = await connect(target, {
      credentials: { privateKey },
      options: { attempts: 3, readyTimeoutMs: 10_000, minBackoffMs: 200 },
    });
    return new LabShell(remote);
  }

  /** Runs a command line (already quoted). */
  exec(command: string, timeoutMs = 120_000): Promise<ExecResult> {
    return this.remote.exec(command, { timeoutMs });
  }

  run(argv: string[], timeoutMs = 120_000): Promise<ExecResult> {
    return this.exec(quoteArgv(argv), timeoutMs);
  }

  /** Runs argv and throws with its output unless it exits 0. */
  async check(argv: string[], timeoutMs = 120_000): Promise<ExecResult> {
    const r = await this.run(argv, timeoutMs);
    if (r.code !== 0) {
      throw new Error(
        `${this.remote.target.name}: ${argv.join(' ')} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}${r.stdout}`.trim(),
      );
    }
    return r;
  }

  close(): void {
    this.remote.close();
  }
}
