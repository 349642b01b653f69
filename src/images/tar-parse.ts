// A synchronous tar parser for layer tars: decompressed chunks go in, and
// each entry's header, then its data as slices of those chunks, come out
// through plain calls (no stream per entry). Formats, as Go's archive/tar
// reads them (Docker writes layers with it):
//  - ustar (POSIX 1003.1-1988): name split as prefix "/" name;
//  - GNU: base-256 numbers, 'L' long names and 'K' long link names;
//  - PAX (POSIX 1003.1-2001): 'x' records for the next entry, 'g' for all
//    later ones; path, linkpath, size, uid, gid, mtime, SCHILY.devmajor/minor
//    and SCHILY.xattr.* (kept as bytes: security.capability is binary).
// Typeflags it does not know are regular files, as POSIX asks ("If an
// implementation does not recognize the type, it shall treat it as a regular
// file"). Link, symlink, device, directory and fifo entries carry no data
// whatever their size field says (Go's isHeaderOnlyType).
import { invalid } from '../model/errors.ts';

export type TarType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  linkname: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (0 for header-only types). */
  size: number;
  /** Seconds since the epoch, with a fraction when PAX gave one. */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* attributes, name without the prefix. */
  xattrs: Map<string, Buffer> | undefined;
}

export interface TarSink {
  entry(h: TarHeader): void;
  /** A slice of the current entry's data (valid only during the call). */
  data(b: Buffer): void;
  entryEnd(): void;
}

const BLOCK = 512;
const TYPES: Record<string, TarType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'character-device', '4': 'block-device', '5': 'directory', '6': 'fifo',
};
const XATTR = 'SCHILY.xattr.';
const MAX_META = 1 << 20;

type Pax = Map<string, Buffer>;

/** Truncation is reported with this message (tar-read.ts words it the same way). */
export const TRUNCATED = 'truncated tar (unexpected end of data)';

export class TarParser {
  private readonly head = Buffer.alloc(BLOCK);
  private headLen = 0;
  /** Data bytes left in the current entry or meta record, then padding to skip. */
  private left = 0;
  private pad = 0;
  private inEntry = false;
  /** A meta entry ('x', 'g', 'L', 'K') being collected. */
  private meta: { type: string; parts: Buffer[] } | undefined;
  private pax: Pax | undefined;
  private global: Pax | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private zeros = 0;
  private done = false;

  private readonly sink: TarSink;
  private readonly what: string;

  constructor(sink: TarSink, what: string) {
    this.sink = sink;
    this.what = what;
  }

  write(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && !this.done) {
      if (this.left > 0) {
        const take = Math.min(this.left, n - off);
        const part = chunk.subarray(off, off + take);
        if (this.meta) this.meta.parts.push(Buffer.from(part));
        else this.sink.data(part);
        this.left -= take;
        off += take;
        if (this.left === 0) this.endBody();
        continue;
      }
      if (this.pad > 0) {
        const take = Math.min(this.pad, n - off);
        this.pad -= take;
        off += take;
        continue;
      }
      // A header block, whole in the chunk or gathered across chunks.
      let block: Buffer;
      if (this.headLen === 0 && n - off >= BLOCK) {
        block = chunk.subarray(off, off + BLOCK);
        off += BLOCK;
      } else {
        const take = Math.min(BLOCK - this.headLen, n - off);
        chunk.copy(this.head, this.headLen, off, off + take);
        this.headLen += take;
        off += take;
        if (this.headLen < BLOCK) break;
        this.headLen = 0;
        block = this.head;
      }
      this.header(block);
    }
  }

  /** The input ended: throws unless it ended between entries. */
  end(): void {
    if (this.done) return;
    if (this.left > 0 || this.pad > 0 || this.headLen > 0 || this.meta || this.pax || this.longName !== undefined || this.longLink !== undefined) {
      throw invalid(`${this.what}: ${TRUNCATED}`);
    }
  }

  private endBody(): void {
    if (this.meta) {
      const m = this.meta;
      this.meta = undefined;
      const body = Buffer.concat(m.parts);
      if (m.type === 'x') this.pax = parsePax(body, this.what);
      else if (m.type === 'g') this.global = new Map([...(this.global ?? []), ...parsePax(body, this.what)]);
      else if (m.type === 'L') this.longName = cString(body);
      else this.longLink = cString(body);
    } else if (this.inEntry) {
      this.inEntry = false;
      this.sink.entryEnd();
    }
  }

  private header(b: Buffer): void {
    if (isZero(b)) {
      // Two zero blocks end the archive; what follows is ignored, as Go's
      // reader (and Docker after it) ignores it.
      if (++this.zeros >= 2) this.done = true;
      return;
    }
    this.zeros = 0;
    if (!checksumOk(b)) throw invalid(`${this.what}: invalid tar header (bad checksum): the data is corrupt or not a tar`);
    const flag = String.fromCharCode(b[156]!);
    const size = num(b, 124, 12, this.what, 'size');
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      // Go's reader refuses these above 1 MiB too (maxSpecialFileSize).
      if (size > MAX_META) throw invalid(`${this.what}: tar ${flag === 'L' || flag === 'K' ? 'long name' : 'PAX'} header of ${size} bytes refused (at most ${MAX_META})`);
      this.meta = { type: flag, parts: [] };
      this.startBody(size);
      return;
    }
    // POSIX ustar ("ustar\0"), not GNU ("ustar  \0"), has the name prefix.
    const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0;
    let name = cString(b, 0, 100);
    if (ustar && b[345] !== 0) name = `${cString(b, 345, 500)}/${name}`;
    // Old tars mark a directory only by the trailing slash of a file entry's
    // name (Go's reader and tar-stream both read it so).
    const type = (flag === '0' || flag === '\0') && name.endsWith('/') ? 'directory' : TYPES[flag] ?? 'file';
    const h: TarHeader = {
      name: this.longName ?? name,
      linkname: this.longLink ?? cString(b, 157, 257),
      type,
      mode: num(b, 100, 8, this.what, 'mode'),
      uid: num(b, 108, 8, this.what, 'uid'),
      gid: num(b, 116, 8, this.what, 'gid'),
      size: type === 'file' ? size : 0,
      mtime: num(b, 136, 12, this.what, 'mtime'),
      devmajor: b[329] === 0 ? 0 : num(b, 329, 8, this.what, 'devmajor'),
      devminor: b[337] === 0 ? 0 : num(b, 337, 8, this.what, 'devminor'),
      xattrs: undefined,
    };
    this.longName = this.longLink = undefined;
    if (this.global) applyPax(h, this.global, this.what);
    if (this.pax) { applyPax(h, this.pax, this.what); this.pax = undefined; }
    if (h.type !== 'file') h.size = 0;
    this.sink.entry(h);
    this.inEntry = true;
    this.startBody(h.size);
  }

  private startBody(size: number): void {
    this.left = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.endBody();
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 4) if (b.readUInt32LE(i) !== 0) return false;
  return true;
}

