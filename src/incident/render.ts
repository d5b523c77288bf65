import { COMMENT_BODY_LIMIT, inlineCode, tableCell } from '../github/markdown.js';
import { inertText } from '../lib/inert.js';
import { shellQuote } from '../lib/quote.js';
import type { Failure, IncidentSubject } from './envelope.js';

/**
 * The text of incident issues and their comments. Every value from a report is made inert and
 * escaped for Markdown tables; the caller redacts the result before it leaves the runner.
 */
export interface RenderContext {
  /** Link to the run that produced the report, when known. */
  runUrl?: string;
  /** The repository whose rollback workflow the dispatch command targets. */
  repository: { owner: string; repo: string };
  rollbackWorkflow: string;
}

/** Rows shown per table; the rest are counted (the full report is in the run). */
const MAX_ROWS = 40;
const CELL_MAX = 600;

/** What `rollback.yml` resolves when no snapshot is named (issue 12: the pre-upgrade marker, or S3 metadata). */
export const LATEST_PRE_UPGRADE = 'latest-pre-upgrade';

export function issueTitle(s: IncidentSubject): string {
  return `rke2-ops: ${s.kind} failing on ${s.cluster}`;
}

/** The two commands to run: a dry run first, then the real one (confirm = the cluster name). */
export function rollbackCommands(
  s: IncidentSubject,
  ctx: RenderContext,
): { dryRun: string; rollback: string } {
  const base = [
    'gh',
    'workflow',
    'run',
    ctx.rollbackWorkflow,
    '-R',
    `${ctx.repository.owner}/${ctx.repository.repo}`,
    '-f',
    `cluster=${s.cluster}`,
    '-f',
    `snapshot=${s.snapshot?.name ?? LATEST_PRE_UPGRADE}`,
  ];
  const line = (extra: string[]) => [...base, ...extra].map(shellQuote).join(' ');
  return { dryRun: line(['-f', 'dry-run=true']), rollback: line(['-f', `confirm=${s.cluster}`]) };
}

function cell(text: string): string {
  return tableCell(inertText(text, CELL_MAX));
}

/** Inline code inside a table cell: GFM splits cells at a pipe even inside a code span. */
function codeCell(text: string): string {
  return inlineCode(inertText(text, 200)).replace(/\|/g, '\\|');
}

export function failureTable(failures: readonly Failure[], max = MAX_ROWS): string {
  const shown = failures.slice(0, max);
  return [
    '| Check | What failed | Where |',
    '| --- | --- | --- |',
    ...shown.map((f) => `| ${codeCell(f.check)} | ${cell(f.detail) || '-'} | ${cell(f.where.join(', '))} |`),
    ...(failures.length > shown.length
      ? ['', `...and ${failures.length - shown.length} more failed check(s): see the run.`]
      : []),
  ].join('\n');
}

function runLine(s: IncidentSubject, ctx: RenderContext): string {
  const at = s.at ? ` at ${inertText(s.at, 40)}` : '';
  return ctx.runUrl
    ? `Reported${at} by [this run](${ctx.runUrl}).`
    : `Reported${at} (not from a workflow run: no run link).`;
}

function snapshotSection(s: IncidentSubject): string[] {
  const snap = s.snapshot;
  if (!snap)
    return [
      'No verified snapshot was named by the report or the `snapshot` input. The commands below use',
      `\`${LATEST_PRE_UPGRADE}\`: the snapshot taken and verified before the last upgrade. Check it is the`,
      'one you want before rolling back.',
    ];
  const facts = [
    snap.createdAt ? `created ${inertText(snap.createdAt, 40)}` : '',
    snap.level ? `verified at level ${inlineCode(inertText(snap.level, 20))}` : 'verified',
    snap.rke2Version ? `RKE2 ${inlineCode(inertText(snap.rke2Version, 40))}` : '',
    snap.s3Key ? `S3 ${inlineCode(inertText(snap.s3Key, 300))}` : '',
  ].filter(Boolean);
  return [
    `${inlineCode(snap.name)} (${facts.join(', ')}; named by ${snap.source === 'input' ? 'the workflow' : 'the report'})`,
  ];
}

