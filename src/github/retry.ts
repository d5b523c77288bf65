import pRetry, { AbortError } from 'p-retry';
import type { Logger } from '../lib/logger.js';
import { silentLogger } from '../lib/logger.js';
import { httpStatus } from './client.js';

export interface RetryOptions {
  logger?: Logger;
  /** Retries for 5xx, 429 and network errors (never for other 4xx). Default 2. */
  retries?: number;
  /** First retry delay in ms (doubles). Default 500. */
  retryDelayMs?: number;
}

/**
 * One GitHub REST call with bounded retries: 5xx, 429 and network errors are retried with
 * doubling delays, every other 4xx fails at once (a retry cannot fix a 404 or a 422).
 */
export async function withRetry<T>(label: string, fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const logger = opts.logger ?? silentLogger;
  return pRetry(
    async () => {
      try {
        return await fn();
      } catch (error) {
        const status = httpStatus(error);
        if (status !== undefined && status < 500 && status !== 429) throw new AbortError(error as Error);
        throw error;
      }
    },
    {
      retries: opts.retries ?? 2,
      minTimeout: opts.retryDelayMs ?? 500,
      factor: 2,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0)
          logger.info(`${label}: attempt ${attemptNumber} failed (${error.message}); retrying`);
      },
    },
  );
}
