import * as tc from '@actions/tool-cache';
import { systemClock, type Clock } from '../../lib/clock.js';
import { createGitHubClient } from '../common/github.js';
import type { ToolCache } from '../../tofu/install.js';

/** The tofu action's side effects, injectable for tests. */
export interface TofuActionDeps {
  toolCache: ToolCache;
  clock: Clock;
  createGitHubClient: typeof createGitHubClient;
  env: Record<string, string | undefined>;
  cwd: () => string;
}

export const defaultDeps: TofuActionDeps = {
  toolCache: tc,
  clock: systemClock,
  createGitHubClient,
  env: process.env,
  cwd: () => process.cwd(),
};
