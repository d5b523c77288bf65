import { inputOptional, type InputSource } from '../../lib/inputs.js';
import type { SecretRegistry } from '../../lib/secrets.js';
import { Inputs, parseTofuConfig, type TofuConfig } from '../../tofu/config.js';

export { Inputs };

export interface TofuActionConfig {
  tofu: TofuConfig;
  /** For the PR comment; registered as a secret as soon as it is read. */
  githubToken?: string;
}

/** The action's inputs: the core's config (same names as the CLI's flags) plus the token. */
export function getInputs(
  get: InputSource,
  secrets: SecretRegistry,
  env: { cwd: string; tempDir?: string },
): TofuActionConfig {
  const githubToken = inputOptional(get, Inputs.githubToken);
  secrets.add(githubToken);
  return { tofu: parseTofuConfig(get, env), ...(githubToken ? { githubToken } : {}) };
}
