/**
 * The snapshot capability - and what rollback and the workflows reuse:
 *  - runSnapshot / runSave / runVerify / runList: the three modes (config from readSnapshotConfig);
 *  - resolveSnapshot, readMetadata, listMaster, listS3, buildCatalog, latestPreUpgradeOf: find a
 *    snapshot and its metadata (S3 first: it survives the master's disk);
 *  - localCheck, s3Check, restoreCheck, compareCounts: the verification levels on any snapshot;
 *  - the metadata format (snapshotMetadataSchema, parseMetadata, localMetadataPath);
 *  - selectForDeletion: retention of one prefix.
 */
export * from './config.js';
export * from './metadata.js';
export * from './types.js';
export * from './verify.js';
export * from './catalog.js';
export * from './retention.js';
export * from './facts.js';
export * from './run.js';
export { runSave } from './save.js';
export { runVerify, runList } from './verify-existing.js';
export { Session, TOOL_VERSION, type SnapshotDeps } from './session.js';
export { defaultSnapshotIo, type SnapshotIo } from './deps.js';
export { failureMessage, summaryMarkdown } from './report.js';
export { writeReportFile } from './report-file.js';
