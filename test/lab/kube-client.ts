/**
 * A minimal Kubernetes REST client (client-certificate auth) used by the lab's simulated
 * kubelet/node services, the scenarios and the Velero lab controller. It talks to the real
 * kube-apiserver; nothing here fakes API behaviour. (Tests and operators use real kubectl.)
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';

export interface KubeAuth {
  ca: string;
  cert: string;
  key: string;
}

export function authFromFiles(caPath: string, certPath: string, keyPath: string): KubeAuth {
  return {
    ca: readFileSync(caPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
  };
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class KubeClient {
  constructor(
    readonly servers: string[],
    private readonly auth: KubeAuth,
    private readonly timeoutMs = 5000,
  ) {}

  /** Tries each server in turn (like kubectl against a list of masters) until one answers. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    let lastError: unknown = new Error('no API server');
    for (const server of this.servers) {
      try {
        return await this.callOne<T>(server, method, path, body, contentType);
      } catch (error) {
        if (error instanceof KubeError) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  private callOne<T>(
    server: string,
    method: string,
    path: string,
    body: unknown,
    contentType: string,
  ): Promise<T> {
    const url = new URL(path, server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.auth.ca,
          cert: this.auth.cert,
          key: this.auth.key,
          timeout: this.timeoutMs,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : {}) as T);
              } catch {
                resolve(text as T);
              }
            } else {
              reject(
                new KubeError(status, `${method} ${url.pathname}: HTTP ${status} ${text.slice(0, 300)}`),
              );
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.href}: timeout`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  async getOrNull<T = unknown>(path: string): Promise<T | null> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return null;
      throw error;
    }
  }

  /** Create, or do nothing when it exists already. */
  async ensure(collectionPath: string, object: object): Promise<void> {
    try {
      await this.call('POST', collectionPath, object);
    } catch (error) {
      if (!(error instanceof KubeError && error.status === 409)) throw error;
    }
  }

  mergePatch<T = unknown>(path: string, patch: unknown): Promise<T> {
    return this.call<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  async delete(path: string): Promise<void> {
    try {
      await this.call('DELETE', path);
    } catch (error) {
      if (!(error instanceof KubeError && error.status === 404)) throw error;
    }
  }

  async ready(): Promise<boolean> {
    try {
      const text = await this.call<string>('GET', '/readyz');
      return String(text).trim() === 'ok';
    } catch {
      return false;
    }
  }
}
