/**
 * A message before it becomes bytes: start line, fields, framing. Generators build valid drafts;
 * a mutator changes one element of a draft (a field, a length, a chunk, a line ending) or one byte
 * of its serialisation, and names what it did (the campaign counts inputs per mutator).
 */
import type { Rng } from './rng.js'

export interface Chunk { size: string; ext: string; data: Buffer; end: string }

export type Body =
  | { kind: 'none' }
  | { kind: 'length'; data: Buffer }
  | { kind: 'chunked'; chunks: Chunk[]; last: string; trailers: [string, string][] }
  | { kind: 'close'; data: Buffer }

export interface Draft {
  /** Request line or status line, without its CRLF, as parts joined by `sep`. */
  line: string[]
  sep: string[]
  fields: [string, string][]
  /** Between a field's name and value (": " unless mutated). */
  colon: string[]
  body: Body
}

export function draft(line: string[], fields: [string, string][], body: Body): Draft {
  return { line, sep: line.slice(1).map(() => ' '), fields, colon: fields.map(() => ': '), body }
}

export function serialize(d: Draft): Buffer {
  let head = d.line[0]
  for (let i = 1; i < d.line.length; i++) head += d.sep[i - 1] + d.line[i]
  head += '\r\n'
  for (let i = 0; i < d.fields.length; i++) head += d.fields[i][0] + d.colon[i] + d.fields[i][1] + '\r\n'
  head += '\r\n'
  const parts: Buffer[] = [Buffer.from(head, 'latin1')]
  const b = d.body
  if (b.kind === 'length' || b.kind === 'close') parts.push(b.data)
  if (b.kind === 'chunked') {
    for (const c of b.chunks) parts.push(Buffer.from(`${c.size}${c.ext}\r\n`, 'latin1'), c.data, Buffer.from(c.end, 'latin1'))
    let tail = b.last
    for (const [n, v] of b.trailers) tail += `${n}: ${v}\r\n`
    parts.push(Buffer.from(tail + '\r\n', 'latin1'))
  }
  return Buffer.concat(parts)
}

/** Chunked framing for `data` cut into 1 to 4 chunks, hex in either case, maybe with extensions. */
export function chunked(r: Rng, data: Buffer, trailers: [string, string][] = []): Body {
  const chunks: Chunk[] = []
  let at = 0
  const n = data.length === 0 ? 0 : r.int(1, 4)
  for (let k = 0; k < n && at < data.length; k++) {
    const len = k === n - 1 ? data.length - at : r.int(1, data.length - at)
    let size = len.toString(16)
    if (r.chance(0.3)) size = size.toUpperCase()
    if (r.chance(0.1)) size = '0' + size // RFC 9112 §7.1: 1*HEXDIG, leading zeros allowed
    const ext = r.chance(0.15) ? r.pick([';a=b', ';ext', ';q="x y"', ';a=1;b=2']) : ''
    chunks.push({ size, ext, data: data.subarray(at, at + len), end: '\r\n' })
    at += len
  }
  return { kind: 'chunked', chunks, last: r.chance(0.1) ? '0;end=1\r\n' : '0\r\n', trailers }
}

export function bodyBytes(r: Rng, max: number): Buffer {
  const n = r.chance(0.2) ? 0 : r.int(1, max)
  return r.chance(0.7) ? Buffer.from(r.text(n, 'abcdefghijklmnopqrstuvwxyz0123456789 \r\n'), 'latin1') : r.bytes(n)
}

export type Mutator = (r: Rng, d: Draft) => Buffer | null

const WEIRD_LENGTHS = ['', ' 5', '+5', '-1', '0x5', '5 5', '5,5', '5, 5', '05', '99999999999999999999', '18446744073709551617', '1e3', 'abc', '4294967296', '9007199254740993']
const WEIRD_TE = ['chunked, chunked', 'gzip, chunked', 'chunked, gzip', 'Chunked', 'CHUNKED', ' chunked', 'chunked ', 'identity',
  'xchunked', 'chunked;q=0', 'chunked\x0b', '"chunked"', 'gzip', '', 'chunked,', ',chunked', 'deflate,chunked', 'chunked\tx']