/**
 * Reports whose failure a rollback does not fix: stale or missing backups say nothing about the
 * cluster's state, and rolling back to an old snapshot would lose data for no reason.
 */
const NOT_FIXED_BY_ROLLBACK = new Set(['backup-freshness']);

function rollbackSection(s: IncidentSubject, ctx: RenderContext): string[] {
  if (NOT_FIXED_BY_ROLLBACK.has(s.kind))
    return [
      'Not a reason to roll back: the cluster may be fine, its backups are not. The table above says',
      'which backup is missing, stale, incomplete or does not restore, and what to look at.',
    ];
  const { dryRun, rollback } = rollbackCommands(s, ctx);
  return [
    'If this follows a change (an upgrade), roll back: a dry run first, then the rollback itself',
    `(\`confirm\` must be the cluster name; the run waits for the environment's approval).`,
    '',
    '```sh',
    dryRun,
    rollback,
    '```',
  ];
}

export function issueBody(s: IncidentSubject, ctx: RenderContext, marker: string, labels: string[]): string {
  const build = (rows: number) =>
    [
      marker,
      `## ${inertText(s.kind)} failing on ${inlineCode(s.cluster)}`,
      '',
      `**${cell(s.verdict)}**`,
      '',
      runLine(s, ctx),
      '',
      '### What failed',
      '',
      failureTable(s.failures, rows),
      '',
      '### Newest verified snapshot',
      '',
      ...snapshotSection(s),
      '',
      NOT_FIXED_BY_ROLLBACK.has(s.kind) ? '### What to do' : '### Roll back',
      '',
      ...rollbackSection(s, ctx),
      '',
      '---',
      `Managed by rke2-ops: each new failure adds a comment; the next passing \`${inertText(s.kind)}\` report ` +
        `closes this issue. Found again by its labels (${labels.map((l) => inlineCode(l)).join(', ')}) and the marker above.`,
      '',
    ].join('\n');
  return fitted(build);
}

export function failureComment(s: IncidentSubject, ctx: RenderContext, marker: string): string {
  const build = (rows: number) =>
    [
      marker,
      `### ❌ Still failing: ${cell(s.verdict)}`,
      '',
      runLine(s, ctx),
      '',
      failureTable(s.failures, rows),
      '',
      ...(s.snapshot ? ['Newest verified snapshot: ' + snapshotSection(s)[0]!, ''] : []),
      ...rollbackSection(s, ctx),
      '',
    ].join('\n');
  return fitted(build);
}

export function recoveryComment(
  s: IncidentSubject,
  ctx: RenderContext,
  marker: string,
  openFor: string | undefined,
): string {
  return [
    marker,
    `### ✅ Recovered: ${cell(s.verdict)}`,
    '',
    runLine(s, ctx),
    ...(openFor ? ['', `Recovered ${openFor} after this issue was opened.`] : []),
    '',
    'Closing this issue; a new failure opens a new one.',
    '',
  ].join('\n');
}

export function duplicateComment(marker: string, canonical: { number: number }): string {
  return [
    marker,
    `Duplicate of #${canonical.number}: opened by a run racing another for the same cluster and check.`,
    'Closing this one; updates go to the older issue.',
    '',
  ].join('\n');
}

/** "12 min", "3 h 5 min", "2 d 4 h" between two ISO times (undefined when either is unknown). */
export function duration(fromIso: string | undefined, toMs: number): string | undefined {
  const from = fromIso ? Date.parse(fromIso) : NaN;
  if (!Number.isFinite(from) || toMs < from) return undefined;
  const minutes = Math.round((toMs - from) / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Fewer table rows until the text fits GitHub's body limit. */
function fitted(build: (rows: number) => string): string {
  for (let rows = MAX_ROWS; rows >= 0; rows = rows > 5 ? Math.floor(rows / 2) : rows - 1) {
    const text = build(rows);
    if ([...text].length <= COMMENT_BODY_LIMIT) return text;
  }
  return build(0).slice(0, COMMENT_BODY_LIMIT);
}
