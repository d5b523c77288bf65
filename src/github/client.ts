/**
 * The GitHub REST calls the core makes, as a structural interface: the core never imports the
 * runner toolkit (eslint + test/unit/layering.test.ts). The action passes the Octokit from
 * `createGitHubClient` (src/actions/common/github.ts), which satisfies it; tests may pass the
 * same Octokit pointed at the REST stand-in, or anything of this shape. A capability that needs
 * more endpoints extends the interface with the methods it calls (IssuesApi: the incident
 * capability's issues and labels). The CLI, which must not import the runner toolkit, passes
 * the small fetch client of src/github/rest.ts instead.
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

export interface Issue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  html_url: string;
  created_at: string;
  labels: (string | { name?: string })[];
  /** Present on pull requests (the issues API lists both). */
  pull_request?: unknown;
}

export interface Label {
  name: string;
}

/** Issue and label calls (the incident capability); comments come from IssueCommentsApi. */
export interface IssuesApi extends IssueCommentsApi {
  listForRepo(params: {
    owner: string;
    repo: string;
    labels?: string;
    state?: 'open' | 'closed' | 'all';
    sort?: 'created' | 'updated' | 'comments';
    direction?: 'asc' | 'desc';
    per_page?: number;
    page?: number;
  }): Promise<{ data: Issue[] }>;
  create(params: {
    owner: string;
    repo: string;
    title: string;
    body?: string;
    labels?: string[];
  }): Promise<{ data: Issue }>;
  update(params: {
    owner: string;
    repo: string;
    issue_number: number;
    state?: 'open' | 'closed';
    state_reason?: 'completed' | 'not_planned' | 'reopened';
    body?: string;
  }): Promise<{ data: Issue }>;
  createLabel(params: {
    owner: string;
    repo: string;
    name: string;
    color?: string;
    description?: string;
  }): Promise<{ data: Label }>;
}

export interface GitHubClient {
  rest: { issues: IssueCommentsApi };
}

/** A client that can manage incident issues (Octokit, or the fetch client in src/github/rest.ts). */
export interface IssuesClient {
  rest: { issues: IssuesApi };
}

/** The HTTP status of a REST error (Octokit's RequestError carries `status`), if any. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
