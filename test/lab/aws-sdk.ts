/**
 * Loads @aws-sdk/client-s3 lazily (only S3 commands pay for it). Bundled by esbuild, the SDK's
 * CommonJS build arrives as the module's `default` export: accept both shapes.
 */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

export async function loadS3Sdk(): Promise<S3Sdk> {
  const mod = (await import('@aws-sdk/client-s3')) as S3Sdk & { default?: S3Sdk };
  return typeof mod.S3Client === 'function' ? mod : (mod.default as S3Sdk);
}
