import pLimit from 'p-limit';
import { errorMessage } from '../lib/errors.js';

export type HostResult<T> =
  | { host: string; ok: true; value: T; durationMs: number }
  | { host: string; ok: false; error: string; durationMs: number };

export interface FanOutOptions {
  /** At most this many hosts in flight (default 10). */
  concurrency?: number;
  /** Stop starting new hosts after the first failure (default false: every host gets a result). */
  failFast?: boolean;
}

/**
 * Runs `fn` for every item with bounded concurrency and returns one result per item, in input
 * order. A failure on one host never hides the others' results.
 */
export async function fanOut<I extends { name: string }, T>(
  items: readonly I[],
  fn: (item: I) => Promise<T>,
  options: FanOutOptions = {},
): Promise<HostResult<T>[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? 10));
  let failed = false;
  return Promise.all(
    items.map((item) =>
      limit(async (): Promise<HostResult<T>> => {
        const started = Date.now();
        if (failed && options.failFast) {
          return { host: item.name, ok: false, error: 'skipped after an earlier failure', durationMs: 0 };
        }
        try {
          const value = await fn(item);
          return { host: item.name, ok: true, value, durationMs: Date.now() - started };
        } catch (error) {
          failed = true;
          return { host: item.name, ok: false, error: errorMessage(error), durationMs: Date.now() - started };
        }
      }),
    ),
  );
}
