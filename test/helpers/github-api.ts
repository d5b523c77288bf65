/**
 * A stand-in for the GitHub REST API: a real HTTP server on 127.0.0.1 with state (issues, pull
 * requests, comments, labels) and a call log. Actions under test reach it through
 * `GITHUB_API_URL`, exactly as they reach api.github.com - no mock inside their process.
 *
 * Implemented (paths under /repos/{owner}/{repo} unless absolute), with GitHub's shapes,
 * status codes, 65,536-character body limit, per_page/page pagination and Link headers:
 *   GET    /issues/{n}/comments            POST /issues/{n}/comments
 *   GET    /issues/comments/{id}           PATCH /issues/comments/{id}     DELETE /issues/comments/{id}
 *   POST   /issues                         GET  /issues?labels=&state=&sort=&direction=
 *   GET    /issues/{n}                     PATCH /issues/{n} (title, body, state, state_reason, labels)
 *   POST   /issues/{n}/labels              DELETE /issues/{n}/labels/{name}
 *   GET    /labels   POST /labels   GET /labels/{name}
 *   GET    /search/issues?q=repo:o/r is:issue is:open label:"x" <words in title>
 * Authentication: `Authorization: token <t>` or `Bearer <t>` must carry the configured token
 * (401 "Bad credentials" otherwise). Faults: `failNext()` answers matching requests with an
 * error status, for the "a comment failure warns" paths. Search is consistent (GitHub's index
 * lags; set `searchLagMs` to hide issues younger than that from search, as GitHub does).
 * Races: `gate()` holds matching requests until a number of them have arrived, then answers
 * them all - two clients that both list before either writes, every time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  /** Path without the query string, e.g. /repos/o/r/issues/1/comments */
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  authorized: boolean;
}

export interface StoredComment {
  id: number;
  issueNumber: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  createdAt: string;
  updatedAt: string;
}

export interface StoredIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: 'completed' | 'not_planned' | 'reopened' | null;
  labels: string[];
  pullRequest: boolean;
  user: { login: string; type: 'Bot' | 'User' };
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface StoredLabel {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

interface Gate {
  method?: string;
  path: RegExp;
  parties: number;
  waiting: (() => void)[];
  timer?: NodeJS.Timeout;
}

interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  times: number;
  message: string;
}

export interface GitHubApiOptions {
  token?: string;
  owner?: string;
  repo?: string;
  /** The author of what the token writes. */
  login?: string;
  /** Hide issues younger than this from /search/issues (GitHub's search index lag). */
  searchLagMs?: number;
}

