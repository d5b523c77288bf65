export * from './types.js';
export * from './backup.js';
export * from './run.js';
