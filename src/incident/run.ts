import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { redactSecretPatterns } from '../lib/secret-patterns.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { httpStatus, type Issue, type IssuesClient } from '../github/client.js';
import { withRetry } from '../github/retry.js';
import type { IncidentConfig } from './config.js';
import { describeSubject } from './envelope.js';
import {
  COMMON_LABEL,
  eventMarker,
  firstLine,
  incidentLabel,
  incidentMarker,
  type EventType,
} from './identity.js';
import {
  duplicateComment,
  duration,
  failureComment,
  issueBody,
  issueTitle,
  recoveryComment,
  type RenderContext,
} from './render.js';

/**
 * One incident issue per cluster and kind, kept in step with the reports:
 *
 *   failing report, no open issue   -> open one (labels + marker), then look again after a short
 *                                      delay: if a racing run opened one too, the oldest stays,
 *                                      the others are closed as duplicates (and a run whose issue
 *                                      was closed posts its failure on the oldest as a comment)
 *   failing report, an open issue   -> comment (once per run: a re-run of the same step does not
 *                                      comment again)
 *   passing report, an open issue   -> comment "recovered" and close it
 *   passing report, no open issue   -> nothing (no API write at all)
 *
 * Issues are found by listing open issues with the incident label - GitHub's issue list reads
 * the database, while its search index lags new issues - and confirmed by the marker on the
 * first line of the body. Every text that leaves is redacted (registered secrets and secret
 * shapes).
 */
export interface IncidentRun {
  /** Link to the run that produced the report. */
  url?: string;
  id?: string;
  attempt?: string;
}

export interface IncidentDeps {
  client: IssuesClient;
  logger: Logger;
  secrets: SecretRegistry;
  clock: Clock;
  run?: IncidentRun;
  /** First retry delay for 5xx/429 (default 500 ms). */
  retryDelayMs?: number;
}

export type IncidentAction = 'opened' | 'commented' | 'closed' | 'none' | 'already-reported';

export interface IssueRef {
  number: number;
  url: string;
}

export interface IncidentReport {
  kind: 'incident';
  /** The report this run acted on. */
  subject: { kind: string; cluster: string; ok: boolean; verdict: string; failures: number };
  action: IncidentAction;
  /** What happened, one line. */
  verdict: string;
  /** The incident issue acted on (for `none`: absent). */
  issue?: IssueRef;
  /** Issues closed as duplicates of `issue` by this run. */
  duplicatesClosed: number[];
  /** Problems that did not stop the run (a duplicate that could not be closed). */
  warnings: string[];
  labels: string[];
  repository: string;
  snapshot?: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
}

interface OpenIssue {
  number: number;
  url: string;
  createdAt: string;
  body: string;
}

