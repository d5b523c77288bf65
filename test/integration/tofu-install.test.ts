/**
 * Installing OpenTofu with @actions/tool-cache from a local release server that serves the
 * Go-built tofu packaged as OpenTofu packages its releases: checksum verified before use,
 * cached by version (the second install downloads nothing), a tampered archive refused and
 * never cached, a tofu on PATH at the requested version used as it is.
 */
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tc from '@actions/tool-cache';
import type { Logger } from '../../src/lib/logger.js';
import { installTofu, tofuVersionOf } from '../../src/tofu/install.js';
import { describeWithTofu, findTofu, type TofuTool } from '../helpers/tofu.js';
import { packageTofuRelease, startReleaseServer, type ReleaseServer } from '../helpers/tofu-release.js';

const tool = findTofu();
// Real tofu on a shared 2-core machine: seconds per step, more when others are busy.
jest.setTimeout(120_000);

describeWithTofu(tool)('installTofu', () => {
  const tofu = tool as TofuTool;
  const work = mkdtempSync(join(tmpdir(), 'rke2ops-tofu-install-'));
  const saved = { cache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP };
  const lines: string[] = [];
  const logger: Logger = {
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
  let server: ReleaseServer;
  const freshCache = (name: string) => {
    process.env.RUNNER_TOOL_CACHE = join(work, name);
    process.env.RUNNER_TEMP = join(work, `${name}-temp`);
  };
  const install = (version = tofu.version, path = '/nonexistent') =>
    installTofu({ version, baseUrl: server.url }, { toolCache: tc, logger, path });

  beforeAll(async () => {
    server = await startReleaseServer(packageTofuRelease(tofu.binary, tofu.version));
  });
  afterAll(async () => {
    await server.close();
    process.env.RUNNER_TOOL_CACHE = saved.cache;
    process.env.RUNNER_TEMP = saved.temp;
    rmSync(work, { recursive: true, force: true });
  });

  test('download, verify against SHA256SUMS, cache; the second install is a cache hit with no download', async () => {
    freshCache('cache-a');
    const first = await install();
    expect(first).toMatchObject({ source: 'download', version: tofu.version });
    expect(first.binary).toBe(join(process.env.RUNNER_TOOL_CACHE!, 'tofu', tofu.version, 'amd64', 'tofu'));
    expect(first.archiveSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await tofuVersionOf(first.binary)).toBe(tofu.version);
    expect(server.requests).toEqual([
      `/v${tofu.version}/tofu_${tofu.version}_SHA256SUMS`,
      `/v${tofu.version}/tofu_${tofu.version}_linux_amd64.zip`,
    ]);
    expect(lines.join('\n')).toContain(
      `sha256 ${first.archiveSha256} verified against tofu_${tofu.version}_SHA256SUMS`,
    );

    const second = await install();
    expect(second).toMatchObject({ source: 'cache', binary: first.binary });
    expect(server.requests).toHaveLength(2);
  });

  test('a tofu on PATH at the requested version is used, with no request at all', async () => {
    const before = server.requests.length;
    const found = await install(tofu.version, `/nonexistent:${dirname(tofu.binary)}`);
    expect(found).toMatchObject({ source: 'path', binary: join(dirname(tofu.binary), 'tofu') });
    expect(server.requests.length).toBe(before);
  });

  test('a tampered archive is refused, removed, and nothing is cached', async () => {
    freshCache('cache-b');
    server.tamper();
    try {
      await expect(install()).rejects.toThrow(
        new RegExp(
          `tofu_${tofu.version}_linux_amd64.zip: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} from tofu_${tofu.version}_SHA256SUMS; refusing to install a corrupted or tampered archive`,
        ),
      );
    } finally {
      server.tamper(packageTofuRelease(tofu.binary, tofu.version).archive);
    }
    expect(tc.find('tofu', tofu.version, 'amd64')).toBe('');
  });

  test('no SHA256SUMS line for the platform, or a binary of another version: refused, not cached', async () => {
    freshCache('cache-c');
    await expect(
      installTofu(
        { version: tofu.version, baseUrl: server.url },
        { toolCache: tc, logger, path: '/nonexistent', platform: { os: 'freebsd', arch: 'amd64' } },
      ),
    ).rejects.toThrow(
      `tofu_${tofu.version}_SHA256SUMS has no line for tofu_${tofu.version}_freebsd_amd64.zip: refusing to install`,
    );

    // A "1.11.5" release whose archive holds this 1.11.6 binary: the checksum is right, the version is not.
    const other = await startReleaseServer(packageTofuRelease(tofu.binary, '1.11.5'));
    try {
      await expect(
        installTofu(
          { version: '1.11.5', baseUrl: other.url },
          { toolCache: tc, logger, path: dirname(tofu.binary) },
        ),
      ).rejects.toThrow(
        `tofu_1.11.5_linux_amd64.zip unpacked a tofu that reports version ${tofu.version}, not 1.11.5`,
      );
      expect(lines.join('\n')).toContain(`is ${tofu.version}, not 1.11.5: installing 1.11.5`);
      expect(tc.find('tofu', '1.11.5', 'amd64')).toBe('');
    } finally {
      await other.close();
    }
  });
});
