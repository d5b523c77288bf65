/**
 * Bundles the node-side simulation, the Velero lab controller and the S3 server launcher with
 * esbuild (shipped with tsx) into the lab dir, so a node command starts as plain `node x.mjs`
 * in ~0.1 s. Imports of the AWS SDK are dynamic and split into their own chunks: only S3
 * commands load it.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { REPO } from './paths.js';

export async function bundleLab(outdir: string): Promise<{ node: string; controller: string; s3: string }> {
  await build({
    entryPoints: {
      'rke2-lab-node': join(REPO, 'test/lab/node/main.ts'),
      'velero-lab-controller': join(REPO, 'test/lab/velero-controller.ts'),
      's3-lab-server': join(REPO, 'test/lab/s3-server.ts'),
    },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Some CommonJS dependencies call require(): give ESM chunks one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  });
  return {
    node: join(outdir, 'rke2-lab-node.mjs'),
    controller: join(outdir, 'velero-lab-controller.mjs'),
    s3: join(outdir, 's3-lab-server.mjs'),
  };
}
