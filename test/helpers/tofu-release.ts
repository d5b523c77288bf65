/**
 * An OpenTofu release, packaged the way OpenTofu publishes one, served from 127.0.0.1:
 *   /v<version>/tofu_<version>_linux_amd64.zip   (tofu, LICENSE, README.md, CHANGELOG.md)
 *   /v<version>/tofu_<version>_SHA256SUMS        (`<sha256>  <file>` per archive)
 * The archive holds the Go-built tofu of this machine. `tamper()` swaps the served archive for
 * a different one while SHA256SUMS keeps the genuine checksum. Every request is logged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateRawSync } from 'node:zlib';

interface ZipEntry {
  name: string;
  data: Buffer;
  mode: number;
}

/** A standard ZIP (deflate, Unix permissions kept, so `unzip` restores the executable bit). */
export function zipFiles(entries: ZipEntry[], date = new Date('2026-04-01T12:00:00Z')): Buffer {
  const dosTime =
    ((date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1)) & 0xffff;
  const dosDate =
    (((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate()) & 0xffff;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const packed = deflateRawSync(entry.data, { level: 1 });
    const crc = crc32(entry.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: external attributes carry the mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, end]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface ReleaseFiles {
  version: string;
  archiveName: string;
  archive: Buffer;
  sums: string;
}

/** tofu_<v>_linux_amd64.zip around `binary`, and a SHA256SUMS that lists it among the others. */
export function packageTofuRelease(binary: string, version: string): ReleaseFiles {
  const archiveName = `tofu_${version}_linux_amd64.zip`;
  const archive = zipFiles([
    { name: 'CHANGELOG.md', data: Buffer.from(`## ${version}\n`), mode: 0o644 },
    { name: 'LICENSE', data: Buffer.from('Mozilla Public License Version 2.0\n'), mode: 0o644 },
    { name: 'README.md', data: Buffer.from('# OpenTofu\n'), mode: 0o644 },
    { name: 'tofu', data: readFileSync(binary), mode: 0o755 },
  ]);
  // The real file lists every platform's archive; ours are placeholders except linux_amd64.
  const others = ['darwin_amd64', 'darwin_arm64', 'linux_arm64', 'windows_amd64'].map(
    (p) => `${sha256(Buffer.from(p))}  tofu_${version}_${p}.zip`,
  );
  const sums =
    [...others.slice(0, 2), `${sha256(archive)}  ${archiveName}`, ...others.slice(2)].join('\n') + '\n';
  return { version, archiveName, archive, sums };
}

export interface ReleaseServer {
  /** Base URL for download-base-url. */
  url: string;
  requests: string[];
  /** Serve a different archive under the same name (SHA256SUMS keeps the genuine hash). */
  tamper(replacement?: Buffer): void;
  close(): Promise<void>;
}

export async function startReleaseServer(release: ReleaseFiles): Promise<ReleaseServer> {
  const requests: string[] = [];
  let archive = release.archive;
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const files: Record<string, Buffer> = {
      [`/v${release.version}/${release.archiveName}`]: archive,
      [`/v${release.version}/tofu_${release.version}_SHA256SUMS`]: Buffer.from(release.sums),
    };
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end('Not Found');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    tamper: (replacement) => {
      if (replacement) archive = replacement;
      else {
        // One flipped byte inside the compressed binary: still a ZIP, not the genuine one.
        const copy = Buffer.from(release.archive);
        const at = Math.floor(copy.length / 2);
        copy[at] = copy[at]! ^ 0xff;
        archive = copy;
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
