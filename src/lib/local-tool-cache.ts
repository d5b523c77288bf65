import { execFile } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

/**
 * The `@actions/tool-cache` calls the toolkit makes, for the CLI (which must not load the
 * runner toolkit): downloads with fetch, unpacks with the system's tar/unzip, and caches under
 * `$RKE2OPS_TOOL_CACHE` or `~/.cache/rke2-ops/tool-cache/<tool>/<version>/<arch>` with a
 * `.complete` marker, the layout the runner's tool cache uses. Verification (checksums) stays
 * with the caller, as with the real tool cache.
 */
const exec = promisify(execFile);

export function localToolCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.RKE2OPS_TOOL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rke2-ops', 'tool-cache')
  );
}

export function localToolCache(root = localToolCacheRoot()) {
  const dirOf = (tool: string, version: string, arch: string = process.arch) =>
    join(root, tool, version, arch);
  const scratch = () => mkdtemp(join(tmpdir(), 'rke2ops-tc-'));
  return {
    find(tool: string, version: string, arch?: string): string {
      const dir = dirOf(tool, version, arch);
      return existsSync(`${dir}.complete`) ? dir : '';
    },
    async downloadTool(url: string, dest?: string): Promise<string> {
      const r = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(10 * 60_000) });
      if (!r.ok || !r.body) throw new Error(`download of ${url} failed: HTTP ${r.status}`);
      const file = dest ?? join(await scratch(), 'download');
      await pipeline(Readable.fromWeb(r.body as never), createWriteStream(file));
      return file;
    },
    async extractTar(file: string, dest?: string): Promise<string> {
      const dir = dest ?? (await scratch());
      await mkdir(dir, { recursive: true });
      await exec('tar', ['-xzf', file, '-C', dir]);
      return dir;
    },
    async extractZip(file: string, dest?: string): Promise<string> {
      const dir = dest ?? (await scratch());
      await mkdir(dir, { recursive: true });
      await exec('unzip', ['-q', '-o', file, '-d', dir]);
      return dir;
    },
    async cacheDir(source: string, tool: string, version: string, arch?: string): Promise<string> {
      const dir = dirOf(tool, version, arch);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      for (const entry of await readdir(source))
        await cp(join(source, entry), join(dir, entry), { recursive: true });
      await writeFile(`${dir}.complete`, '');
      return dir;
    },
  };
}
