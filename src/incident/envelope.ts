import { z } from 'zod';
import { InputError } from '../lib/errors.js';
import { inert } from '../lib/inert.js';
import { patterns } from '../lib/identifiers.js';

/**
 * The report envelope: the few fields of an action's JSON report that the incident capability
 * reads, so any report - health-check's today; snapshot, rollback and backup-freshness later -
 * can open, update or close an incident without the incident code knowing its kind.
 *
 *   kind        string   which operation reported: `health-check`, `snapshot`, `rollback`,
 *                        `backup-freshness` (lowercase words and `-`). One issue per cluster
 *                        and kind.
 *   cluster     string   the cluster name (inventory `cluster`).
 *   ok          boolean  the verdict; health-check's report says `healthy` instead (either
 *                        is accepted; both must agree when both are given).
 *   verdict     string   optional one-line verdict for people.
 *   startedAt, finishedAt  optional ISO times.
 *   checks      [{ name, status: pass|fail|skip, message?, failing?: [where...] }]
 *                        optional; the failed ones become the issue's table. A multi-phase
 *                        report lists its phases here (`name` = phase, `failing` = nodes).
 *   failedChecks [string] optional; used when `checks` is absent.
 *   error       { phase?, message }  optional; a report that stopped on an error.
 *   snapshot    { name | file, verified?, createdAt?, s3Key?, rke2Version?, level? }  optional:
 *                        the newest snapshot the producer knows; named in the issue only when
 *                        `verified` is true. Rollback's report names its snapshot `file` and has
 *                        no `verified` (it restored it, it does not vouch for it as a target), so
 *                        it is accepted and never offered as a rollback target.
 *
 * Everything else in a report is ignored here (and kept in the producer's own report).
 */
const CheckSchema = z
  .object({
    name: z.string().min(1),
    status: z.enum(['pass', 'fail', 'skip']).optional(),
    message: z.string().optional(),
    failing: z.array(z.string()).optional(),
  })
  .loose();

const SnapshotSchema = z
  .object({
    name: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    verified: z.boolean().optional(),
    createdAt: z.string().optional(),
    s3Key: z.string().optional(),
    rke2Version: z.string().optional(),
    level: z.string().optional(),
  })
  .loose();

export const KIND_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;

const EnvelopeSchema = z
  .object({
    kind: z.string().regex(KIND_PATTERN, 'must be lowercase letters, digits and "-" (at most 30)'),
    cluster: z
      .string()
      .regex(patterns.clusterName, 'must be a cluster name (lowercase letters, digits, "-")'),
    ok: z.boolean().optional(),
    healthy: z.boolean().optional(),
    verdict: z.string().optional(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    checks: z.array(CheckSchema).optional(),
    failedChecks: z.array(z.string()).optional(),
    error: z.object({ phase: z.string().optional(), message: z.string() }).loose().optional(),
    snapshot: SnapshotSchema.nullable().optional(),
  })
  .loose();

export type ReportEnvelope = z.infer<typeof EnvelopeSchema>;

/** One row of "what failed". */
export interface Failure {
  check: string;
  detail: string;
  /** Nodes, URLs or phases the failure was seen on. */
  where: string[];
}

export interface VerifiedSnapshot {
  name: string;
  createdAt?: string;
  s3Key?: string;
  rke2Version?: string;
  level?: string;
  /** Where the name came from: the report, or the `snapshot` input. */
  source: 'report' | 'input';
}

/** What the incident capability knows about a report, whatever produced it. */
export interface IncidentSubject {
  kind: string;
  cluster: string;
  ok: boolean;
  verdict: string;
  /** When the report was made (finishedAt, else startedAt), if it says. */
  at?: string;
  failures: Failure[];
  snapshot?: VerifiedSnapshot;
}

/**
 * Reads a report (JSON text) into the subject of an incident. Errors name `field` (the input or
 * flag the report came through) and the report's own field.
 */
export function parseReport(text: string, field: string): IncidentSubject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(field, `is not JSON (${(error as Error).message})`);
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${['report', ...i.path].join('.')}: ${i.message}`);
    throw new InputError(field, `is not an rke2-ops report:\n  - ${issues.join('\n  - ')}`);
  }
  return subjectOf(parsed.data, field);
}

export function subjectOf(report: ReportEnvelope, field: string): IncidentSubject {
  const { ok, healthy } = report;
  if (ok === undefined && healthy === undefined)
    throw new InputError(field, 'report has neither `ok` nor `healthy`: cannot tell failure from success');
  if (ok !== undefined && healthy !== undefined && ok !== healthy)
    throw new InputError(field, `report says ok=${ok} but healthy=${healthy}`);
  const passed = (ok ?? healthy) as boolean;
  const verdict = report.verdict ?? (passed ? `${report.kind} passed` : `${report.kind} failed`);
  const failures = passed ? [] : failuresOf(report, verdict);
  const snap = report.snapshot;
  const snapName = snap?.name ?? snap?.file;
  return {
    kind: report.kind,
    cluster: report.cluster,
    ok: passed,
    verdict,
    ...((report.finishedAt ?? report.startedAt) ? { at: report.finishedAt ?? report.startedAt } : {}),
    failures,
    ...(snap &&
    snapName &&
    snap.verified === true &&
    patterns.snapshotName.test(snapName) &&
    !snapName.includes('..')
      ? {
          snapshot: {
            name: snapName,
            source: 'report' as const,
            ...(snap.createdAt ? { createdAt: snap.createdAt } : {}),
            ...(snap.s3Key ? { s3Key: snap.s3Key } : {}),
            ...(snap.rke2Version ? { rke2Version: snap.rke2Version } : {}),
            ...(snap.level ? { level: snap.level } : {}),
          },
        }
      : {}),
  };
}

function failuresOf(report: ReportEnvelope, verdict: string): Failure[] {
  const failed = (report.checks ?? []).filter((c) => c.status === 'fail');
  if (failed.length)
    return failed.map((c) => ({ check: c.name, detail: c.message ?? '', where: c.failing ?? [] }));
  if (report.failedChecks?.length)
    return report.failedChecks.map((name) => ({ check: name, detail: '', where: [] }));
  if (report.error)
    return [{ check: report.error.phase ?? 'error', detail: report.error.message, where: [] }];
  return [{ check: report.kind, detail: verdict, where: [] }];
}

/** For messages: the kind and cluster of a subject, inert. */
export function describeSubject(s: Pick<IncidentSubject, 'kind' | 'cluster'>): string {
  return `${inert(s.kind)} on ${inert(s.cluster)}`;
}
