import type { HealthReport } from '../health/run.js';
import type { Check } from '../health/types.js';
import { inertText } from '../lib/inert.js';

/**
 * The health report for a person at a terminal: a verdict line and one row per check, failing
 * nodes named; SSH access per node only when one failed. Colour only when asked for (a TTY
 * without NO_COLOR). Every cell is inert: this text may land in a workflow log.
 */
export interface RenderOptions {
  color: boolean;
  /** Terminal width to fit the detail column into (lines are cut, not wrapped). */
  width?: number;
}

const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** Whether to colour output for a stream: a TTY, and NO_COLOR (any value) not set. */
export function wantColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function renderHealth(report: HealthReport, opts: RenderOptions): string {
  const paint = (code: keyof typeof codes, text: string) =>
    opts.color ? `\u001b[${codes[code]}m${text}\u001b[0m` : text;
  const status: Record<Check['status'], string> = {
    pass: paint('green', 'pass'),
    fail: paint('red', 'FAIL'),
    skip: paint('dim', 'skip'),
  };
  const nameWidth = Math.max(...report.checks.map((c) => c.name.length), 5);
  const width = opts.width ?? 120;
  const cut = (text: string, room: number) =>
    text.length > room ? `${text.slice(0, Math.max(10, room - 3))}...` : text;
  const verdict = report.healthy
    ? paint('green', paint('bold', 'HEALTHY'))
    : paint('red', paint('bold', 'NOT HEALTHY'));
  const timing = report.healthy
    ? `${report.polls} poll(s), healthy after ${report.timeToHealthySeconds} s`
    : `${report.polls} poll(s) in ${report.durationSeconds} s`;
  const lines = [`${inertText(report.cluster)}: ${verdict} (${timing})`];
  for (const c of report.checks) {
    const nodes = c.status === 'fail' && c.failing?.length ? ` [${c.failing.join(', ')}]` : '';
    const detail = inertText(`${c.message}${nodes}`, 2000);
    const room = width - nameWidth - 9;
    lines.push(
      `  ${status[c.status]}  ${c.name.padEnd(nameWidth)}  ${c.status === 'fail' ? detail : cut(detail, room)}`,
    );
  }
  const sshFailed = report.ssh.nodes.filter((n) => !n.ok);
  if (sshFailed.length) {
    lines.push(`SSH access (ssh-check: ${report.ssh.check}), failing nodes:`);
    for (const n of sshFailed)
      lines.push(
        `  ${paint('red', n.status)}  ${n.node} (${n.address}:${n.port}): ${inertText(n.message, 2000)}`,
      );
  }
  if (report.fatal) lines.push(paint('red', `Stopped at once: ${inertText(report.fatal, 2000)}`));
  else if (report.stoppedEarly) lines.push(paint('yellow', inertText(report.stoppedEarly, 2000)));
  if (!report.healthy)
    lines.push(
      paint(
        'dim',
        'Next: inspect the named nodes and pods; after an upgrade, consider a rollback to the pre-upgrade snapshot.',
      ),
    );
  return lines.join('\n') + '\n';
}
