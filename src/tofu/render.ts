import {
  codeBlock,
  COMMENT_BODY_LIMIT,
  inlineCode,
  JOB_SUMMARY_LIMIT_BYTES,
  keepHeadLines,
  tableCell,
  utf8Bytes,
} from '../github/markdown.js';
import type { StackWarning } from './stack.js';
import { countsLine, type PlanSummary, type ResourceAction } from './summary.js';

/**
 * The plan for people: a PR comment that always fits GitHub's 65,536 characters (the plan text
 * is cut at a line and points to the job summary), and a job summary that holds the whole
 * plan up to its 1 MiB limit (beyond that, the plan-text-file output). Only addresses, actions,
 * versions and port numbers are rendered from the plan JSON; the plan text is tofu's own
 * rendering, which prints "(sensitive value)" - and every text goes through the secret
 * registry's redaction before it leaves the action.
 */
export interface PlanView {
  workingDirectory: string;
  summary: PlanSummary;
  /** `tofu show -no-color <plan>` output. */
  planText: string;
  tofuVersion: string;
  runUrl?: string;
  sha?: string;
  /** ISO time of the run. */
  at: string;
}

const ACTION_ICON: Record<ResourceAction, string> = {
  create: '🟢 create',
  update: '🟡 update',
  delete: '🔴 destroy',
  replace: '🟣 replace',
  read: '🔵 read',
  forget: '⚪ forget',
  'no-op': '⚪ move/import',
};

function headline(view: PlanView): string {
  const s = view.summary;
  const critical = s.warnings.some((w) => w.severity === 'critical');
  const warned = s.warnings.some((w) => w.severity === 'warning');
  const icon = critical ? '🛑' : warned ? '⚠️' : s.changes ? '📝' : '✅';
  const what = s.resourceChanges
    ? countsLine(s.counts)
    : s.changes
      ? `only outputs change (${s.outputChanges.join(', ')})`
      : 'no changes';
  return `### ${icon} OpenTofu plan for ${inlineCode(view.workingDirectory)}: ${what}`;
}

function upgradeLine(view: PlanView): string[] {
  const u = view.summary.rke2Upgrade;
  if (!u) return [];
  const verb = u.direction === 'upgrade' ? 'RKE2 upgrade' : 'RKE2 DOWNGRADE';
  return [
    `**${verb}:** ${inlineCode(u.from)} → ${inlineCode(u.to)} (seen in ${u.sources
      .slice(0, 3)
      .map((s) => inlineCode(s))
      .join(', ')}${u.sources.length > 3 ? ` and ${u.sources.length - 3} more` : ''}). ` +
      (u.direction === 'upgrade'
        ? 'The upgrade workflow takes and verifies an etcd snapshot before applying, then gates on the health check.'
        : ''),
    '',
  ];
}

function warningBlocks(warnings: readonly StackWarning[], max: number): string[] {
  const out: string[] = [];
  const shown = warnings.slice(0, max);
  const critical = shown.filter((w) => w.severity === 'critical');
  const warning = shown.filter((w) => w.severity === 'warning');
  const notice = shown.filter((w) => w.severity === 'notice');
  const quote = (kind: string, list: StackWarning[]) =>
    list.length ? [`> [!${kind}]`, ...list.map((w) => `> - ${escapeLine(w.message)}`), ''] : [];
  out.push(...quote('CAUTION', critical), ...quote('WARNING', warning), ...quote('NOTE', notice));
  if (warnings.length > max) out.push(`_${warnings.length - max} more finding(s) in the job summary._`, '');
  return out;
}

/** Messages carry addresses and versions: keep them from opening HTML or breaking the quote. */
function escapeLine(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

function resourceTable(view: PlanView, max: number): string[] {
  const rows = view.summary.resources;
  if (!rows.length) return [];
  const shown = rows.slice(0, max);
  return [
    `<details><summary>Resource changes (${rows.length})</summary>`,
    '',
    '| Action | Resource | Note |',
    '| --- | --- | --- |',
    ...shown.map((r) => {
      const notes = [
        r.replaceReasons.length ? `forced by ${r.replaceReasons.join(', ')}` : '',
        r.previousAddress ? `moved from ${r.previousAddress}` : '',
        r.importing ? 'imported' : '',
      ].filter(Boolean);
      return `| ${ACTION_ICON[r.action]} | ${tableCell(r.address)} | ${tableCell(notes.join('; '))} |`;
    }),
    ...(rows.length > max ? ['', `_…and ${rows.length - max} more in the job summary._`] : []),
    '',
    '</details>',
    '',
  ];
}

/**
 * tofu's plan text as a `diff` block: each line's change marker is repeated in column 0 so
 * GitHub colours additions, removals and changes, while the original text stays intact.
 */
export function planAsDiff(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^(\s*)(-\/\+|\+\/-|<=|[-+~])\s/.exec(line);
      if (!m) return line === '' ? '' : ` ${line}`;
      const sign = m[2] === '+' ? '+' : m[2] === '-' ? '-' : '!';
      return `${sign}${line}`;
    })
    .join('\n');
}

function footer(view: PlanView): string {
  const parts = [
    `resource changes hash ${inlineCode(view.summary.resourceChangesHash)}`,
    view.sha ? `commit ${inlineCode(view.sha.slice(0, 12))}` : '',
    view.runUrl ? `[run](${view.runUrl})` : '',
    `OpenTofu ${view.tofuVersion}`,
    `updated ${view.at}`,
  ].filter(Boolean);
  return `<sub>${parts.join(' · ')}</sub>`;
}

function planDetails(text: string, lines: number, note: string[]): string[] {
  return [
    `<details><summary>Plan output (${lines} lines)</summary>`,
    '',
    codeBlock(text, 'diff'),
    '',
    '</details>',
    '',
    ...note,
  ];
}

