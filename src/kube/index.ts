export * from './types.js';
export * from './probe.js';
export * from './probe-runner.js';
export * from './conditions.js';
export * from './readyz.js';
export * from './selector.js';
