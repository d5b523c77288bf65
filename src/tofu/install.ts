import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, readFile, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../lib/logger.js';

/**
 * Installs a pinned OpenTofu release the way its releases are published:
 *   <base>/v<version>/tofu_<version>_<os>_<arch>.zip
 *   <base>/v<version>/tofu_<version>_SHA256SUMS
 * The archive's sha256 must equal its SHA256SUMS line before anything is unpacked; the
 * unpacked binary must report the requested version; only then is it put into the tool cache
 * (keyed by version and arch), where the next install finds it without a download. A `tofu`
 * already on PATH at exactly the requested version is used as it is.
 *
 * Trust: the checksum file comes from the same base URL as the archive, so this proves an
 * intact download, not who built it (the signature over SHA256SUMS is not checked, like
 * opentofu/setup-opentofu). Pin `download-base-url` to a source you trust.
 */
export const DEFAULT_DOWNLOAD_BASE_URL = 'https://github.com/opentofu/opentofu/releases/download';

/** The `@actions/tool-cache` functions used (injected: the action passes the real module). */
export interface ToolCache {
  find(tool: string, version: string, arch?: string): string;
  downloadTool(url: string, dest?: string): Promise<string>;
  extractZip(file: string, dest?: string): Promise<string>;
  cacheDir(dir: string, tool: string, version: string, arch?: string): Promise<string>;
}

export interface InstallRequest {
  version: string;
  baseUrl: string;
}

export interface InstallDeps {
  toolCache: ToolCache;
  logger: Logger;
  /** Directories searched for a `tofu` already installed (default: PATH). */
  path?: string;
  /** Platform override for tests; default this process's. */
  platform?: { os: string; arch: string };
  /** `tofu version -json` of a binary (injectable; default runs it). */
  probeVersion?: (binary: string) => Promise<string | undefined>;
}

export interface Installed {
  /** Absolute path of the tofu binary. */
  binary: string;
  /** Its directory (added to PATH for later steps by the action). */
  dir: string;
  version: string;
  source: 'path' | 'cache' | 'download';
  /** sha256 of the verified archive (downloads only). */
  archiveSha256?: string;
}

export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

const exec = promisify(execFile);

export async function tofuVersionOf(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec(binary, ['version', '-json'], { timeout: 30_000 });
    const parsed = JSON.parse(stdout) as { terraform_version?: unknown };
    return typeof parsed.terraform_version === 'string' ? parsed.terraform_version : undefined;
  } catch {
    return undefined;
  }
}

export function releasePlatform(
  platform = process.platform,
  arch = process.arch,
): { os: string; arch: string } {
  const os = { linux: 'linux', darwin: 'darwin', freebsd: 'freebsd' }[platform as string];
  const a = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' }[arch as string];
  if (!os || !a) throw new Error(`no OpenTofu release for ${platform}/${arch}`);
  return { os, arch: a };
}

export function releaseFiles(version: string, platform: { os: string; arch: string }) {
  return {
    archive: `tofu_${version}_${platform.os}_${platform.arch}.zip`,
    checksums: `tofu_${version}_SHA256SUMS`,
  };
}

/** The expected sha256 of `file` from a SHA256SUMS text (`<hex>  <name>` lines). */
export function checksumFor(sums: string, file: string): string | undefined {
  for (const line of sums.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1]!.toLowerCase();
  }
  return undefined;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function findOnPath(path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'tofu');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export async function installTofu(request: InstallRequest, deps: InstallDeps): Promise<Installed> {
  const { version } = request;
  const { toolCache: tc, logger } = deps;
  const probe = deps.probeVersion ?? tofuVersionOf;
  const platform = deps.platform ?? releasePlatform();

  const onPath = findOnPath(deps.path ?? process.env.PATH);
  if (onPath) {
    const found = await probe(onPath);
    if (found === version) {
      logger.info(`tofu ${version} is on PATH (${onPath}): using it`);
      return { binary: onPath, dir: join(onPath, '..'), version, source: 'path' };
    }
    logger.info(`tofu on PATH (${onPath}) is ${found ?? 'unknown'}, not ${version}: installing ${version}`);
  }

  const cached = tc.find('tofu', version, platform.arch);
  if (cached && existsSync(join(cached, 'tofu'))) {
    logger.info(`tofu ${version} found in the tool cache (${cached})`);
    return { binary: join(cached, 'tofu'), dir: cached, version, source: 'cache' };
  }

  const base = request.baseUrl.replace(/\/+$/, '');
  const files = releaseFiles(version, platform);
  const url = (name: string) => `${base}/v${version}/${name}`;
  logger.info(`downloading ${url(files.archive)}`);
  const sumsPath = await tc.downloadTool(url(files.checksums));
  const expected = checksumFor(await readFile(sumsPath, 'utf8'), files.archive);
  await rm(sumsPath, { force: true });
  if (!expected)
    throw new ChecksumError(`${files.checksums} has no line for ${files.archive}: refusing to install`);
  const archive = await tc.downloadTool(url(files.archive));
  const actual = await sha256File(archive);
  if (actual !== expected) {
    await rm(archive, { force: true });
    throw new ChecksumError(
      `${files.archive}: sha256 ${actual} does not match ${expected} from ${files.checksums}; ` +
        'refusing to install a corrupted or tampered archive',
    );
  }
  logger.info(`${files.archive}: sha256 ${actual} verified against ${files.checksums}`);
  const dir = await tc.extractZip(archive);
  await rm(archive, { force: true });
  const binary = join(dir, 'tofu');
  if (!existsSync(binary)) throw new Error(`${files.archive} holds no 'tofu' binary`);
  await chmod(binary, 0o755);
  const reported = await probe(binary);
  if (reported !== version)
    throw new Error(
      `${files.archive} unpacked a tofu that reports version ${reported ?? 'nothing'}, not ${version}`,
    );
  const cachedDir = await tc.cacheDir(dir, 'tofu', version, platform.arch);
  await rm(dir, { recursive: true, force: true });
  return {
    binary: join(cachedDir, 'tofu'),
    dir: cachedDir,
    version,
    source: 'download',
    archiveSha256: actual,
  };
}
