import { inertText } from '../lib/inert.js';
import { errorMessage } from '../lib/errors.js';

/**
 * What went wrong talking to S3, in terms an operator acts on. Messages name the endpoint,
 * bucket and key (never a credential: the SDK's errors carry none, and callers redact anyway).
 */
export type S3FailureKind =
  /** The object (key) does not exist. */
  | 'not-found'
  /** The bucket does not exist. */
  | 'no-bucket'
  /** 401/403: the key is unknown, revoked, or not allowed on this bucket. */
  | 'access-denied'
  /** Refused, reset, DNS: the endpoint cannot be reached. */
  | 'unreachable'
  /** No answer within the request timeout (a black-holed endpoint, a stalled transfer). */
  | 'timeout'
  | 'error';

export class S3Error extends Error {
  override name = 'S3Error';
  constructor(
    readonly kind: S3FailureKind,
    message: string,
    /** HTTP status when S3 answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  cause?: { code?: string };
  $metadata?: { httpStatusCode?: number };
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Classifies an SDK (or network) error for `what` (e.g. `HEAD s3://b/k at https://host`). */
export function classifyS3Error(error: unknown, what: string): S3Error {
  if (error instanceof S3Error) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.cause?.code;
  const name = e.name ?? e.Code ?? '';
  const detail = inertText(errorMessage(error), 300);
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ABORT_ERR')
    return new S3Error('timeout', `${what}: no answer in time (${detail})`);
  if (code && NETWORK.has(code)) return new S3Error('unreachable', `${what}: cannot connect (${code})`);
  if (name === 'NoSuchBucket') return new S3Error('no-bucket', `${what}: the bucket does not exist`, status);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404)
    return new S3Error('not-found', `${what}: no such object`, status);
  if (
    status === 401 ||
    status === 403 ||
    ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden'].includes(name)
  ) {
    const why = name && !/^\d+$/.test(name) && name !== 'Forbidden' ? `${name}: ` : '';
    return new S3Error(
      'access-denied',
      `${what}: access denied (${why}HTTP ${status ?? 403}) - check s3-access-key / s3-secret-key and the key's rights on the bucket`,
      status,
    );
  }
  return new S3Error('error', `${what}: ${detail}${status ? ` (HTTP ${status})` : ''}`, status);
}
