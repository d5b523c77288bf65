import { createHash } from 'node:crypto';

/**
 * How an incident issue is found again: one label per (kind, cluster) for listing - GitHub's
 * issue list filtered by label is read from the database, unlike search, whose index lags new
 * issues by seconds to minutes - and a hidden marker as the first line of the body, which a
 * label added by hand to some other issue does not have. Both are derived from the kind and the
 * cluster name alone, so two runs racing compute the same ones.
 */

/** GitHub refuses label names longer than this. */
export const LABEL_MAX = 50;

/** On every incident issue, for people to filter by. */
export const COMMON_LABEL = 'rke2-ops-incident';

/**
 * `rke2-ops:<kind>:<cluster>`; when that is over GitHub's 50 characters, its head and a hash of
 * the whole (still unique per kind and cluster).
 */
export function incidentLabel(kind: string, cluster: string): string {
  const full = `rke2-ops:${kind}:${cluster}`;
  if (full.length <= LABEL_MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, LABEL_MAX - hash.length - 1)}~${hash}`;
}

/** The first line of an incident issue's body. Kind and cluster are validated identifiers. */
export function incidentMarker(kind: string, cluster: string): string {
  return `<!-- rke2-ops:incident:${kind}:${cluster} -->`;
}

export type EventType = 'failure' | 'recovered' | 'duplicate';

/**
 * The first line of a comment the incident capability writes: which event, and for which run
 * (`<run id>-<attempt>`, or the report's time when there is no run), so a re-run of the same
 * step does not comment twice.
 */
export function eventMarker(type: EventType, key: string): string {
  return `<!-- rke2-ops:incident-event:${type}:${encodeURIComponent(key)} -->`;
}

export function firstLine(body: string | null | undefined): string {
  return (body ?? '').split(/\r?\n/, 1)[0]!.trim();
}
