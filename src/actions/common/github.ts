import { getOctokit } from '@actions/github';
import { InputError } from '../../lib/errors.js';
import type { SecretRegistry } from '../../lib/secrets.js';

/** The full Octokit (REST methods + pagination); it satisfies the core's `GitHubClient`. */
export type Octokit = ReturnType<typeof getOctokit>;

export interface GitHubClientOptions {
  /** `GITHUB_TOKEN` or a PAT; registered as a secret before anything else happens. */
  token: string;
  /** REST base URL; default `GITHUB_API_URL`, else https://api.github.com. */
  apiUrl?: string;
  secrets?: SecretRegistry;
  /** The input the token came from, for the error message. */
  tokenField?: string;
  /** Per-request time limit; a hung API must not hold the job (default 30 s). */
  timeoutMs?: number;
}

/**
 * Octokit from `@actions/github` (the runner's proxy settings included), pointed at the REST
 * base given or `GITHUB_API_URL` read now - not when the module was loaded - so GHES and the
 * tests' local stand-in work. Every request gets its own deadline.
 */
export function createGitHubClient(options: GitHubClientOptions): Octokit {
  const token = options.token.trim();
  if (!token)
    throw new InputError(options.tokenField ?? 'github-token', 'is empty: a GitHub token is needed');
  options.secrets?.add(token);
  const baseUrl = (options.apiUrl || process.env.GITHUB_API_URL || 'https://api.github.com').replace(
    /\/+$/,
    '',
  );
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = getOctokit(token, { baseUrl, userAgent: 'rke2-ops' });
  client.hook.before('request', (request) => {
    request.request = {
      ...request.request,
      signal: request.request?.signal ?? AbortSignal.timeout(timeoutMs),
    };
  });
  return client;
}
