/**
 * A small ustar writer (PAX records for long names), enough to build image
 * layers and archives in memory. Output is deterministic: the caller gives
 * every mtime, owner and mode.
 */
import { assert } from './assert.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarWriteEntry {
  /** Relative path inside the archive, `/`-separated, no leading `/`. Directories may end in `/`. */
  path: string;
  type: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky; default 0o644 for files, 0o755 for dirs, 0o777 for links. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default 0 (deterministic). */
  mtimeSec?: number;
  data?: Buffer;
  /** Target of a symlink or hard link. */
  linkname?: string;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1' };
/** ustar's name field; longer names go into a PAX record. */
const NAME_BYTES_MAX = 100;

/** The whole archive: each entry, then two zero blocks. */
export function writeTar(entries: readonly TarWriteEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(...entryBlocks(e));
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function entryBlocks(e: TarWriteEntry): Buffer[] {
  const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const linkname = e.linkname ?? '';
  assert(e.type !== 'symlink' && e.type !== 'hardlink' ? linkname === '' : linkname !== '', `tar entry ${e.path}: linkname is for links only`);
  const path = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(path) > NAME_BYTES_MAX) pax['path'] = path;
  if (Buffer.byteLength(linkname) > NAME_BYTES_MAX) pax['linkpath'] = linkname;
  const blocks: Buffer[] = [];
  if (Object.keys(pax).length > 0) {
    const body = paxBody(pax);
    blocks.push(header({ name: 'PaxHeader', type: 'x', size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: e.mtimeSec ?? 0, linkname: '' }), pad(body));
  }
  const defaultMode = e.type === 'dir' ? 0o755 : e.type === 'file' ? 0o644 : 0o777;
  blocks.push(
    header({
      name: truncateBytes(path, NAME_BYTES_MAX),
      type: TYPEFLAG[e.type],
      size: data.length,
      mode: e.mode ?? defaultMode,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtimeSec ?? 0,
      linkname: truncateBytes(linkname, NAME_BYTES_MAX),
    }),
  );
  if (data.length > 0) blocks.push(pad(data));
  return blocks;
}

interface HeaderFields {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
}

function header(h: HeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, NAME_BYTES_MAX, 'utf8');
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write(h.type, 156, 1, 'latin1');
  b.write(h.linkname, 157, NAME_BYTES_MAX, 'utf8');
  b.write('ustar\u0000', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.write(h.uid === 0 ? 'root' : '', 265, 32, 'latin1');
  b.write(h.gid === 0 ? 'root' : '', 297, 32, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, '0');
  assert(text.length <= width - 1, `tar field at ${offset} cannot hold ${value}`);
  b.write(`${text}\u0000`, offset, width, 'latin1');
}

function paxBody(records: Record<string, string>): Buffer {
  let text = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    text += `${len}${rest}`;
  }
  return Buffer.from(text, 'utf8');
}

function pad(data: Buffer): Buffer {
  const rem = data.length % BLOCK;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rem)]);
}

function truncateBytes(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= bytes ? s : b.subarray(0, bytes).toString('utf8');
}
