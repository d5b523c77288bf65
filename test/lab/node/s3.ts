/**
 * SIMULATION of RKE2's etcd S3 client (rke2-facts.md §1.3, §2.4, §8; k3s-io/k3s
 * pkg/etcd/s3/s3.go): keys `<folder>/<file>`, user metadata `<program>-cluster-id/-node-name`,
 * a client is only created after `BucketExists` succeeded ("bucket X does not exist",
 * "failed to test for existence of bucket X: ..."), every call bounded by `etcd-s3-timeout`
 * (default 5m0s). RKE2 uses minio-go; the lab uses the AWS SDK with checksums WHEN_REQUIRED
 * (s3rver otherwise stores aws-chunked framing - toolchain-notes "S3"), path-style, plain HTTP
 * when `etcd-s3-insecure`, and words its errors as Go/minio-go does: `Put "<url>": dial tcp
 * <host>: connect: connection refused`, `... context deadline exceeded`, the S3 error message.
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
  /** etcd-s3-timeout in ms. */
  timeoutMs: number;
  retention: number;
}

/** Go duration (`5m0s`, `30s`, `1m30s`, `500ms`) in ms. */
export function goDurationMs(text: string, fallbackMs: number): number {
  if (!text) return fallbackMs;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(re)) {
    matched = true;
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
  }
  return matched ? total : fallbackMs;
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
    timeoutMs: goDurationMs(cfgString(cfg, 'etcd-s3-timeout'), 5 * 60_000),
    retention: Number(cfgString(cfg, 'etcd-s3-retention', cfgString(cfg, 'etcd-snapshot-retention', '5'))),
  };
}

export function objectKey(s: S3Settings, file: string): string {
  return s.folder ? `${s.folder.replace(/\/+$/, '')}/${file}` : file;
}

function baseUrl(s: S3Settings): string {
  return `${s.insecure ? 'http' : 'https'}://${s.endpoint}`;
}

async function client(s: S3Settings) {
  const { S3Client } = await loadS3Sdk();
  return new S3Client({
    endpoint: baseUrl(s),
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  cause?: { code?: string };
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

/** An S3 error worded as minio-go/Go's net/http word it. */
export function describeS3Error(error: unknown, s: S3Settings, method: string, path: string): string {
  const e = error as SdkError;
  const url = `${baseUrl(s)}/${path}`;
  const code = e.code ?? e.cause?.code;
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || code === 'ABORT_ERR')
    return `${method} "${url}": context deadline exceeded`;
  if (code === 'ECONNREFUSED')
    return `${method} "${url}": dial tcp ${s.endpoint}: connect: connection refused`;
  if (code === 'ECONNRESET')
    return `${method} "${url}": read tcp ${s.endpoint}: read: connection reset by peer`;
  if (e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket') return 'The specified bucket does not exist';
  if (e.name === 'NotFound' && e.$metadata?.httpStatusCode === 404) return 'Not Found';
  return e.message ?? String(error);
}

function timeout(s: S3Settings): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(s.timeoutMs) };
}

/**
 * minio-go BucketExists as K3s GetClient uses it: a 404 means "does not exist", anything else
 * is an error.
 */
export async function checkBucket(s: S3Settings): Promise<void> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  try {
    await c.send(new sdk.HeadBucketCommand({ Bucket: s.bucket }), timeout(s));
  } catch (error) {
    const status = (error as SdkError).$metadata?.httpStatusCode;
    if (status === 404) throw new Error(`bucket ${s.bucket} does not exist`, { cause: error });
    // A HEAD answer has no body: minio-go turns a 403 into "Access Denied."
    // (minio/minio-go api-error-response.go httpRespToErrorResponse).
    const text = status === 403 ? 'Access Denied.' : describeS3Error(error, s, 'Head', `${s.bucket}/`);
    throw new Error(`failed to test for existence of bucket ${s.bucket}: ${text}`, { cause: error });
  } finally {
    c.destroy();
  }
}

export async function upload(s: S3Settings, file: string, path: string, nodeName: string): Promise<number> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  const body = readFileSync(path);
  try {
    await c.send(
      new sdk.PutObjectCommand({
        Bucket: s.bucket,
        Key: objectKey(s, file),
        Body: body,
        ContentType: file.endsWith('.zip') ? 'application/zip' : 'application/octet-stream',
        Metadata: { 'rke2-node-name': nodeName, 'rke2-cluster-id': 'lab' },
      }),
      timeout(s),
    );
    return body.length;
  } catch (error) {
    throw new Error(describeS3Error(error, s, 'Put', `${s.bucket}/${objectKey(s, file)}`), { cause: error });
  } finally {
    c.destroy();
  }
}

export async function download(s: S3Settings, file: string, dest: string): Promise<void> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  try {
    const r = await c.send(
      new sdk.GetObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }),
      timeout(s),
    );
    const bytes = await r.Body!.transformToByteArray();
    writeFileSync(dest, bytes);
  } catch (error) {
    const e = error as SdkError;
    if (e.name === 'NoSuchKey') throw new Error('The specified key does not exist.', { cause: error });
    throw new Error(describeS3Error(error, s, 'Get', `${s.bucket}/${objectKey(s, file)}`), { cause: error });
  } finally {
    c.destroy();
  }
}

export interface S3Object {
  file: string;
  key: string;
  size: number;
  lastModified: Date;
  nodeName: string;
}

/** Snapshots under the folder (not `.metadata/`); errors as minio-go words them. */
export async function list(s: S3Settings, prefix = ''): Promise<S3Object[]> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  const base = s.folder ? `${s.folder.replace(/\/+$/, '')}/` : '';
  const out: S3Object[] = [];
  let token: string | undefined;
  try {
    do {
      const r = await c.send(
        new sdk.ListObjectsV2Command({
          Bucket: s.bucket,
          Prefix: `${base}${prefix}`,
          ContinuationToken: token,
        }),
        timeout(s),
      );
      for (const o of r.Contents ?? []) {
        const rest = (o.Key ?? '').slice(base.length);
        if (!rest || rest.includes('/')) continue; // .metadata/ and deeper are not snapshots
        let node = '';
        try {
          const h = await c.send(new sdk.HeadObjectCommand({ Bucket: s.bucket, Key: o.Key }), timeout(s));
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
  } catch (error) {
    throw new Error(describeS3Error(error, s, 'Get', `${s.bucket}/?list-type=2&prefix=${base}${prefix}`), {
      cause: error,
    });
  } finally {
    c.destroy();
  }
  return out;
}

/** true when it existed and was deleted; throws on an S3 error other than "not found". */
export async function remove(s: S3Settings, file: string): Promise<boolean> {
  const sdk = await loadS3Sdk();
  const c = await client(s);
  try {
    try {
      await c.send(new sdk.HeadObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }), timeout(s));
    } catch (error) {
      if ((error as SdkError).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
    await c.send(new sdk.DeleteObjectCommand({ Bucket: s.bucket, Key: objectKey(s, file) }), timeout(s));
    return true;
  } catch (error) {
    throw new Error(describeS3Error(error, s, 'Delete', `${s.bucket}/${objectKey(s, file)}`), {
      cause: error,
    });
  } finally {
    c.destroy();
  }
}
