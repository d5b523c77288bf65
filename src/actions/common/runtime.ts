import * as core from '@actions/core';
import type { Logger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { errorMessage } from '../../lib/errors.js';
import type { InputSource } from '../../lib/inputs.js';
import { inertLines } from '../../lib/inert.js';

/** What every action's main receives: the runner's I/O behind the core's interfaces. */
export interface ActionContext {
  logger: Logger;
  secrets: SecretRegistry;
  getInput: InputSource;
}

/**
 * The core's Logger on the runner. `core.info` writes its text as is, so a line of it could be
 * a workflow command: every message is made inert here, whatever the core already did.
 */
export const actionLogger: Logger = {
  info: (m) => core.info(inertLines(m)),
  warning: (m) => core.warning(inertLines(m)),
  error: (m) => core.error(inertLines(m)),
  debug: (m) => core.debug(inertLines(m)),
  group: (title, fn) => core.group(inertLines(title), fn),
};

/**
 * Runs an action's `execute` with one error boundary; each action's `run()` (main.ts) is this
 * call and nothing else. Set `RKE2OPS_BUNDLE_CHECK=1` to only prove
 * the bundle loads (every import evaluated) - the build runs each bundle that way once.
 */
export async function runAction(name: string, execute: (ctx: ActionContext) => Promise<void>): Promise<void> {
  if (process.env.RKE2OPS_BUNDLE_CHECK === '1') {
    process.stdout.write(`bundle-ok ${name} on node ${process.version}\n`);
    return;
  }
  const secrets = new SecretRegistry((value) => core.setSecret(value));
  try {
    await execute({ logger: actionLogger, secrets, getInput: (n) => core.getInput(n) });
  } catch (error) {
    core.setFailed(inertLines(secrets.redact(errorMessage(error))));
  } finally {
    // Keep-alive timers of a half-closed SSH connection must not hold the job open; an
    // unref'd timer only fires if something else still keeps the event loop alive (so run()
    // stays callable in-process, e.g. by @github/local-action).
    setTimeout(() => process.exit(), 2000).unref();
  }
}
