/**
 * A minimal single-entry ZIP writer/reader (deflate), enough for RKE2's compressed etcd
 * snapshots (`<name>.zip` holding one file `<name>`, rke2-facts.md §1.1) and for reading them
 * back on restore. The archive is a standard ZIP: `unzip -l` lists it.
 */
import { deflateRawSync, inflateRawSync, crc32 } from 'node:zlib';

export function zipOne(entryName: string, data: Buffer, date = new Date()): Buffer {
  const name = Buffer.from(entryName, 'utf8');
  const packed = deflateRawSync(data);
  const crc = crc32(data) >>> 0;
  const dosTime = ((date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1)) & 0xffff;
  const dosDate =
    (((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate()) & 0xffff;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0, 6);
  local.writeUInt16LE(8, 8);
  local.writeUInt16LE(dosTime, 10);
  local.writeUInt16LE(dosDate, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(dosTime, 12);
  central.writeUInt16LE(dosDate, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(0o100644 * 65536, 38);
  central.writeUInt32LE(0, 42);
  const localLen = local.length + name.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(localLen, 16);
  return Buffer.concat([local, name, packed, central, name, end]);
}

/** Returns the first entry of a ZIP archive, checking its CRC; throws on anything malformed. */
export function unzipOne(zip: Buffer): { name: string; data: Buffer } {
  if (zip.length < 30 || zip.readUInt32LE(0) !== 0x04034b50) throw new Error('zip: not a valid zip file');
  const method = zip.readUInt16LE(8);
  const crc = zip.readUInt32LE(14);
  const packedSize = zip.readUInt32LE(18);
  const nameLen = zip.readUInt16LE(26);
  const extraLen = zip.readUInt16LE(28);
  const name = zip.subarray(30, 30 + nameLen).toString('utf8');
  const start = 30 + nameLen + extraLen;
  const packed = zip.subarray(start, start + packedSize);
  if (packed.length !== packedSize) throw new Error('zip: unexpected EOF');
  const data = method === 0 ? Buffer.from(packed) : inflateRawSync(packed);
  if (crc32(data) >>> 0 !== crc) throw new Error('zip: checksum error');
  return { name, data };
}
