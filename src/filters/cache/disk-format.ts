/**
 * The disk store's files. One file per entry, under two levels of fan-out directories taken from a
 * hash of the key (`ab/cd/`), so that no directory grows large and every variant of a key sits in
 * one directory: a lookup lists that directory, and sees what other workers wrote there.
 *
 * A name is `<key hash>.<variant hash>.<generation>`. The generation (time, then random) makes each
 * write of a variant a new name: a directory listing alone tells a worker that another replaced or
 * removed an entry, with no stat or read, and the newest generation of a variant wins.
 *
 * A file is a fixed header, the meta (JSON: everything an Entry is built from, RFC 9111 §3), then
 * the content. The content's length goes in the header, written again at the end when the peer did
 * not announce it (chunked), so the meta never needs rewriting while the content streams in.
 *
 *   0  u32 magic "RPXC"   4  u32 version   8  u32 meta length   12  u32 0   16  u48 content length, u16 0
 */
import { createHash, randomBytes } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Entry } from './entry.js'
import { Field, fieldsOf, headOf } from './stored-head.js'

const MAGIC = 0x43585052
const VERSION = 1
export const HEADER = 24
/** A meta longer than this is not ours (a head is at most tens of KiB). */
const MAX_META = 1 << 20
/** Enough for the header and a usual meta in one read. */
const FIRST_READ = 8192
const NAME = /^([0-9a-f]{32})\.([0-9a-f]{16})\.([0-9a-f]{18})$/
/** The heuristic is applied when an entry is first stored; a read entry keeps the lifetime it was given. */
const NO_HEURISTIC = { percent: 0, max: 0 }

/** A file that is not a whole entry of ours: bad magic or version, bad meta, shorter than it says. */
export class Corrupt extends Error {}

export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32)
}

/** A new name for `key`'s `variant`, later than every name given before it (to the millisecond). */
export function fileName(key: string, variant: string): string {
  const vh = createHash('sha256').update(variant).digest('hex').slice(0, 16)
  return `${keyHash(key)}.${vh}.${Date.now().toString(16).padStart(12, '0')}${randomBytes(3).toString('hex')}`
}

/** The key hash and variant hash of an entry's file name, or null (a temp file, a stranger). */
export function parseName(name: string): { kh: string; vh: string } | null {
  const m = NAME.exec(name)
  return m === null ? null : { kh: m[1], vh: m[2] }
}

export function dirOf(root: string, kh: string): string {
  return join(root, kh.slice(0, 2), kh.slice(2, 4))
}

export function pathOf(root: string, name: string): string {
  return join(dirOf(root, name), name)
}

export function tempName(name: string): string {
  return `${name}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`
}

/** What a file's meta holds. */
interface Meta {
  key: string
  variant: string
  vary: string[]
  status: number
  reason: string
  fields: Field[]
  requestTime: number
  responseTime: number
  ageValue: number
  lifetime: number
  invalid: boolean
}

/** The header and meta of `e`'s file; the content length is -1 (unknown) until setLength. */
export function encodeHead(e: Entry): Buffer {
  const meta: Meta = {
    key: e.key, variant: e.variant, vary: [...e.vary],
    status: e.status, reason: e.head.line(), fields: fieldsOf(e.head),
    requestTime: e.requestTime, responseTime: e.responseTime, ageValue: e.ageValue, lifetime: e.lifetime, invalid: e.invalid,
  }
  const json = Buffer.from(JSON.stringify(meta))
  const b = Buffer.alloc(HEADER + json.length)
  b.writeUInt32LE(MAGIC, 0)
  b.writeUInt32LE(VERSION, 4)
  b.writeUInt32LE(json.length, 8)
  setLength(b, e.length)
  json.copy(b, HEADER)
  return b
}

/** Puts the content length in a header (-1, the largest u48, stands for not known yet). */
export function setLength(header: Buffer, length: number): void {
  header.writeUIntLE(length < 0 ? 0xffffffffffff : length, 16, 6)
}

/** A stored entry read back: where its content starts, and the file's whole size. */
export interface Stored {
  readonly entry: Entry
  readonly bodyStart: number
  readonly size: number
  readonly mtime: number
}

/** Reads a file's header and meta (Corrupt when they are not an entry of this format, whole). */
export async function readHead(fh: FileHandle): Promise<Stored> {
  let b = Buffer.allocUnsafe(FIRST_READ)
  const { bytesRead } = await fh.read(b, 0, FIRST_READ, 0)
  if (bytesRead < HEADER || b.readUInt32LE(0) !== MAGIC) throw new Corrupt('not a cache entry')
  if (b.readUInt32LE(4) !== VERSION) throw new Corrupt(`version ${b.readUInt32LE(4)}`)
  const metaLength = b.readUInt32LE(8)
  const length = b.readUIntLE(16, 6)
  if (metaLength > MAX_META) throw new Corrupt('meta too long')
  const bodyStart = HEADER + metaLength
  if (bodyStart > bytesRead) {
    const more = Buffer.allocUnsafe(bodyStart)
    b.copy(more, 0, 0, bytesRead)
    const r = await fh.read(more, bytesRead, bodyStart - bytesRead, bytesRead)
    if (r.bytesRead !== bodyStart - bytesRead) throw new Corrupt('short meta')
    b = more
  }
  const st = await fh.stat()
  // A crash before the rename leaves a temp, never a short entry; a short one was damaged since.
  if (st.size !== bodyStart + length) throw new Corrupt(`${st.size} bytes, the header says ${bodyStart + length}`)
  const entry = entryOf(b.subarray(HEADER, bodyStart), length)
  return { entry, bodyStart, size: st.size, mtime: st.mtimeMs }
}

function entryOf(json: Buffer, length: number): Entry {
  let m: Meta
  try { m = JSON.parse(json.toString()) as Meta } catch { throw new Corrupt('meta is not JSON') }
  if (!isMeta(m)) throw new Corrupt('meta is not an entry')
  const e = new Entry(m.key, headOf(m.status, m.reason, m.fields), m.vary, m.variant, m.requestTime, m.responseTime, NO_HEURISTIC, length, m.ageValue)
  e.lifetime = m.lifetime
  e.invalid = m.invalid
  return e
}

function isMeta(m: Meta): boolean {
  const strings = (a: unknown, n: number): boolean => Array.isArray(a) && a.every((p) => Array.isArray(p) && p.length === n && p.every((s) => typeof s === 'string'))
  return typeof m === 'object' && m !== null && typeof m.key === 'string' && typeof m.variant === 'string' &&
    Array.isArray(m.vary) && m.vary.every((v) => typeof v === 'string') && strings(m.fields, 2) &&
    Number.isInteger(m.status) && m.status >= 100 && m.status <= 999 && typeof m.reason === 'string' &&
    [m.requestTime, m.responseTime, m.ageValue, m.lifetime].every((n) => typeof n === 'number' && Number.isFinite(n)) && typeof m.invalid === 'boolean'
}
