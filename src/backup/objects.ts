import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from './config.js';

/**
 * The little of S3 the freshness check needs, as a parameter of the core (the action, the CLI
 * and the tests share it; a test can hand in anything that lists and reads).
 */
export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface ObjectStore {
  /** Every object under `prefix` (all pages). */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  getText(bucket: string, key: string): Promise<string>;
}

/** An S3 client for the settings: path-style for a custom endpoint (MinIO, Hetzner, the lab). */
export function s3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    ...(s.endpoint ? { endpoint: s.endpoint, forcePathStyle: true } : {}),
    // A store that does not answer must fail the check in seconds, not hang the schedule.
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 5_000 },
    maxAttempts: 3,
  });
}

export function s3ObjectStore(client: S3Client): ObjectStore {
  return {
    async list(bucket, prefix) {
      const out: StoredObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? [])
          if (o.Key)
            out.push({
              key: o.Key,
              size: o.Size ?? 0,
              ...(o.LastModified ? { lastModified: o.LastModified } : {}),
            });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async getText(bucket, key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await r.Body?.transformToString('utf8')) ?? '';
    },
  };
}