const WEIRD_SIZES = ['ffffffffffffffffff', '-1', '0x5', ' 5', '5 ', '+5', 'g', '', '10000000000000000', '7fffffffffffffff', '1\t', '1 ;a']
const WEIRD_EXT = [';', '; a=b', ';a="x', ';a=\x00', ';a=b c', ';a\x7f', ';' + 'x'.repeat(3000), ';a="\\"";b']
const BAD_NAME_CHARS = ['\x00', '(', '"', ' ', '\x7f', '\xe9', ':', '\t', '/', '@', '\r', '\x01']
const BAD_VALUE_CHARS = ['\x00', '\x7f', '\x01', '\xff', '\r', '\n', '\x0b', '\x0c', '\x1f', '\r\n']
const BYTES = ['\r', '\n', ' ', '\t', ':', '\x00', '\x7f', '\xff', '\x80', '0', 'a', ',', ';', '"', '\r\n', '\r\n\r\n', '\xc3\xa9', '\\', '%']

function field(d: Draft, name: string): number {
  return d.fields.findIndex(([n]) => n.toLowerCase() === name)
}

function put(d: Draft, name: string, value: string): void {
  const i = field(d, name)
  if (i >= 0) d.fields[i] = [d.fields[i][0], value]
  else { d.fields.push([name, value]); d.colon.push(': ') }
}

/** The mutations of fields and framing that requests and responses share, by name. */
export const SHARED: Record<string, Mutator> = {
  'dup-field': (r, d) => {
    if (d.fields.length === 0) return null
    const i = r.int(0, d.fields.length - 1)
    const at = r.chance(0.5) ? i + 1 : d.fields.length
    d.fields.splice(at, 0, [d.fields[i][0], d.fields[i][1]])
    d.colon.splice(at, 0, ': ')
    return serialize(d)
  },
  'obs-fold': (r, d) => {
    if (d.fields.length === 0) return null
    const i = r.int(0, d.fields.length - 1)
    d.fields[i][1] = d.fields[i][1] + r.pick(['\r\n ', '\r\n\t', '\n ']) + 'folded'
    return serialize(d)
  },
  'ws-before-colon': (r, d) => {
    if (d.fields.length === 0) return null
    d.colon[r.int(0, d.fields.length - 1)] = r.pick([' :', '\t:', ' : ', ':', ':\t', ':  '])
    return serialize(d)
  },
  'bad-name': (r, d) => insertInField(r, d, 0, BAD_NAME_CHARS),
  'bad-value': (r, d) => insertInField(r, d, 1, BAD_VALUE_CHARS),
  'empty-name': (_r, d) => {
    d.fields.push(['', 'x'])
    d.colon.push(': ')
    return serialize(d)
  },
  'content-length': (r, d) => {
    const v = r.chance(0.7) ? r.pick(WEIRD_LENGTHS) : String(Math.max(0, bodyLength(d) + r.int(-3, 3)))
    if (r.chance(0.3)) { d.fields.push(['Content-Length', v]); d.colon.push(': ') } else put(d, 'content-length', v)
    return serialize(d)
  },
  'transfer-encoding': (r, d) => {
    const v = r.pick(WEIRD_TE)
    if (r.chance(0.3)) { d.fields.push(['Transfer-Encoding', v]); d.colon.push(': ') } else put(d, 'transfer-encoding', v)
    return serialize(d)
  },
  'cl-and-te': (r, d) => {
    if (d.body.kind === 'chunked') put(d, 'content-length', String(r.int(0, 40)))
    else put(d, 'transfer-encoding', 'chunked')
    return serialize(d)
  },
  'chunk-size': (r, d) => {
    const b = d.body
    if (b.kind !== 'chunked' || b.chunks.length === 0) return null
    const c = b.chunks[r.int(0, b.chunks.length - 1)]
    const n = parseInt(c.size, 16)
    c.size = r.pick([...WEIRD_SIZES, (n + 1).toString(16), Math.max(0, n - 1).toString(16), '0'.repeat(20) + c.size])
    return serialize(d)
  },
  'chunk-ext': (r, d) => {
    const b = d.body
    if (b.kind !== 'chunked') return null
    if (b.chunks.length === 0 || r.chance(0.3)) b.last = `0${r.pick(WEIRD_EXT)}\r\n`
    else b.chunks[r.int(0, b.chunks.length - 1)].ext = r.pick(WEIRD_EXT)
    return serialize(d)
  },
  'chunk-end': (r, d) => {
    const b = d.body
    if (b.kind !== 'chunked' || b.chunks.length === 0) return null
    b.chunks[r.int(0, b.chunks.length - 1)].end = r.pick(['', '\n', '\r', 'x\r\n', '\r\n\r\n', ' \r\n'])
    return serialize(d)
  },
  'trailer': (r, d) => {
    const b = d.body
    if (b.kind !== 'chunked') return null
    b.trailers.push(r.pick<[string, string]>([['Content-Length', '5'], ['Transfer-Encoding', 'chunked'], ['Host', 'evil.test'], ['X-T', 'a\x00b'], ['X T', 'v'], ['X-T', 'v\r\n folded']]))
    return serialize(d)
  },
  'body-length': (r, d) => {
    const b = d.body
    if (b.kind !== 'length' || b.data.length === 0) return null
    d.body = { kind: 'length', data: r.chance(0.5) ? b.data.subarray(0, r.int(0, b.data.length - 1)) : Buffer.concat([b.data, Buffer.from(r.pick(['x', '\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']), 'latin1')]) }
    return serialize(d)
  },
  'huge-field': (r, d) => {
    d.fields.push(['X-Huge', 'h'.repeat(r.pick([8000, 17000, 40000]))])
    d.colon.push(': ')
    return serialize(d)
  },
  'many-fields': (r, d) => {
    const n = r.pick([40, 100, 300])
    for (let i = 0; i < n; i++) { d.fields.push([`X-F${i}`, String(i)]); d.colon.push(': ') }
    return serialize(d)
  },
  'line-sep': (r, d) => {
    if (d.sep.length === 0) return null
    d.sep[r.int(0, d.sep.length - 1)] = r.pick(['  ', '\t', '', ' \t', '\x0b', '\r', '\x00'])
    return serialize(d)
  },
}

