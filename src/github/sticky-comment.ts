import type { Logger } from '../lib/logger.js';
import { httpStatus, type GitHubClient } from './client.js';
import { withRetry } from './retry.js';
import { COMMENT_BODY_LIMIT } from './markdown.js';
import { inert } from '../lib/inert.js';

/**
 * One comment per (kind, key) on an issue or pull request, found again by a hidden marker on
 * its first line and edited in place - never a new comment per run. The tofu action keys it
 * by working directory; any other producer picks its own kind.
 */
export interface CommentTarget {
  owner: string;
  repo: string;
  /** Issue or pull request number (PR comments are issue comments). */
  issueNumber: number;
}

export interface StickyCommentResult {
  action: 'created' | 'updated';
  id: number;
  url: string;
  /** Other comments carrying the same marker (left alone; a race or a copy). */
  duplicates: number;
}

export interface StickyCommentOptions {
  logger?: Logger;
  /** Retries for 5xx, 429 and network errors (never for other 4xx). Default 2. */
  retries?: number;
  /** First retry delay in ms (doubles). Default 500. */
  retryDelayMs?: number;
}

/**
 * The hidden first line. `key` is user text (a directory name): URI-encoding it leaves no
 * `-->` or newline that could end the HTML comment early.
 */
export function stickyMarker(kind: string, key: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(kind)) throw new Error(`sticky comment kind ${inert(kind)} is invalid`);
  return `<!-- rke2-ops:${kind}:${encodeURIComponent(key)} -->`;
}

/** True when `body` is a sticky comment with this marker (the marker is its whole first line). */
export function hasMarker(body: string | null | undefined, marker: string): boolean {
  if (!body) return false;
  const firstLine = body.split(/\r?\n/, 1)[0]!;
  return firstLine.trim() === marker;
}

/** Every comment with the marker, oldest first (all pages: a busy PR has hundreds of comments). */
export async function findStickyComments(
  client: GitHubClient,
  target: CommentTarget,
  marker: string,
  opts: StickyCommentOptions = {},
): Promise<{ id: number; body: string; url: string }[]> {
  const found: { id: number; body: string; url: string }[] = [];
  const perPage = 100;
  for (let page = 1; ; page++) {
    const res = await withRetry(
      'list comments',
      () =>
        client.rest.issues.listComments({
          owner: target.owner,
          repo: target.repo,
          issue_number: target.issueNumber,
          per_page: perPage,
          page,
        }),
      opts,
    );
    for (const c of res.data) {
      if (hasMarker(c.body, marker)) found.push({ id: c.id, body: c.body ?? '', url: c.html_url });
    }
    if (res.data.length < perPage) return found;
  }
}

/**
 * Creates the sticky comment or updates the newest existing one. `body` gets the marker as its
 * first line. A body over GitHub's 65,536-character limit is refused here, before any call.
 * When the existing comment cannot be edited (deleted meanwhile, or written by someone else
 * with the marker copied in: 403/404), a new one is created instead.
 */
export async function upsertStickyComment(
  client: GitHubClient,
  target: CommentTarget,
  marker: string,
  body: string,
  opts: StickyCommentOptions = {},
): Promise<StickyCommentResult> {
  const full = hasMarker(body, marker) ? body : `${marker}\n${body}`;
  if (full.length > COMMENT_BODY_LIMIT)
    throw new Error(
      `comment body is ${full.length} characters, over GitHub's limit of ${COMMENT_BODY_LIMIT}: shorten it first`,
    );
  const existing = await findStickyComments(client, target, marker, opts);
  const newest = existing.at(-1);
  const duplicates = Math.max(0, existing.length - 1);
  if (newest) {
    try {
      const res = await withRetry(
        'update comment',
        () =>
          client.rest.issues.updateComment({
            owner: target.owner,
            repo: target.repo,
            comment_id: newest.id,
            body: full,
          }),
        opts,
      );
      return { action: 'updated', id: res.data.id, url: res.data.html_url, duplicates };
    } catch (error) {
      const status = httpStatus(error);
      if (status !== 403 && status !== 404) throw error;
      opts.logger?.warning(
        `cannot edit comment ${newest.id} (HTTP ${status}); writing a new comment instead`,
      );
    }
  }
  const res = await withRetry(
    'create comment',
    () =>
      client.rest.issues.createComment({
        owner: target.owner,
        repo: target.repo,
        issue_number: target.issueNumber,
        body: full,
      }),
    opts,
  );
  return { action: 'created', id: res.data.id, url: res.data.html_url, duplicates };
}
