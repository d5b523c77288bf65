import type { Comment, Issue, IssuesClient, Label } from './client.js';
import { inertText } from '../lib/inert.js';

/**
 * A minimal GitHub REST client on `fetch`, for the front ends that must not load the runner
 * toolkit (the CLI: eslint + test/unit/layering.test.ts keep `@actions/*` out of it). It
 * implements exactly the structural `IssuesClient` the incident core calls - the action
 * passes Octokit instead - so both front ends run the same core. Errors carry the HTTP
 * `status` like Octokit's RequestError, so `httpStatus()` reads both.
 *
 * Why not `@octokit/core`: it is only a transitive dependency here (of @actions/github), and
 * the handful of calls the CLI makes need no plugins, pagination helpers or retries beyond
 * what the core does itself.
 */
export interface RestClientOptions {
  token: string;
  /** REST base URL, e.g. https://api.github.com or a GHES `/api/v3` URL. */
  baseUrl: string;
  /** Per-request time limit (default 30 s): a hung API must not hold the command. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

export class GitHubRestError extends Error {
  override name = 'GitHubRestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined>;

export function createRestClient(options: RestClientOptions): IssuesClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${options.token}`,
          'user-agent': options.userAgent ?? 'rke2-ops',
          'x-github-api-version': '2022-11-28',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new Error(`${method} ${url.pathname}: ${inertText((error as Error).message)}`, { cause: error });
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        const json = JSON.parse(text) as { message?: string; errors?: { message?: string; code?: string }[] };
        message = [json.message, ...(json.errors ?? []).map((e) => e.message ?? e.code)]
          .filter(Boolean)
          .join(': ');
      } catch {
        // not JSON: keep the text
      }
      throw new GitHubRestError(
        res.status,
        `${method} ${url.pathname}: HTTP ${res.status} ${inertText(message, 300)}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const repoPath = (p: { owner: string; repo: string }) =>
    `/repos/${encodeURIComponent(p.owner)}/${encodeURIComponent(p.repo)}`;
  const data = async <T>(p: Promise<T>) => ({ data: await p });

  return {
    rest: {
      issues: {
        listForRepo: (p) =>
          data(
            request<Issue[]>('GET', `${repoPath(p)}/issues`, {
              labels: p.labels,
              state: p.state,
              sort: p.sort,
              direction: p.direction,
              per_page: p.per_page,
              page: p.page,
            }),
          ),
        create: (p) =>
          data(
            request<Issue>(
              'POST',
              `${repoPath(p)}/issues`,
              {},
              { title: p.title, body: p.body, labels: p.labels },
            ),
          ),
        update: (p) =>
          data(
            request<Issue>(
              'PATCH',
              `${repoPath(p)}/issues/${p.issue_number}`,
              {},
              { state: p.state, state_reason: p.state_reason, body: p.body },
            ),
          ),
        createLabel: (p) =>
          data(
            request<Label>(
              'POST',
              `${repoPath(p)}/labels`,
              {},
              { name: p.name, color: p.color, description: p.description },
            ),
          ),
        listComments: (p) =>
          data(
            request<Comment[]>('GET', `${repoPath(p)}/issues/${p.issue_number}/comments`, {
              per_page: p.per_page,
              page: p.page,
            }),
          ),
        createComment: (p) =>
          data(
            request<Comment>(
              'POST',
              `${repoPath(p)}/issues/${p.issue_number}/comments`,
              {},
              { body: p.body },
            ),
          ),
        updateComment: (p) =>
          data(
            request<Comment>('PATCH', `${repoPath(p)}/issues/comments/${p.comment_id}`, {}, { body: p.body }),
          ),
      },
    },
  };
}