/** One of `chars` put at a random place in the name (0) or value (1) of a random field. */
function insertInField(r: Rng, d: Draft, part: 0 | 1, chars: readonly string[]): Buffer | null {
  if (d.fields.length === 0) return null
  const f = d.fields[r.int(0, d.fields.length - 1)]
  const at = r.int(0, f[part].length)
  f[part] = f[part].slice(0, at) + r.pick(chars) + f[part].slice(at)
  return serialize(d)
}

function bodyLength(d: Draft): number {
  const b = d.body
  return b.kind === 'length' || b.kind === 'close' ? b.data.length : 0
}

/** Byte mutations of the serialised message: one byte flipped, inserted or deleted, one line end changed, a cut. */
export const BYTE: Record<string, (r: Rng, b: Buffer) => Buffer> = {
  'flip': (r, b) => {
    const out = Buffer.from(b)
    const at = r.int(0, out.length - 1)
    out[at] ^= 1 << r.int(0, 7)
    return out
  },
  'insert': (r, b) => {
    const at = r.int(0, b.length)
    return Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(BYTES), 'latin1'), b.subarray(at)])
  },
  'delete': (r, b) => {
    const at = r.int(0, b.length - 1)
    return Buffer.concat([b.subarray(0, at), b.subarray(at + r.int(1, 3))])
  },
  'crlf': (r, b) => {
    const ends: number[] = []
    for (let i = b.indexOf('\r\n'); i >= 0; i = b.indexOf('\r\n', i + 1)) ends.push(i)
    if (ends.length === 0) return b
    const at = r.pick(ends)
    return Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(['\n', '\r', '\n\r', '\r\r\n', ' \r\n', '\r\n\r\n', '\r \n']), 'latin1'), b.subarray(at + 2)])
  },
  'truncate': (r, b) => b.subarray(0, r.int(0, b.length - 1)),
}

const merged = new WeakMap<Record<string, Mutator>, Record<string, Mutator>>()

/**
 * One mutation of `d` (a draft the caller will not use again): a shared or `own` field mutation
 * (when it applies), else a byte mutation. Returns the bytes and the mutator's name.
 */
export function mutate(r: Rng, d: Draft, own: Record<string, Mutator>): { bytes: Buffer; name: string } {
  if (r.chance(0.7)) {
    let all = merged.get(own)
    if (all === undefined) merged.set(own, all = { ...SHARED, ...own })
    const names = Object.keys(all)
    for (let tries = 0; tries < 4; tries++) {
      const name = r.pick(names)
      const bytes = all[name](r, d)
      if (bytes !== null) return { bytes, name }
    }
  }
  const name = r.pick(Object.keys(BYTE))
  return { bytes: BYTE[name](r, serialize(d)), name }
}
