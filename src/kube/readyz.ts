import type { ProbePart } from './types.js';
import { inertText } from '../lib/inert.js';

/**
 * Reading `/readyz?verbose`. The HTTP status (kubectl's exit code) is the verdict, as the
 * Kubernetes docs tell machines to use; the verbose body only says which checks failed. When
 * the API answers 500, kubectl puts the body inside its error message on stderr, with `\n`
 * sometimes escaped, so both streams are searched.
 */
export interface ReadyzResult {
  ok: boolean;
  /** Failed check names with their reason, e.g. `etcd: reason withheld`. */
  failed: string[];
  /** Passed check count from the verbose listing (0 when the body was not seen). */
  passed: number;
  error?: string;
}

export function parseReadyz(part: ProbePart): ReadyzResult {
  const text = `${part.stdout}\n${part.stderr}`.replace(/\\n/g, '\n');
  const failed = [...text.matchAll(/\[-\]([^\s]+) failed: ?([^\n"]*)/g)].map((m) =>
    inertText(`${m[1]}${m[2] ? `: ${m[2].trim()}` : ''}`, 200),
  );
  const passed = [...text.matchAll(/\[\+\][^\s]+ ok/g)].length;
  if (part.code === 0) return { ok: true, failed, passed };
  const firstLine = part.stderr.trim().split('\n')[0] ?? '';
  return {
    ok: false,
    failed,
    passed,
    error: failed.length ? 'readyz check failed' : inertText(firstLine, 300) || `kubectl exited ${part.code}`,
  };
}
