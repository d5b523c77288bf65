import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { GitHubClient } from '../github/client.js';
import { stickyMarker, upsertStickyComment, type CommentTarget } from '../github/sticky-comment.js';
import { renderComment, type PlanView } from './render.js';
import type { CommentOutcome } from './report.js';

export const PLAN_COMMENT_KIND = 'tofu-plan';

/**
 * The sticky plan comment for one working directory (and optional extra key) on a PR:
 * rendered to fit GitHub's limit, redacted, then created or updated in place. Never throws:
 * a comment that cannot be written is an outcome the caller reports as a warning.
 */
export async function postPlanComment(
  client: GitHubClient,
  target: CommentTarget,
  key: string,
  view: PlanView,
  deps: { logger: Logger; secrets: SecretRegistry; retryDelayMs?: number },
): Promise<CommentOutcome> {
  try {
    const marker = stickyMarker(PLAN_COMMENT_KIND, key);
    const rendered = renderComment(view, marker);
    const body = deps.secrets.redact(rendered.body);
    if (rendered.truncated)
      deps.logger.info('the plan is too long for a comment: the comment shows its beginning');
    const result = await upsertStickyComment(client, target, marker, body, {
      logger: deps.logger,
      ...(deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {}),
    });
    if (result.duplicates)
      deps.logger.info(`${result.duplicates} older comment(s) carry the same marker; updated the newest`);
    return { status: result.action, id: result.id, url: result.url };
  } catch (error) {
    return { status: 'failed', error: deps.secrets.redact(errorMessage(error)) };
  }
}
