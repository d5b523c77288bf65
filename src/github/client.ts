/**
 * The GitHub REST calls the core makes, as a structural interface: the core never imports the
 * runner toolkit (eslint + test/unit/layering.test.ts). The action passes the Octokit from
 * `createGitHubClient` (src/actions/common/github.ts), which satisfies it; tests may pass the
 * same Octokit pointed at the REST stand-in, or anything of this shape. A capability that needs
 * more endpoints (issues, labels, search) extends the interface with the methods it calls.
 */
export interface Comment {
  id: number;
  body?: string | null;
  html_url: string;
  user?: { login: string } | null;
}

export interface IssueCommentsApi {
  listComments(params: {
    owner: string;
    repo: string;
    issue_number: number;
    per_page?: number;
    page?: number;
  }): Promise<{ data: Comment[] }>;
  createComment(params: {
    owner: string;
    repo: string;
    issue_number: number;
    body: string;
  }): Promise<{ data: Comment }>;
  updateComment(params: {
    owner: string;
    repo: string;
    comment_id: number;
    body: string;
  }): Promise<{ data: Comment }>;
}

export interface GitHubClient {
  rest: { issues: IssueCommentsApi };
}

/** The HTTP status of a REST error (Octokit's RequestError carries `status`), if any. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
