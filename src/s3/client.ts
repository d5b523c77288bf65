import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { SecretRegistry } from '../lib/secrets.js';
import { classifyS3Error, S3Error } from './errors.js';
import { endpointUrl, type S3Settings } from './settings.js';

export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 60_000;

export interface ObjectHead {
  key: string;
  size: number;
  lastModified: Date | null;
  contentType?: string;
  /** x-amz-meta-* (RKE2 sets `<program>-node-name`, `-cluster-id`, `-token-hash`). */
  metadata: Record<string, string>;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date | null;
}

export interface DownloadResult {
  size: number;
  sha256: string;
  /** Where the bytes were written, when a destination was given. */
  path?: string;
}

/**
 * The S3 operations the toolkit needs (head/get/put/list/delete), with a client set up the way
 * Hetzner Object Storage (Ceph) needs it (rke2-facts.md §6, toolchain-notes "S3"): path-style
 * addressing, the location's region, and flexible checksums only WHEN_REQUIRED - with the SDK's
 * defaults a streamed upload is sent aws-chunked with a trailing CRC, which Ceph-based stores
 * reject and s3rver silently stores framing and all. Credentials are given explicitly (the SDK
 * never goes looking in the environment or ~/.aws) and registered as secrets by the caller.
 * Every failure is an `S3Error` naming the operation, bucket and key.
 */
export class SnapshotBucket {
  readonly client: S3Client;
  readonly url: string;

  constructor(
    readonly settings: S3Settings,
    secrets?: SecretRegistry,
  ) {
    secrets?.add(settings.credentials.secretAccessKey);
    secrets?.add(settings.credentials.accessKeyId);
    this.url = endpointUrl(settings);
    const timeout = settings.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS;
    this.client = new S3Client({
      endpoint: this.url,
      region: settings.region,
      forcePathStyle: true,
      credentials: {
        accessKeyId: settings.credentials.accessKeyId,
        secretAccessKey: settings.credentials.secretAccessKey,
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Two attempts: a blip is retried, a dead endpoint is not waited on for long.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: Math.min(timeout, 10_000), requestTimeout: timeout },
    });
  }

  /** `HEAD s3://bucket/key (endpoint)`: the words every error message starts with. */
  describe(op: string, key = ''): string {
    return `S3 ${op} s3://${this.settings.bucket}/${key} at ${this.url}`;
  }

  private signal(signal?: AbortSignal): { abortSignal: AbortSignal } {
    const limit = AbortSignal.timeout(this.settings.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS);
    return { abortSignal: signal ? AbortSignal.any([signal, limit]) : limit };
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectHead> {
    try {
      const r = await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }),
        this.signal(signal),
      );
      return {
        key,
        size: r.ContentLength ?? 0,
        lastModified: r.LastModified ?? null,
        ...(r.ContentType ? { contentType: r.ContentType } : {}),
        metadata: r.Metadata ?? {},
      };
    } catch (error) {
      throw classifyS3Error(error, this.describe('HEAD', key));
    }
  }

  /** HEAD that answers null for a missing object (other failures still throw). */
  async headOrNull(key: string, signal?: AbortSignal): Promise<ObjectHead | null> {
    try {
      return await this.head(key, signal);
    } catch (error) {
      if (error instanceof S3Error && error.kind === 'not-found') return null;
      throw error;
    }
  }

  /**
   * Streams an object through sha256 (and into `dest` when given): the runner never holds a
   * snapshot in memory, and one download serves both the checksum and a trial restore.
   * The stream is bounded by the request timeout between bytes, not for the whole transfer.
   */
  async download(key: string, dest?: string, signal?: AbortSignal): Promise<DownloadResult> {
    const what = this.describe('GET', key);
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      if (!r.Body) throw new S3Error('error', `${what}: empty answer`);
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      const body = r.Body as Readable;
      const sink = dest
        ? createWriteStream(dest, { mode: 0o600 })
        : new Writable({ write: (_c, _e, done) => done() });
      await pipeline(body, tap, sink, signal ? { signal } : {});
      return { size, sha256: hash.digest('hex'), ...(dest ? { path: dest } : {}) };
    } catch (error) {
      throw classifyS3Error(error, what);
    }
  }

  async getText(key: string, signal?: AbortSignal): Promise<string> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }),
        this.signal(signal),
      );
      return (await r.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      throw classifyS3Error(error, this.describe('GET', key));
    }
  }

  async put(key: string, body: string | Buffer, contentType: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentLength: Buffer.byteLength(body),
        }),
        this.signal(signal),
      );
    } catch (error) {
      throw classifyS3Error(error, this.describe('PUT', key));
    }
  }

  /** Every object under `prefix` (all pages). */
  async list(prefix: string, signal?: AbortSignal): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
          this.signal(signal),
        );
        for (const o of r.Contents ?? [])
          if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? null });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw classifyS3Error(error, this.describe('LIST', prefix));
    }
    return out;
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }),
        this.signal(signal),
      );
    } catch (error) {
      throw classifyS3Error(error, this.describe('DELETE', key));
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** What the core uses of a bucket (a fake in unit tests, SnapshotBucket everywhere else). */
export type SnapshotStore = Pick<
  SnapshotBucket,
  | 'settings'
  | 'url'
  | 'describe'
  | 'head'
  | 'headOrNull'
  | 'download'
  | 'getText'
  | 'put'
  | 'list'
  | 'delete'
  | 'close'
>;