function fullPlanPointer(view: PlanView, where: 'comment' | 'summary'): string {
  const artifact = 'the `plan-text-file` output, which the workflow uploads as an artifact';
  if (where === 'summary') return `a job summary holds at most 1 MiB; the complete plan is ${artifact}`;
  const summary = view.runUrl
    ? `the [job summary](${view.runUrl}) of this run`
    : 'the job summary of this run';
  return `the full plan is in ${summary} (up to 1 MiB; beyond that, ${artifact})`;
}

export interface Rendered {
  body: string;
  truncated: boolean;
}

/**
 * The PR comment, at most `limit` characters (GitHub counts characters; a JS string's length
 * in UTF-16 units is never smaller, so measuring it is safe).
 */
export function renderComment(view: PlanView, marker: string, limit = COMMENT_BODY_LIMIT): Rendered {
  const head = [
    marker,
    headline(view),
    '',
    ...upgradeLine(view),
    ...warningBlocks(view.summary.warnings, 20),
    ...resourceTable(view, 60),
  ].join('\n');
  const foot = footer(view);
  const diff = planAsDiff(view.planText.replace(/^\n+/, '').trimEnd());
  const totalLines = diff.split('\n').length;
  const whole = [head, ...planDetails(diff, totalLines, []), foot].join('\n');
  if (whole.length <= limit) return { body: whole, truncated: false };

  // Reserve room for the wrapper, the note and the footer, then keep as many plan lines as fit.
  const noteFor = (kept: number) => [
    `> [!NOTE]`,
    `> Plan output truncated to its first ${kept} of ${totalLines} lines: ${fullPlanPointer(view, 'comment')}.`,
    '',
  ];
  const fixed = [head, ...planDetails('', 0, noteFor(totalLines)), foot].join('\n').length + 64;
  const budget = Math.max(0, limit - fixed);
  const { kept, droppedLines } = keepHeadLines(diff, budget);
  const keptLines = totalLines - droppedLines;
  let body = [head, ...planDetails(kept, keptLines, noteFor(keptLines)), foot].join('\n');
  // A head that alone is over the limit (thousands of findings) still must not break the post.
  if (body.length > limit)
    body = body.slice(0, limit - 200) + `\n\n…cut: ${fullPlanPointer(view, 'comment')}.\n`;
  return { body, truncated: true };
}

export interface SummaryPhase {
  name: string;
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
}

/** Mermaid gantt of the phases (times relative to the first phase, in seconds). */
export function phasesGantt(phases: readonly SummaryPhase[]): string[] {
  const run = phases.filter((p) => p.status !== 'skipped');
  if (!run.length) return [];
  const t0 = Math.min(...run.map((p) => p.startedAt));
  const ms = (n: number) => Math.max(0, Math.round(n));
  return [
    '```mermaid',
    'gantt',
    '  dateFormat x',
    '  axisFormat %M:%S',
    ...run.map((p, i) => {
      const start = ms(p.startedAt - t0);
      const end = start + Math.max(1, ms(p.durationSeconds * 1000));
      return `  ${p.name.replace(/[:#;]/g, ' ')} :${p.status === 'failed' ? 'crit, ' : ''}p${i}, ${start}, ${end}`;
    }),
    '```',
  ];
}

export function phasesTable(phases: readonly SummaryPhase[]): string[] {
  return [
    '| Phase | Status | Seconds |',
    '| --- | --- | --- |',
    ...phases.map((p) => `| ${tableCell(p.name)} | ${p.status} | ${p.durationSeconds.toFixed(1)} |`),
  ];
}

/** The job summary: everything of the comment, every resource, the whole plan up to 1 MiB. */
export function renderPlanSummary(
  view: PlanView,
  phases: readonly SummaryPhase[],
  extra: { commentUrl?: string; files?: Record<string, string> } = {},
  limitBytes = JOB_SUMMARY_LIMIT_BYTES - 48 * 1024,
): Rendered {
  const head = [
    headline(view).replace(/^###/, '##'),
    '',
    ...upgradeLine(view),
    ...warningBlocks(view.summary.warnings, 500),
    ...resourceTable(view, 2000),
    ...(view.summary.outputChanges.length
      ? [`Outputs that change: ${view.summary.outputChanges.map((o) => inlineCode(o)).join(', ')}`, '']
      : []),
    ...phasesTable(phases),
    '',
    ...phasesGantt(phases),
    '',
    ...(extra.commentUrl ? [`PR comment: ${extra.commentUrl}`, ''] : []),
    ...(extra.files ? Object.entries(extra.files).map(([k, v]) => `- ${k}: ${inlineCode(v)}`) : []),
    '',
  ].join('\n');
  const foot = footer(view);
  const diff = planAsDiff(view.planText.replace(/^\n+/, '').trimEnd());
  const totalLines = diff.split('\n').length;
  const whole = [head, ...planDetails(diff, totalLines, []), foot].join('\n');
  if (utf8Bytes(whole) <= limitBytes) return { body: whole, truncated: false };
  const note = (kept: number) => [
    `> [!NOTE]`,
    `> Plan output truncated to its first ${kept} of ${totalLines} lines: ${fullPlanPointer(view, 'summary')}.`,
    '',
  ];
  const fixed = utf8Bytes([head, ...planDetails('', 0, note(totalLines)), foot].join('\n')) + 64;
  const { kept, droppedLines } = keepHeadLines(diff, Math.max(0, limitBytes - fixed), utf8Bytes);
  const keptLines = totalLines - droppedLines;
  return { body: [head, ...planDetails(kept, keptLines, note(keptLines)), foot].join('\n'), truncated: true };
}
