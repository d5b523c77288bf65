/**
 * The real `tofu` for tests: from PATH, else from this checkout's `.tools/` (scripts/
 * setup-tools.sh tofu), with the CLI config that installs providers from the local mirror
 * only. Suites that need it skip with a printed reason when it is truly absent (CI installs
 * it); every tofu they start runs offline (proxies pointed at a closed port).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

export interface TofuTool {
  binary: string;
  version: string;
  /** Environment for tofu: mirror-only CLI config, no network. */
  env: Record<string, string>;
}

/** Proxies that go nowhere: tofu and providers cannot reach a registry (loopback is exempt). */
export const OFFLINE_ENV = {
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  NO_PROXY: '127.0.0.1,localhost',
  no_proxy: '127.0.0.1,localhost',
};

function candidates(): string[] {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'tofu'));
  return [...onPath, join(root, '.tools', 'bin', 'tofu')];
}

export function findTofu(): TofuTool | { missing: string } {
  const binary = candidates().find((p) => existsSync(p));
  if (!binary) return { missing: 'no tofu on PATH or in .tools/bin (run: bash scripts/setup-tools.sh tofu)' };
  // The checkout's mirror-only config first (what `source .tools/env` selects), else the
  // environment's own (a machine may point TF_CLI_CONFIG_FILE elsewhere).
  const config = [join(root, '.tools', 'tofu.tfrc'), process.env.TF_CLI_CONFIG_FILE ?? ''].find(
    (p) => p && existsSync(p),
  );
  if (!config)
    return { missing: 'no provider mirror config .tools/tofu.tfrc (run: bash scripts/setup-tools.sh tofu)' };
  let version: string;
  try {
    const out = execFileSync(binary, ['version', '-json'], {
      encoding: 'utf8',
      env: { ...process.env, TF_CLI_CONFIG_FILE: config },
    });
    version = (JSON.parse(out) as { terraform_version: string }).terraform_version;
  } catch (error) {
    return { missing: `${binary} does not run: ${(error as Error).message}` };
  }
  return { binary, version, env: { TF_CLI_CONFIG_FILE: config, TF_IN_AUTOMATION: '1', ...OFFLINE_ENV } };
}

/** `describe`, or `describe.skip` with the reason printed once. */
export function describeWithTofu(tool: TofuTool | { missing: string }): jest.Describe {
  if ('missing' in tool) {
    console.warn(`SKIPPED (tofu): ${tool.missing}`);
    return describe.skip;
  }
  return describe;
}

/** A fresh copy of a test configuration (test/tofu/<name>) or any directory, in a temp dir. */
export function copyConfig(source: string, into = mkdtempSync(join(tmpdir(), 'rke2ops-tofu-'))): string {
  const from = source.startsWith('/') ? source : join(root, 'test', 'tofu', source);
  const to = join(into, basename(source));
  cpSync(from, to, { recursive: true, filter: (p) => !/\/(\.terraform|terraform\.tfstate[^/]*)$/.test(p) });
  return to;
}

export function tofuSync(
  tool: TofuTool,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): string {
  return execFileSync(tool.binary, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...tool.env, ...env },
  });
}