/** The header checksum (the chksum field counted as spaces), unsigned or, as old tars wrote it, signed. */
function checksumOk(b: Buffer): boolean {
  let u = 8 * 0x20;
  for (let i = 0; i < 148; i++) u += b[i]!;
  for (let i = 156; i < BLOCK; i++) u += b[i]!;
  let want = 0;
  let i = 148;
  while (i < 156 && b[i] === 0x20) i++;
  const first = i;
  for (; i < 156 && b[i]! >= 0x30 && b[i]! <= 0x37; i++) want = want * 8 + b[i]! - 0x30;
  if (i === first) return false;
  if (want === u) return true;
  let s = u;
  for (let j = 0; j < BLOCK; j++) if ((j < 148 || j >= 156) && b[j]! > 127) s -= 256;
  return want === s;
}

/** A NUL-terminated UTF-8 string (names are UTF-8 in layer tars). */
function cString(b: Buffer, start = 0, end = b.length): string {
  const z = b.indexOf(0, start);
  return b.toString('utf8', start, z === -1 || z > end ? end : z);
}

/** An octal field, or GNU base-256 when its first byte has the high bit set. */
function num(b: Buffer, off: number, len: number, what: string, field: string): number {
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw invalid(`${what}: invalid tar header (${field} field is not octal): the data is corrupt or not a tar`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** PAX records "<len> <key>=<value>\n"; values stay bytes (xattrs may be binary). */
function parsePax(body: Buffer, what: string): Pax {
  const out: Pax = new Map();
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const sp = body.indexOf(0x20, off);
    const len = sp === -1 ? NaN : Number(body.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > body.length || body[off + len - 1] !== 0x0a) {
      throw invalid(`${what}: invalid PAX header record at byte ${off}`);
    }
    const eq = body.indexOf(0x3d, sp);
    if (eq === -1 || eq >= off + len) throw invalid(`${what}: invalid PAX header record at byte ${off} (no "=")`);
    out.set(body.toString('utf8', sp + 1, eq), Buffer.from(body.subarray(eq + 1, off + len - 1)));
    off += len;
  }
  return out;
}

function paxNum(v: Buffer, key: string, what: string): number {
  const n = Number(v.toString('latin1'));
  if (!Number.isFinite(n) || n < 0) throw invalid(`${what}: invalid PAX ${key} ${JSON.stringify(v.toString('latin1'))}`);
  return n;
}

function applyPax(h: TarHeader, pax: Pax, what: string): void {
  for (const [k, v] of pax) {
    switch (k) {
      case 'path': h.name = v.toString('utf8'); break;
      case 'linkpath': h.linkname = v.toString('utf8'); break;
      case 'size': h.size = paxNum(v, k, what); break;
      case 'uid': h.uid = paxNum(v, k, what); break;
      case 'gid': h.gid = paxNum(v, k, what); break;
      case 'mtime': h.mtime = paxNum(v, k, what); break;
      case 'SCHILY.devmajor': h.devmajor = paxNum(v, k, what); break;
      case 'SCHILY.devminor': h.devminor = paxNum(v, k, what); break;
      default:
        if (k.startsWith(XATTR)) (h.xattrs ??= new Map()).set(k.slice(XATTR.length), v);
    }
  }
}