export async function runIncident(config: IncidentConfig, deps: IncidentDeps): Promise<IncidentReport> {
  const { clock, logger } = deps;
  const start = clock.now();
  const s = config.subject;
  const { owner, repo } = config.repository;
  const issues = deps.client.rest.issues;
  const label = incidentLabel(s.kind, s.cluster);
  const marker = incidentMarker(s.kind, s.cluster);
  const retry = { logger, ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}) };
  const ctx: RenderContext = {
    ...(deps.run?.url ? { runUrl: deps.run.url } : {}),
    repository: config.repository,
    rollbackWorkflow: config.rollbackWorkflow,
  };
  // A run's events are keyed by run and attempt; outside a run, by the report's own time.
  const eventKey = deps.run?.id
    ? `${deps.run.id}-${deps.run.attempt ?? '1'}`
    : (s.at ?? new Date(start).toISOString());
  const clean = (text: string) => deps.secrets.redact(redactSecretPatterns(text));
  const warnings: string[] = [];
  const duplicatesClosed: number[] = [];

  const findOpen = async (): Promise<OpenIssue[]> => {
    const found: OpenIssue[] = [];
    for (let page = 1; page <= 10; page++) {
      const res = await withRetry(
        'list incident issues',
        () =>
          issues.listForRepo({
            owner,
            repo,
            labels: label,
            state: 'open',
            sort: 'created',
            direction: 'asc',
            per_page: 100,
            page,
          }),
        retry,
      );
      for (const i of res.data) if (isIncident(i, marker)) found.push(toOpen(i));
      if (res.data.length < 100) break;
    }
    return found.sort((a, b) => a.number - b.number);
  };

  const comment = async (issue: OpenIssue, body: string) => {
    await withRetry(
      'comment on incident',
      () => issues.createComment({ owner, repo, issue_number: issue.number, body: clean(body) }),
      retry,
    );
  };

  const close = async (issue: OpenIssue, reason: 'completed' | 'not_planned') => {
    await withRetry(
      'close incident',
      () => issues.update({ owner, repo, issue_number: issue.number, state: 'closed', state_reason: reason }),
      retry,
    );
  };

  const alreadyPosted = async (issue: OpenIssue, type: EventType): Promise<boolean> => {
    const wanted = eventMarker(type, eventKey);
    if (issue.body.split(/\r?\n/, 3).some((l) => l.trim() === wanted)) return true;
    for (let page = 1; page <= 20; page++) {
      const res = await withRetry(
        'list incident comments',
        () => issues.listComments({ owner, repo, issue_number: issue.number, per_page: 100, page }),
        retry,
      );
      if (res.data.some((c) => firstLine(c.body) === wanted)) return true;
      if (res.data.length < 100) return false;
    }
    return false;
  };

  /** Keeps the oldest open incident; closes the others as its duplicates. */
  const closeDuplicates = async (open: OpenIssue[]): Promise<OpenIssue> => {
    const [canonical, ...rest] = open;
    for (const dup of rest) {
      try {
        await comment(dup, duplicateComment(eventMarker('duplicate', `${dup.number}`), canonical!));
        await close(dup, 'not_planned');
        duplicatesClosed.push(dup.number);
        logger.info(`closed #${dup.number} as a duplicate of #${canonical!.number}`);
      } catch (error) {
        warnings.push(`could not close duplicate #${dup.number}: ${errorMessage(error)}`);
        logger.warning(warnings.at(-1)!);
      }
    }
    return canonical!;
  };

  let action: IncidentAction;
  let issue: OpenIssue | undefined;
  const open = await findOpen();

  if (s.ok) {
    if (open.length === 0) {
      action = 'none';
    } else if (!config.closeOnRecovery) {
      action = 'none';
      issue = open[0];
      logger.info(`${describeSubject(s)} passes; #${issue!.number} left open (close-on-recovery: false)`);
    } else {
      const openFor = duration(open[0]!.createdAt, clock.now());
      for (const i of open) {
        await comment(i, recoveryComment(s, ctx, eventMarker('recovered', eventKey), openFor));
        await close(i, 'completed');
      }
      issue = open[0];
      action = 'closed';
    }
  } else if (open.length === 0) {
    await ensureLabels(deps, config, [
      { name: label, description: `rke2-ops incident: ${s.kind} on ${s.cluster}` },
      { name: COMMON_LABEL, description: 'Opened and closed by rke2-ops from a failing report' },
    ]);
    const labels = [...new Set([label, COMMON_LABEL, ...config.extraLabels])];
    const created = await withRetry(
      'open incident',
      () =>
        issues.create({
          owner,
          repo,
          title: issueTitle(s),
          body: clean(
            withEvent(issueBody(s, ctx, marker, [label, COMMON_LABEL]), eventMarker('failure', eventKey)),
          ),
          labels,
        }),
      retry,
    );
    const mine = toOpen(created.data);
    logger.info(`opened #${mine.number} for ${describeSubject(s)}: ${mine.url}`);
    // A run racing this one may have opened its own issue in the same moment: look again.
    await clock.sleep(config.duplicateCheckDelayMs);
    const again = await findOpen();
    if (!again.some((i) => i.number === mine.number)) again.push(mine);
    again.sort((a, b) => a.number - b.number);
    issue = await closeDuplicates(again);
    if (issue.number === mine.number) action = 'opened';
    else {
      // Lost the race: this run's failure is recorded on the issue that stays open.
      await comment(issue, failureComment(s, ctx, eventMarker('failure', eventKey)));
      action = 'commented';
    }
  } else {
    issue = await closeDuplicates(open);
    if (await alreadyPosted(issue, 'failure')) {
      action = 'already-reported';
    } else {
      await comment(issue, failureComment(s, ctx, eventMarker('failure', eventKey)));
      action = 'commented';
    }
  }

  const end = clock.now();
  const ref = issue ? { number: issue.number, url: issue.url } : undefined;
  return {
    kind: 'incident',
    subject: { kind: s.kind, cluster: s.cluster, ok: s.ok, verdict: s.verdict, failures: s.failures.length },
    action,
    verdict: verdictOf(action, ref, describeSubject(s), duplicatesClosed),
    ...(ref ? { issue: ref } : {}),
    duplicatesClosed,
    warnings,
    labels: [label, COMMON_LABEL],
    repository: `${owner}/${repo}`,
    ...(s.snapshot ? { snapshot: s.snapshot.name } : {}),
    startedAt: new Date(start).toISOString(),
    finishedAt: new Date(end).toISOString(),
    durationSeconds: Math.round(end - start) / 1000,
  };
}

/** The event marker as the body's second line (the incident marker stays the first). */
function withEvent(body: string, event: string): string {
  const [first, ...rest] = body.split('\n');
  return [first, event, ...rest].join('\n');
}

function isIncident(i: Issue, marker: string): boolean {
  return !i.pull_request && i.state === 'open' && firstLine(i.body) === marker;
}

function toOpen(i: Issue): OpenIssue {
  return { number: i.number, url: i.html_url, createdAt: i.created_at, body: i.body ?? '' };
}

function verdictOf(
  action: IncidentAction,
  issue: IssueRef | undefined,
  what: string,
  duplicates: number[],
): string {
  const dup = duplicates.length ? ` (closed duplicate(s) ${duplicates.map((n) => `#${n}`).join(', ')})` : '';
  switch (action) {
    case 'opened':
      return `opened #${issue!.number} for ${what}${dup}`;
    case 'commented':
      return `commented on #${issue!.number}: ${what} still failing${dup}`;
    case 'already-reported':
      return `#${issue!.number} already has this run's failure${dup}`;
    case 'closed':
      return `${what} recovered: closed #${issue!.number}`;
    case 'none':
      return issue ? `${what} passes; #${issue.number} left open` : `${what} passes; no open incident`;
  }
}

async function ensureLabels(
  deps: IncidentDeps,
  config: IncidentConfig,
  labels: { name: string; description: string }[],
): Promise<void> {
  for (const l of labels) {
    try {
      await deps.client.rest.issues.createLabel({
        ...config.repository,
        name: l.name,
        color: 'b60205',
        description: l.description.slice(0, 100),
      });
    } catch (error) {
      // 422 "already_exists" is the usual answer; anything else only costs the label's colour
      // (creating the issue with the label creates it too).
      if (httpStatus(error) !== 422) deps.logger.debug(`label ${l.name}: ${errorMessage(error)}`);
    }
  }
}
