export * from './install.js';
export * from './trial-restore.js';
export * from './release-input.js';
