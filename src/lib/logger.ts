import { inertLines } from './inert.js';

/** The logging surface the core uses; actions map it to @actions/core, the CLI to stderr. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs fn inside a collapsible group (a log group in Actions, an indented block in the CLI). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** Discards everything: for tests and library use. */
export const silentLogger: Logger = {
  info: () => {},
  warning: () => {},
  error: () => {},
  debug: () => {},
  group: (_title, fn) => fn(),
};

/**
 * Plain stderr logger for the CLI (stdout is kept for the result). Every message is made inert
 * on the way out: a CLI run in a workflow `run:` step must not emit a workflow command.
 */
export function consoleLogger(opts: { debug?: boolean; verbose?: boolean } = {}): Logger {
  const write = (prefix: string, message: string) =>
    process.stderr.write(`${prefix}${inertLines(message)}\n`);
  return {
    info: (m) => {
      if (opts.verbose !== false) write('', m);
    },
    warning: (m) => write('warning: ', m),
    error: (m) => write('error: ', m),
    debug: (m) => {
      if (opts.debug) write('debug: ', m);
    },
    async group(title, fn) {
      write('== ', title);
      return fn();
    },
  };
}
