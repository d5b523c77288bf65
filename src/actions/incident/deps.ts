import { systemClock, type Clock } from '../../lib/clock.js';
import { createGitHubClient } from '../common/github.js';

/** The incident action's side effects, injectable for tests. */
export interface IncidentActionDeps {
  clock: Clock;
  createGitHubClient: typeof createGitHubClient;
  env: Record<string, string | undefined>;
}

export const defaultDeps: IncidentActionDeps = {
  clock: systemClock,
  createGitHubClient,
  env: process.env,
};
