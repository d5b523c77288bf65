import type { Check, UrlExpectation } from './types.js';
import { errorMessage } from '../lib/errors.js';
import { inert, inertText } from '../lib/inert.js';

/**
 * HTTP checks run from the runner, not the node: they prove the path a user takes (load
 * balancer, ingress, app), which a request from inside the cluster would skip.
 */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; redirect: 'manual' },
) => Promise<{
  status: number;
  text(): Promise<string>;
}>;

const MAX_BODY_CHARS = 1_000_000;

export function statusAccepted(status: number, ranges: UrlExpectation['status']): boolean {
  return ranges.some((r) => status >= r.min && status <= r.max);
}

function bodyMatches(body: string, want: string): boolean {
  const re = /^\/(.*)\/([a-z]*)$/s.exec(want);
  return re ? new RegExp(re[1]!, re[2]).test(body) : body.includes(want);
}

function describeStatus(ranges: UrlExpectation['status']): string {
  return ranges.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)).join(',');
}

export async function checkUrl(exp: UrlExpectation, timeoutMs: number, fetchImpl: FetchLike): Promise<Check> {
  const name = `http ${exp.url}`;
  const started = Date.now();
  try {
    // Redirects are not followed: a 3xx is an answer from the app (accepted by default).
    const res = await fetchImpl(exp.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const body = (await res.text()).slice(0, MAX_BODY_CHARS);
    const ms = Date.now() - started;
    const observed = {
      status: res.status,
      ms,
      expectedStatus: describeStatus(exp.status),
      ...(exp.body ? { bodyMatch: exp.body } : {}),
    };
    if (!statusAccepted(res.status, exp.status)) {
      return {
        name,
        status: 'fail',
        message: `HTTP ${res.status}, want ${describeStatus(exp.status)}`,
        failing: [exp.url],
        observed,
      };
    }
    if (exp.body && !bodyMatches(body, exp.body)) {
      return {
        name,
        status: 'fail',
        message: `HTTP ${res.status} but the body does not match ${inert(exp.body)}`,
        failing: [exp.url],
        observed,
      };
    }
    return { name, status: 'pass', message: `HTTP ${res.status} in ${ms} ms`, observed };
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    const cause = (error as { cause?: unknown }).cause;
    const why = timedOut
      ? `no answer within ${timeoutMs} ms`
      : `${describe(error)}${cause ? ` (${describe(cause)})` : ''}`;
    return { name, status: 'fail', message: why, failing: [exp.url], observed: { ms: Date.now() - started } };
  }
}

/** fetch's errors may come from another realm (undici), so read `message`/`code` directly. */
function describe(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown };
    const message = typeof e.message === 'string' && e.message ? e.message : '';
    const code = typeof e.code === 'string' ? e.code : '';
    if (message || code)
      return inertText(message.includes(code) ? message : [code, message].filter(Boolean).join(' '), 300);
  }
  return inertText(errorMessage(error), 300);
}
