export * from './settings.js';
export * from './errors.js';
export * from './client.js';
