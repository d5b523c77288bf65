export * from './install.js';
export * from './trial-restore.js';