export interface GitHubApiStandIn {
  /** Base URL for GITHUB_API_URL, e.g. http://127.0.0.1:40123 */
  url: string;
  token: string;
  owner: string;
  repo: string;
  calls: ApiCall[];
  issues: Map<number, StoredIssue>;
  comments: Map<number, StoredComment>;
  labels: Map<string, StoredLabel>;
  /** Opens a pull request (an issue with `pull_request`); returns its number. */
  addPullRequest(title?: string): number;
  /** Adds an issue as if someone had opened it. */
  addIssue(fields: Partial<Omit<StoredIssue, 'number'>> & { title: string }): StoredIssue;
  /** Adds a comment as if `login` had written it (another user, by default). */
  addComment(issueNumber: number, body: string, login?: string): StoredComment;
  commentsOn(issueNumber: number): StoredComment[];
  /** Answer the next `times` requests matching method and path with `status`. */
  failNext(match: { method?: string; path: RegExp }, status: number, times?: number, message?: string): void;
  /** Drops every pending fault. */
  clearFaults(): void;
  /**
   * Holds the next `parties` requests matching method and path until all of them have arrived
   * (or `timeoutMs` passed), then lets them through together.
   */
  gate(match: { method?: string; path: RegExp }, parties: number, timeoutMs?: number): void;
  /** Calls that match a method and path pattern (the call log, filtered). */
  callsTo(method: string, path: RegExp): ApiCall[];
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const BODY_LIMIT = 65_536;

export async function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApiStandIn> {
  const token = options.token ?? 'ghs_standin_token_0123456789abcdef';
  const owner = options.owner ?? 'acme';
  const repo = options.repo ?? 'ops';
  const login = options.login ?? 'github-actions[bot]';
  const me = { login, type: login.endsWith('[bot]') ? ('Bot' as const) : ('User' as const) };
  const calls: ApiCall[] = [];
  const issues = new Map<number, StoredIssue>();
  const comments = new Map<number, StoredComment>();
  const labels = new Map<string, StoredLabel>();
  const faults: Fault[] = [];
  const gates: Gate[] = [];
  let nextNumber = 1;
  let nextCommentId = 1_000_001;
  let nextLabelId = 5_001;
  let base = '';

  const now = () => new Date().toISOString();
  const web = () => `${base}/${owner}/${repo}`;
  const api = () => `${base}/repos/${owner}/${repo}`;

  const ensureLabel = (name: string): StoredLabel => {
    const key = name.toLowerCase();
    let label = labels.get(key);
    if (!label) {
      label = { id: nextLabelId++, name, color: 'ededed', description: null };
      labels.set(key, label);
    }
    return label;
  };

  const labelJson = (l: StoredLabel) => ({
    id: l.id,
    node_id: `LA_${l.id}`,
    url: `${api()}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: false,
    description: l.description,
  });

  const issueJson = (i: StoredIssue) => ({
    id: 9_000_000 + i.number,
    node_id: `I_${i.number}`,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.stateReason,
    locked: false,
    labels: i.labels.map((n) => labelJson(ensureLabel(n))),
    user: { login: i.user.login, id: 1, type: i.user.type },
    comments: [...comments.values()].filter((c) => c.issueNumber === i.number).length,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    url: `${api()}/issues/${i.number}`,
    html_url: `${web()}/${i.pullRequest ? 'pull' : 'issues'}/${i.number}`,
    comments_url: `${api()}/issues/${i.number}/comments`,
    ...(i.pullRequest
      ? { pull_request: { url: `${api()}/pulls/${i.number}`, html_url: `${web()}/pull/${i.number}` } }
      : {}),
  });

  const commentJson = (c: StoredComment) => {
    const issue = issues.get(c.issueNumber)!;
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      body: c.body,
      user: { login: c.user.login, id: 2, type: c.user.type },
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      url: `${api()}/issues/comments/${c.id}`,
      html_url: `${web()}/${issue.pullRequest ? 'pull' : 'issues'}/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${api()}/issues/${c.issueNumber}`,
      author_association: 'NONE',
    };
  };

  const addIssue: GitHubApiStandIn['addIssue'] = (fields) => {
    const at = now();
    const issue: StoredIssue = {
      number: nextNumber++,
      body: '',
      state: 'open',
      stateReason: null,
      labels: [],
      pullRequest: false,
      user: { login: 'octocat', type: 'User' },
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      ...fields,
    };
    issue.labels.forEach(ensureLabel);
    issues.set(issue.number, issue);
    return issue;
  };

  const addComment = (issueNumber: number, body: string, author = 'octocat'): StoredComment => {
    if (!issues.has(issueNumber)) throw new HttpError(404, 'Not Found');
    const at = now();
    const c: StoredComment = {
      id: nextCommentId++,
      issueNumber,
      body,
      user: { login: author, type: author.endsWith('[bot]') ? 'Bot' : 'User' },
      createdAt: at,
      updatedAt: at,
    };
    comments.set(c.id, c);
    issues.get(issueNumber)!.updatedAt = at;
    return c;
  };

  const validateBody = (resource: string, body: unknown, required: boolean): string | undefined => {
    if (body === undefined || body === null) {
      if (required) throw validation(resource, 'body', 'missing_field', 'body is missing');
      return undefined;
    }
    if (typeof body !== 'string') throw validation(resource, 'body', 'invalid', 'body is not a string');
    // GitHub counts characters (code points).
    if ([...body].length > BODY_LIMIT)
      throw validation(resource, 'body', 'custom', `body is too long (maximum is ${BODY_LIMIT} characters)`);
    return body;
  };

  const issue = (n: string): StoredIssue => {
    const found = issues.get(Number(n));
    if (!found) throw new HttpError(404, 'Not Found');
    return found;
  };

  const paginate = (req: Query, items: unknown[], path: string): { items: unknown[]; link?: string } => {
    const perPage = Math.min(100, Math.max(1, Number(req.query.per_page ?? 30) || 30));
    const page = Math.max(1, Number(req.query.page ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const rel = (p: number, name: string) => {
      const q = new URLSearchParams({ ...req.query, per_page: String(perPage), page: String(p) });
      return `<${base}${path}?${q}>; rel="${name}"`;
    };
    const links = [];
    if (page < last) links.push(rel(page + 1, 'next'), rel(last, 'last'));
    if (page > 1) links.push(rel(1, 'first'), rel(page - 1, 'prev'));
    return { items: slice, ...(links.length ? { link: links.join(', ') } : {}) };
  };

  const setLabels = (i: StoredIssue, names: unknown) => {
    if (!Array.isArray(names)) throw validation('Issue', 'labels', 'invalid', 'labels must be a list');
    const list = names.map((n) => (typeof n === 'string' ? n : ((n as { name?: string }).name ?? '')));
    list.forEach(ensureLabel);
    i.labels = [...new Set(list)];
  };

  type Query = { method: string; path: string; query: Record<string, string>; body: Record<string, unknown> };
  type Reply = { status: number; json?: unknown; link?: string };

  const routes: [string, RegExp, (m: RegExpExecArray, q: Query) => Reply][] = [
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      (m, q) => {
        const i = issue(m[3]!);
        const list = [...comments.values()].filter((c) => c.issueNumber === i.number).map(commentJson);
        const page = paginate(q, list, q.path);
        return { status: 200, json: page.items, ...(page.link ? { link: page.link } : {}) };
      },
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      (m, q) => {
        const i = issue(m[3]!);
        const body = validateBody('IssueComment', q.body.body, true)!;
        return { status: 201, json: commentJson(addComment(i.number, body, login)) };
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      (m) => {
        const c = comments.get(Number(m[3]));
        if (!c) throw new HttpError(404, 'Not Found');
        return { status: 200, json: commentJson(c) };
      },
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      (m, q) => {
        const c = comments.get(Number(m[3]));
        if (!c) throw new HttpError(404, 'Not Found');
        // A token can edit only what its own user wrote.
        if (c.user.login !== login) throw new HttpError(403, 'Resource not accessible by integration');
        c.body = validateBody('IssueComment', q.body.body, true)!;
        c.updatedAt = now();
        return { status: 200, json: commentJson(c) };
      },
    ],
    [
      'DELETE',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      (m) => {
        const c = comments.get(Number(m[3]));
        if (!c) throw new HttpError(404, 'Not Found');
        if (c.user.login !== login) throw new HttpError(403, 'Resource not accessible by integration');
        comments.delete(c.id);
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues$/,
      (_m, q) => {
        const title = q.body.title;
        if (typeof title !== 'string' || !title.trim())
          throw validation('Issue', 'title', 'missing_field', 'title is missing');
        const body = validateBody('Issue', q.body.body, false) ?? '';
        const created = addIssue({ title, body, user: me });
        if (q.body.labels !== undefined) setLabels(created, q.body.labels);
        return { status: 201, json: issueJson(created) };
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues$/,
      (_m, q) => {
        const state = q.query.state ?? 'open';
        const wanted = (q.query.labels ?? '')
          .split(',')
          .map((l) => l.trim().toLowerCase())
          .filter(Boolean);
        const list = [...issues.values()]
          .filter((i) => state === 'all' || i.state === state)
          .filter((i) => wanted.every((w) => i.labels.some((l) => l.toLowerCase() === w)))
          .sort(sorter(q.query.sort ?? 'created', q.query.direction ?? 'desc'))
          .map(issueJson);
        const page = paginate(q, list, q.path);
        return { status: 200, json: page.items, ...(page.link ? { link: page.link } : {}) };
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/,
      (m) => ({ status: 200, json: issueJson(issue(m[3]!)) }),
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/,
      (m, q) => {
        const i = issue(m[3]!);
        const b = q.body;
        if (b.title !== undefined) {
          if (typeof b.title !== 'string' || !b.title.trim())
            throw validation('Issue', 'title', 'invalid', 'title is invalid');
          i.title = b.title;
        }
        if (b.body !== undefined) i.body = validateBody('Issue', b.body, false) ?? '';
        if (b.labels !== undefined) setLabels(i, b.labels);
        if (b.state !== undefined) {
          if (b.state !== 'open' && b.state !== 'closed')
            throw validation('Issue', 'state', 'invalid', 'state is invalid');
          if (b.state === 'closed' && i.state === 'open') {
            i.closedAt = now();
            i.stateReason = b.state_reason === 'not_planned' ? 'not_planned' : 'completed';
          } else if (b.state === 'open' && i.state === 'closed') {
            i.closedAt = null;
            i.stateReason = 'reopened';
          }
          i.state = b.state;
        }
        i.updatedAt = now();
        return { status: 200, json: issueJson(i) };
      },
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels$/,
      (m, q) => {
        const i = issue(m[3]!);
        const add = Array.isArray(q.body.labels) ? q.body.labels : Array.isArray(q.body) ? q.body : [];
        setLabels(i, [...i.labels, ...(add as string[])]);
        return { status: 200, json: i.labels.map((n) => labelJson(ensureLabel(n))) };
      },
    ],
    [
      'DELETE',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels\/([^/]+)$/,
      (m) => {
        const i = issue(m[3]!);
        const name = decodeURIComponent(m[4]!);
        if (!i.labels.some((l) => l.toLowerCase() === name.toLowerCase()))
          throw new HttpError(404, 'Label does not exist');
        i.labels = i.labels.filter((l) => l.toLowerCase() !== name.toLowerCase());
        return { status: 200, json: i.labels.map((n) => labelJson(ensureLabel(n))) };
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/labels$/,
      (_m, q) => {
        const page = paginate(q, [...labels.values()].map(labelJson), q.path);
        return { status: 200, json: page.items, ...(page.link ? { link: page.link } : {}) };
      },
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/labels$/,
      (_m, q) => {
        const name = q.body.name;
        if (typeof name !== 'string' || !name)
          throw validation('Label', 'name', 'missing_field', 'name is missing');
        if (labels.has(name.toLowerCase()))
          throw validation('Label', 'name', 'already_exists', 'name already exists');
        const l = ensureLabel(name);
        if (typeof q.body.color === 'string') l.color = q.body.color;
        if (typeof q.body.description === 'string') l.description = q.body.description;
        return { status: 201, json: labelJson(l) };
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/labels\/([^/]+)$/,
      (m) => {
        const l = labels.get(decodeURIComponent(m[3]!).toLowerCase());
        if (!l) throw new HttpError(404, 'Not Found');
        return { status: 200, json: labelJson(l) };
      },
    ],
    [
      'GET',
      /^\/search\/issues$/,
      (_m, q) => {
        const found = search(q.query.q ?? '');
        const page = paginate(q, found.map(issueJson), q.path);
        return {
          status: 200,
          json: { total_count: found.length, incomplete_results: false, items: page.items },
          ...(page.link ? { link: page.link } : {}),
        };
      },
    ],
  ];

  function sorter(sort: string, direction: string) {
    const key = sort === 'updated' ? 'updatedAt' : 'createdAt';
    const sign = direction === 'asc' ? 1 : -1;
    return (a: StoredIssue, b: StoredIssue) =>
      (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.number - b.number) * sign;
  }

  function search(q: string): StoredIssue[] {
    const terms = q.match(/(\w+:"[^"]*"|"[^"]*"|\S+)/g) ?? [];
    let list = [...issues.values()];
    const lag = options.searchLagMs ?? 0;
    if (lag > 0) list = list.filter((i) => Date.now() - Date.parse(i.createdAt) >= lag);
    for (const term of terms) {
      const m = /^(\w+):"?([^"]*)"?$/.exec(term);
      if (m) {
        const [, key, value] = m;
        if (key === 'repo') list = list.filter(() => value === `${owner}/${repo}`);
        else if (key === 'is' && (value === 'issue' || value === 'pr'))
          list = list.filter((i) => i.pullRequest === (value === 'pr'));
        else if ((key === 'is' || key === 'state') && (value === 'open' || value === 'closed'))
          list = list.filter((i) => i.state === value);
        else if (key === 'label')
          list = list.filter((i) => i.labels.some((l) => l.toLowerCase() === value!.toLowerCase()));
        else if (key === 'in') continue;
        else throw validation('Search', 'q', 'invalid', `unsupported qualifier ${key}`);
      } else {
        const word = term.replace(/^"|"$/g, '').toLowerCase();
        list = list.filter((i) => i.title.toLowerCase().includes(word));
      }
    }
    return list.sort(sorter('created', 'desc'));
  }

  function validation(resource: string, field: string, code: string, message: string): HttpError {
    return new HttpError(422, 'Validation Failed', { errors: [{ resource, field, code, message }] });
  }

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const send = (res: ServerResponse, reply: Reply) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-remaining': '4999',
    };
    if (reply.link) headers.link = reply.link;
    res.writeHead(reply.status, headers);
    res.end(reply.status === 204 ? undefined : JSON.stringify(reply.json ?? {}));
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const auth = req.headers.authorization ?? '';
    const authorized = auth === `token ${token}` || auth === `Bearer ${token}`;
    const call: ApiCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      status: 0,
      authorized,
    };
    calls.push(call);
    const gate = gates.find(
      (g) =>
        g.waiting.length < g.parties && (!g.method || g.method === call.method) && g.path.test(call.path),
    );
    if (gate) await passGate(gate);
    let reply: Reply;
    try {
      if (!authorized) throw new HttpError(401, 'Bad credentials');
      const fault = faults.find(
        (f) => f.times > 0 && (!f.method || f.method === call.method) && f.path.test(call.path),
      );
      if (fault) {
        fault.times--;
        throw new HttpError(fault.status, fault.message);
      }
      const route = routes.find(([method, re]) => method === call.method && re.test(call.path));
      if (!route) throw new HttpError(404, 'Not Found');
      const m = route[1].exec(call.path)!;
      if (m[1] !== undefined && m[2] !== undefined && (m[1] !== owner || m[2] !== repo))
        throw new HttpError(404, 'Not Found');
      reply = route[2](m, {
        method: call.method,
        path: call.path,
        query: call.query,
        body: (body && typeof body === 'object' ? body : {}) as Record<string, unknown>,
      });
    } catch (error) {
      const e = error instanceof HttpError ? error : new HttpError(500, (error as Error).message);
      reply = {
        status: e.status,
        json: {
          message: e.message,
          documentation_url: 'https://docs.github.com/rest',
          status: String(e.status),
          ...e.extra,
        },
      };
    }
    call.status = reply.status;
    send(res, reply);
  });

  function passGate(gate: Gate): Promise<void> {
    return new Promise((resolve) => {
      gate.waiting.push(resolve);
      if (gate.waiting.length === gate.parties) openGate(gate);
    });
  }

  function openGate(gate: Gate): void {
    clearTimeout(gate.timer);
    gates.splice(gates.indexOf(gate), 1);
    gate.waiting.forEach((release) => release());
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get url() {
      return base;
    },
    token,
    owner,
    repo,
    calls,
    issues,
    comments,
    labels,
    addPullRequest: (title = 'Change the cluster') => addIssue({ title, pullRequest: true }).number,
    addIssue,
    addComment: (n, body, author) => addComment(n, body, author),
    commentsOn: (n) => [...comments.values()].filter((c) => c.issueNumber === n),
    failNext: (match, status, times = 1, message = `stand-in fault ${status}`) =>
      faults.push({
        ...(match.method ? { method: match.method } : {}),
        path: match.path,
        status,
        times,
        message,
      }),
    clearFaults: () => {
      faults.length = 0;
    },
    gate: (match, parties, timeoutMs = 30_000) => {
      const gate: Gate = {
        ...(match.method ? { method: match.method } : {}),
        path: match.path,
        parties,
        waiting: [],
      };
      // A party that never comes must not hang the test: the gate opens after the timeout.
      gate.timer = setTimeout(() => gates.includes(gate) && openGate(gate), timeoutMs);
      gate.timer.unref();
      gates.push(gate);
    },
    callsTo: (method, path) => calls.filter((c) => c.method === method && path.test(c.path)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const g of [...gates]) openGate(g);
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
