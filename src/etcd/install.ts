import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../lib/logger.js';

/**
 * Installs etcd's tools (etcdutl for `snapshot status` / `snapshot restore`, etcd to read the
 * restored data) from etcd's own release archive, as etcd publishes it (etcd-io/etcd
 * scripts/release.sh and build-release.sh):
 *   <base>/v<version>/etcd-v<version>-<os>-<arch>.tar.gz   (linux; darwin/windows: .zip)
 *   <base>/v<version>/SHA256SUMS                            (`shasum -a 256` of every archive)
 * holding `etcd-v<version>-<os>-<arch>/{etcd,etcdctl,etcdutl,...}`. The archive's sha256 must
 * equal its SHA256SUMS line before it is unpacked, the unpacked etcdutl must report the version,
 * and only then does it enter the tool cache (keyed by version and arch), where the next run
 * finds it without a download.
 *
 * Trust: SHA256SUMS comes from the same base URL as the archive, so this proves an intact
 * download, not who built it (etcd signs nothing that could be checked here). Point
 * `etcd-download-base-url` at a source you trust (a mirror of your own, say).
 */
export const DEFAULT_ETCD_VERSION = '3.6.16';
export const DEFAULT_ETCD_BASE_URL = 'https://github.com/etcd-io/etcd/releases/download';
export const ETCD_TOOL = 'etcd';

/** The `@actions/tool-cache` functions used: the action passes the real module, the CLI a local cache. */
export interface ToolCache {
  find(tool: string, version: string, arch?: string): string;
  downloadTool(url: string, dest?: string): Promise<string>;
  extractTar(file: string, dest?: string, flags?: string | string[]): Promise<string>;
  extractZip(file: string, dest?: string): Promise<string>;
  cacheDir(dir: string, tool: string, version: string, arch?: string): Promise<string>;
}

export interface EtcdTools {
  etcdutl: string;
  etcd: string;
  dir: string;
  version: string;
  source: 'cache' | 'download';
  archiveSha256?: string;
}

export class EtcdInstallError extends Error {
  override name = 'EtcdInstallError';
}

const exec = promisify(execFile);

export function etcdPlatform(platform = process.platform, arch = process.arch): { os: string; arch: string } {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'windows' }[platform as string];
  const a = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' }[arch as string];
  if (!os || !a) throw new EtcdInstallError(`etcd publishes no release for ${platform}/${arch}`);
  return { os, arch: a };
}

export function etcdReleaseFiles(version: string, p: { os: string; arch: string }) {
  const dir = `etcd-v${version}-${p.os}-${p.arch}`;
  return { dir, archive: `${dir}${p.os === 'linux' ? '.tar.gz' : '.zip'}`, checksums: 'SHA256SUMS' };
}

/** The sha256 of `file` in a SHA256SUMS text (`<hex>  <name>` lines, `*name` for binary mode). */
export function checksumFor(sums: string, file: string): string | undefined {
  for (const line of sums.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1]!.toLowerCase();
  }
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `etcdutl version` -> `3.6.16` (first line `etcdutl version: 3.6.16`). */
export async function etcdutlVersion(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec(binary, ['version'], { timeout: 30_000 });
    return /etcdutl version:\s*(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

export interface InstallEtcdRequest {
  version: string;
  baseUrl: string;
}

export interface InstallEtcdDeps {
  toolCache: ToolCache;
  logger: Logger;
  platform?: { os: string; arch: string };
}

export async function installEtcdTools(req: InstallEtcdRequest, deps: InstallEtcdDeps): Promise<EtcdTools> {
  const { toolCache: tc, logger } = deps;
  const platform = deps.platform ?? etcdPlatform();
  const exe = platform.os === 'windows' ? '.exe' : '';
  const tools = (dir: string) => ({
    etcdutl: join(dir, `etcdutl${exe}`),
    etcd: join(dir, `etcd${exe}`),
    dir,
  });

  const cached = tc.find(ETCD_TOOL, req.version, platform.arch);
  if (cached && existsSync(tools(cached).etcdutl) && existsSync(tools(cached).etcd)) {
    logger.info(`etcd ${req.version} tools found in the tool cache (${cached})`);
    return { ...tools(cached), version: req.version, source: 'cache' };
  }
  const base = req.baseUrl.replace(/\/+$/, '');
  const files = etcdReleaseFiles(req.version, platform);
  const url = (name: string) => `${base}/v${req.version}/${name}`;
  logger.info(`downloading ${url(files.archive)}`);
  const sumsPath = await tc.downloadTool(url(files.checksums));
  const expected = checksumFor(await readFile(sumsPath, 'utf8'), files.archive);
  await rm(sumsPath, { force: true });
  if (!expected)
    throw new EtcdInstallError(
      `${files.checksums} of etcd v${req.version} has no line for ${files.archive}: refusing to install`,
    );
  const archive = await tc.downloadTool(url(files.archive));
  const actual = await sha256File(archive);
  if (actual !== expected) {
    await rm(archive, { force: true });
    throw new EtcdInstallError(
      `${files.archive}: sha256 ${actual} does not match ${expected} from ${files.checksums}; refusing to install a corrupted or tampered archive`,
    );
  }
  logger.info(`${files.archive}: sha256 ${actual} verified against ${files.checksums}`);
  const extracted = files.archive.endsWith('.zip')
    ? await tc.extractZip(archive)
    : await tc.extractTar(archive);
  await rm(archive, { force: true });
  const dir = join(extracted, files.dir);
  const t = tools(dir);
  for (const bin of [t.etcdutl, t.etcd]) {
    if (!existsSync(bin))
      throw new EtcdInstallError(`${files.archive} holds no ${bin.slice(dir.length + 1)}`);
    await chmod(bin, 0o755);
  }
  const reported = await etcdutlVersion(t.etcdutl);
  if (reported !== req.version)
    throw new EtcdInstallError(
      `${files.archive} unpacked an etcdutl that reports version ${reported ?? 'nothing'}, not ${req.version}`,
    );
  const cachedDir = await tc.cacheDir(dir, ETCD_TOOL, req.version, platform.arch);
  await rm(extracted, { recursive: true, force: true });
  return { ...tools(cachedDir), version: req.version, source: 'download', archiveSha256: actual };
}
