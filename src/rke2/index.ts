export * from './paths.js';
export * from './names.js';
export * from './batch.js';
export * from './commands.js';
export * from './parse.js';
