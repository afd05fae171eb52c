/**
 * A streaming tar reader (ustar, GNU long names, PAX records, base-256 sizes).
 * It refuses what it cannot vouch for: bad header checksums, a stream that
 * ends inside an entry or before the end-of-archive block, oversized
 * metadata records. Paths are returned as written; callers decide safety.
 */
import { ImageError, ImageErrorCode, errorText } from './errors.js';

export type TarEntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  path: string;
  kind: TarEntryKind;
  mode: number;
  uid: number;
  gid: number;
  mtimeSec: number;
  size: number;
  linkname: string;
}

/** Called once per entry; `body` may be read (only within the call) or ignored. */
export type TarEntryHandler = (entry: TarEntry, body: AsyncIterable<Buffer>) => Promise<void>;

const BLOCK = 512;
/** PAX and GNU long-name records carry paths; real ones are a few KiB at most. */
const META_RECORD_BYTES_MAX = 1024 * 1024;
/** Per-entry body bound: 2^40 bytes, far above any sane layer file, below Number's exact range. */
const ENTRY_BYTES_MAX = 2 ** 40;

/** Reads the whole archive from `source`; `what` names it in error messages. */
export async function readTar(source: AsyncIterable<Buffer>, onEntry: TarEntryHandler, what: string): Promise<void> {
  const src = new ByteSource(source[Symbol.asyncIterator](), what);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await src.readExact(BLOCK);
    if (block === undefined) throw invalid(`${what}: ends at byte ${src.offset} without the end-of-archive block (truncated?)`);
    if (block.every((b) => b === 0)) return;
    const h = parseHeader(block, src.offset - BLOCK, what);
    if (h.typeflag === 'x' || h.typeflag === 'g' || h.typeflag === 'L' || h.typeflag === 'K') {
      if (h.size > META_RECORD_BYTES_MAX) throw invalid(`${what}: metadata record of ${h.size} bytes at byte ${src.offset} exceeds ${META_RECORD_BYTES_MAX}`);
      const body = await src.readPadded(h.size);
      if (h.typeflag === 'x') pax = { ...pax, ...parsePax(body, what) };
      else if (h.typeflag === 'L') longName = cString(body);
      else if (h.typeflag === 'K') longLink = cString(body);
      continue;
    }
    const entry: TarEntry = {
      path: pax['path'] ?? longName ?? h.name,
      kind: kindOf(h.typeflag),
      mode: h.mode & 0o7777,
      uid: pax['uid'] !== undefined ? Number(pax['uid']) : h.uid,
      gid: pax['gid'] !== undefined ? Number(pax['gid']) : h.gid,
      mtimeSec: pax['mtime'] !== undefined ? Math.floor(Number(pax['mtime'])) : h.mtime,
      size: pax['size'] !== undefined ? Number(pax['size']) : h.size,
      linkname: pax['linkpath'] ?? longLink ?? h.linkname,
    };
    pax = {};
    longName = undefined;
    longLink = undefined;
    if (!Number.isSafeInteger(entry.size) || entry.size < 0 || entry.size > ENTRY_BYTES_MAX) throw invalid(`${what}: entry ${entry.path} has size ${entry.size}, limit ${ENTRY_BYTES_MAX}`);
    // Links, dirs and devices carry no data even when a header claims a size (hard links in PAX may).
    const dataBytes = entry.kind === 'file' || entry.kind === 'other' || entry.kind === 'hardlink' ? entry.size : 0;
    let consumed = 0;
    const body = (async function* () {
      for await (const chunk of src.stream(dataBytes - consumed)) {
        consumed += chunk.length;
        yield chunk;
      }
    })();
    await onEntry(entry, body);
    await src.skip(dataBytes - consumed);
    await src.skip(padding(dataBytes));
  }
}

interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function parseHeader(b: Buffer, at: number, what: string): RawHeader {
  const stored = numeric(b, 148, 8, at, what);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (stored !== unsigned && stored !== signed) throw invalid(`${what}: bad tar header checksum at byte ${at} (not a tar, or corrupt)`);
  const ustar = b.toString('latin1', 257, 262) === 'ustar';
  const name = cString(b.subarray(0, 100));
  const prefix = ustar ? cString(b.subarray(345, 500)) : '';
  const typeflag = b[156] === 0 ? '0' : String.fromCharCode(b[156]!);
  return {
    name: prefix !== '' && typeflag !== 'L' && typeflag !== 'K' ? `${prefix}/${name}` : name,
    mode: numeric(b, 100, 8, at, what),
    uid: numeric(b, 108, 8, at, what),
    gid: numeric(b, 116, 8, at, what),
    size: numeric(b, 124, 12, at, what),
    mtime: numeric(b, 136, 12, at, what),
    typeflag,
    linkname: cString(b.subarray(157, 257)),
  };
}

/** Octal text, or GNU base-256 when the high bit of the first byte is set. */
function numeric(b: Buffer, offset: number, width: number, at: number, what: string): number {
  const field = b.subarray(offset, offset + width);
  if ((field[0]! & 0x80) !== 0) {
    let v = field[0]! & 0x7f;
    for (let i = 1; i < width; i++) v = v * 256 + field[i]!;
    return v;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`${what}: tar header at byte ${at} has a non-octal field "${text.slice(0, 16)}" (not a tar, or corrupt)`);
  return parseInt(text, 8);
}

function parsePax(body: Buffer, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const space = body.indexOf(0x20, pos);
    const len = space < 0 ? NaN : Number(body.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) throw invalid(`${what}: malformed PAX record at ${pos}`);
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function kindOf(typeflag: string): TarEntryKind {
  switch (typeflag) {
    case '0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function padding(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

function invalid(message: string): ImageError {
  return new ImageError(ImageErrorCode.InvalidArchive, message);
}

/** Exact reads over an async chunk iterator; errors of the source (gunzip, fs) become InvalidArchive. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(
    private readonly it: AsyncIterator<Buffer>,
    private readonly what: string,
  ) {}

  private async pull(): Promise<void> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (err) {
      if (err instanceof ImageError) throw err;
      throw invalid(`${this.what}: cannot read at byte ${this.offset + this.buffered}: ${errorText(err)}`);
    }
    if (r.done === true) this.ended = true;
    else if (r.value.length > 0) {
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
  }

  private take(n: number): Buffer {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const head = this.chunks[0]!;
      if (head.length <= left) {
        out.push(head);
        this.chunks.shift();
        left -= head.length;
      } else {
        out.push(head.subarray(0, left));
        this.chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    this.offset += n;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** n bytes, or undefined at a clean end of stream; a partial read is a truncated archive. */
  async readExact(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n && !this.ended) await this.pull();
    if (this.buffered === 0 && this.ended) return undefined;
    if (this.buffered < n) throw invalid(`${this.what}: truncated at byte ${this.offset + this.buffered}`);
    return this.take(n);
  }

  async readPadded(n: number): Promise<Buffer> {
    const body = n === 0 ? Buffer.alloc(0) : await this.readExact(n);
    if (body === undefined) throw invalid(`${this.what}: truncated at byte ${this.offset}`);
    await this.skip(padding(n));
    return body;
  }

  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0) {
        if (this.ended) throw invalid(`${this.what}: truncated at byte ${this.offset} inside an entry`);
        await this.pull();
        continue;
      }
      const chunk = this.take(Math.min(left, this.chunks[0]!.length));
      left -= chunk.length;
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      // discarded
    }
  }
}
