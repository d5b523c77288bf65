/**
 * SIMULATION of RKE2's etcd S3 client (rke2-facts.md §1.3, §2.4, §8): keys `<folder>/<file>`,
 * user metadata `<program>-cluster-id/-node-name`, bucket must exist. RKE2 uses minio-go; the
 * lab uses the AWS SDK with checksums WHEN_REQUIRED (s3rver otherwise stores aws-chunked
 * framing - toolchain-notes "S3"), path-style, plain HTTP when `etcd-s3-insecure`.
 */
import { loadS3Sdk } from '../aws-sdk.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { type RkeConfig, cfgString, cfgBool } from './common.js';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  folder: string;
  region: string;
  accessKey: string;
  secretKey: string;
  insecure: boolean;
}

export function s3Settings(cfg: RkeConfig): S3Settings {
  return {
    endpoint: cfgString(cfg, 'etcd-s3-endpoint', 's3.amazonaws.com'),
    bucket: cfgString(cfg, 'etcd-s3-bucket'),
    folder: cfgString(cfg, 'etcd-s3-folder'),
    region: cfgString(cfg, 'etcd-s3-region', 'us-east-1'),
    accessKey: cfgString(cfg, 'etcd-s3-access-key', process.env.AWS_ACCESS_KEY_ID ?? ''),
    secretKey: cfgString(cfg, 'etcd-s3-secret-key', process.env.AWS_SECRET_ACCESS_KEY ?? ''),
    insecure: cfgBool(cfg, 'etcd-s3-insecure'),
  };
}

export function objectKey(s: S3Settings, file: string): string {
  return s.folder ? `${s.folder.replace(/\/+$/, '')}/${file}` : file;
}

async function client(s: S3Settings) {
  const { S3Client } = await loadS3Sdk();
  return new S3Client({
    endpoint: `${s.insecure ? 'http' : 'https'}://${s.endpoint}`,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function checkBucket(s: S3Settings): Promise<void> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  try {
    await c.send(new sdk.HeadBucketCommand({ Bucket: s.bucket }));
  } catch {
    throw new Error(`bucket ${s.bucket} does not exist`);
  }
}

export async function upload(s: S3Settings, file: string, path: string, nodeName: string): Promise<void> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  await checkBucket(s);
  await c.send(
    new sdk.PutObjectCommand({
      Bucket: s.bucket,
      Key: objectKey(s, file),
      Body: readFileSync(path),
      ContentType: file.endsWith('.zip') ? 'application/zip' : 'application/octet-stream',
      Metadata: { 'rke2-node-name': nodeName, 'rke2-cluster-id': 'lab' },
    }),
  );
}

export async function download(s: S3Settings, file: string, dest: string): Promise<void> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  await checkBucket(s);
  const r = await c.send(new sdk.GetObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }));
  const bytes = await r.Body!.transformToByteArray();
  writeFileSync(dest, bytes);
}

export interface S3Object {
  file: string;
  key: string;
  size: number;
  lastModified: Date;
  nodeName: string;
}

export async function list(s: S3Settings): Promise<S3Object[]> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  const prefix = s.folder ? `${s.folder.replace(/\/+$/, '')}/` : '';
  const out: S3Object[] = [];
  let token: string | undefined;
  do {
    const r = await c.send(
      new sdk.ListObjectsV2Command({ Bucket: s.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) {
      const rest = (o.Key ?? '').slice(prefix.length);
      if (!rest || rest.includes('/')) continue; // .metadata/ and deeper are not snapshots
      let node = '';
      try {
        const h = await c.send(new sdk.HeadObjectCommand({ Bucket: s.bucket, Key: o.Key }));
        node = h.Metadata?.['rke2-node-name'] ?? '';
      } catch {
        // listed but gone: skip the metadata
      }
      out.push({
        file: rest,
        key: o.Key ?? '',
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? new Date(0),
        nodeName: node,
      });
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export async function remove(s: S3Settings, file: string): Promise<boolean> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  try {
    await c.send(new sdk.HeadObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }));
  } catch {
    return false;
  }
  await c.send(new sdk.DeleteObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }));
  return true;
}
