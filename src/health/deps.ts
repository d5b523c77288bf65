import { connect } from '../ssh/connection.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Connector } from '../kube/probe-runner.js';
import type { FetchLike } from './http.js';

/** The health check's side effects, injectable so tests can prove no connection is made. */
export interface HealthIo {
  connect: Connector;
  clock: Clock;
  fetch: FetchLike;
}

export const defaultHealthIo: HealthIo = { connect, clock: systemClock, fetch: (u, i) => fetch(u, i) };
