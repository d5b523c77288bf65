/** A phase of a run as a report records it. */
export interface TimedPhase {
  name: string;
  /** Epoch ms. */
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
}

/**
 * A Mermaid `gantt` of the phases (milliseconds from the first phase; overlapping phases show
 * as overlapping bars), failed ones marked `crit`. Skipped phases are left out.
 */
export function mermaidGantt(phases: readonly TimedPhase[], title?: string): string[] {
  const ran = phases.filter((p) => p.status !== 'skipped');
  if (!ran.length) return [];
  const t0 = Math.min(...ran.map((p) => p.startedAt));
  return [
    '```mermaid',
    'gantt',
    ...(title ? [`  title ${title.replace(/[:#;\n]/g, ' ')}`] : []),
    '  dateFormat x',
    '  axisFormat %M:%S',
    ...ran.map((p, i) => {
      const start = Math.max(0, Math.round(p.startedAt - t0));
      const end = start + Math.max(1, Math.round(p.durationSeconds * 1000));
      return `  ${p.name.replace(/[:#;\n]/g, ' ')} :${p.status === 'failed' ? 'crit, ' : ''}p${i}, ${start}, ${end}`;
    }),
    '```',
  ];
}
