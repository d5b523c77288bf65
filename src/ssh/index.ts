export * from './types.js';
export * from './hostkeys.js';
export * from './connection.js';
export * from './fanout.js';
export * from './pool.js';
