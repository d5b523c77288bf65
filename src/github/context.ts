import { readFileSync } from 'node:fs';

/**
 * What a step knows about its run, read from the runner's environment (the variables GitHub
 * sets for every step) and the event payload file. A plain function of `env`, so the action,
 * the CLI and the tests read it the same way; nothing here talks to the network.
 */
export interface GitHubContext {
  /** REST API base, `GITHUB_API_URL` (GHES and the tests' stand-in set it). */
  apiUrl: string;
  /** Web base, `GITHUB_SERVER_URL`. */
  serverUrl: string;
  /** `owner/repo` split, when `GITHUB_REPOSITORY` is set. */
  repository?: { owner: string; repo: string };
  eventName?: string;
  sha?: string;
  ref?: string;
  runId?: string;
  runAttempt?: string;
  /** Link to this run (its job summaries and artifacts), when the run is known. */
  runUrl?: string;
  workflow?: string;
  job?: string;
  actor?: string;
  /** The pull request this run belongs to (pull_request[_target], or a comment on a PR). */
  pullRequest?: number;
  /** The event payload (`GITHUB_EVENT_PATH`), `{}` when there is none. */
  payload: Record<string, unknown>;
}

type Env = Record<string, string | undefined>;

export function readGitHubContext(
  env: Env = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): GitHubContext {
  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repository = parseRepository(env.GITHUB_REPOSITORY);
  const payload = readPayload(env.GITHUB_EVENT_PATH, readFile);
  const runId = env.GITHUB_RUN_ID || undefined;
  const runAttempt = env.GITHUB_RUN_ATTEMPT || undefined;
  const runUrl =
    repository && runId
      ? `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}` +
        (runAttempt && runAttempt !== '1' ? `/attempts/${runAttempt}` : '')
      : undefined;
  return {
    apiUrl,
    serverUrl,
    repository,
    eventName: env.GITHUB_EVENT_NAME || undefined,
    sha: env.GITHUB_SHA || undefined,
    ref: env.GITHUB_REF || undefined,
    runId,
    runAttempt,
    runUrl,
    workflow: env.GITHUB_WORKFLOW || undefined,
    job: env.GITHUB_JOB || undefined,
    actor: env.GITHUB_ACTOR || undefined,
    pullRequest: pullRequestNumber(payload),
    payload,
  };
}

export function parseRepository(text: string | undefined): { owner: string; repo: string } | undefined {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(text ?? '');
  return m ? { owner: m[1]!, repo: m[2]! } : undefined;
}

function readPayload(path: string | undefined, readFile: (path: string) => string): Record<string, unknown> {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFile(path));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    // A missing or unreadable payload only means "no PR known": never a reason to fail a step.
    return {};
  }
}

/** The PR number of a `pull_request`/`pull_request_target` event, or of a comment on a PR. */
export function pullRequestNumber(payload: Record<string, unknown>): number | undefined {
  const pr = payload.pull_request as { number?: unknown } | undefined;
  if (pr && Number.isInteger(pr.number)) return pr.number as number;
  const issue = payload.issue as { number?: unknown; pull_request?: unknown } | undefined;
  if (issue && issue.pull_request && Number.isInteger(issue.number)) return issue.number as number;
  return undefined;
}
