export * from './types.js';
export * from './errors.js';
export * from './keys.js';
export * from './hostkeys.js';
export * from './connection.js';
export * from './fanout.js';
export * from './pool.js';
export * from './access.js';
