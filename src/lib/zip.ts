import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';

/**
 * Extracts the single file of a ZIP archive, streaming (a snapshot can be gigabytes): RKE2's
 * `etcd-snapshot-compress` writes `<snapshot>.zip` holding one entry (K3s snapshot.go uses Go's
 * archive/zip: deflate, sizes in the central directory, ZIP64 when large). The CRC-32 of the
 * inflated bytes must match the archive's, so a damaged archive fails here.
 */
export class ZipError extends Error {
  override name = 'ZipError';
}

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

async function readEntries(path: string): Promise<Entry[]> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--)
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    if (at < 0) throw new ZipError('not a ZIP archive (no end of central directory)');
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (at >= 20 && tail.readUInt32LE(at - 20) === EOCD64_LOCATOR) {
      const eocd64At = Number(tail.readBigUInt64LE(at - 20 + 8));
      const rec = Buffer.alloc(56);
      await fh.read(rec, 0, 56, eocd64At);
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: Entry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (cd.readUInt32LE(p) !== CENTRAL) throw new ZipError('corrupt central directory');
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      // ZIP64 extra field (0x0001): the 0xFFFFFFFF values, in this order.
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === 0xffffffff) {
            uncompressed = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      entries.push({ name, method, crc, compressedSize, size: uncompressed, localHeaderOffset });
      p = end + commentLen;
    }
    // Where the data starts: after the local header (its name/extra lengths may differ).
    for (const entry of entries) {
      const lh = Buffer.alloc(30);
      await fh.read(lh, 0, 30, entry.localHeaderOffset);
      if (lh.readUInt32LE(0) !== LOCAL) throw new ZipError(`corrupt local header for ${entry.name}`);
      entry.localHeaderOffset += 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** Extracts the archive's only file entry to `dest`; returns its name and size. */
export async function extractSingleFile(
  zipPath: string,
  dest: string,
): Promise<{ name: string; size: number }> {
  const files = (await readEntries(zipPath)).filter((e) => !e.name.endsWith('/'));
  if (files.length !== 1) throw new ZipError(`expected one file in the archive, found ${files.length}`);
  const entry = files[0]!;
  if (entry.method !== 0 && entry.method !== 8)
    throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _e, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const source = createReadStream(zipPath, {
    start: entry.localHeaderOffset,
    end: entry.localHeaderOffset + entry.compressedSize - 1,
  });
  try {
    if (entry.compressedSize === 0) await pipeline(async function* () {}, check, createWriteStream(dest));
    else if (entry.method === 8) await pipeline(source, createInflateRaw(), check, createWriteStream(dest));
    else await pipeline(source, check, createWriteStream(dest));
  } catch (error) {
    throw new ZipError(`${entry.name}: ${(error as Error).message}`);
  }
  if (size !== entry.size || crc >>> 0 !== entry.crc >>> 0)
    throw new ZipError(
      `${entry.name}: the extracted data does not match the archive's size/CRC-32 (damaged archive)`,
    );
  return { name: entry.name, size };
}
