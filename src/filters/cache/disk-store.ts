/**
 * The disk store: one file per entry under `path` (disk-format.ts), shared by every process that
 * names the same path (the workers of a cluster, the next run after a restart). The directory is
 * the truth; each process keeps an index of what it has seen there (file name, key, size, the
 * parsed entry once looked up) for its byte budget and purges by prefix, built by a scan at start
 * and kept up by its own writes and by every lookup, which lists the key's directory: so an entry
 * another worker stored, replaced or removed is seen at the next lookup of its key.
 *
 * The budget is per process view: each process evicts, least recently used first, from what its
 * index holds (the scan at start orders by mtime, which serving refreshes once a minute). Entries
 * other workers wrote and this one never looked up are not counted, so with N workers the directory
 * may hold up to about N times max_size until a restart's scan sees all of it (see the report on
 * issue 11 for the sweeper that would make it exact).
 *
 * Faults (a full disk, an unreadable or damaged file) are counted in stats().faults and are misses;
 * a damaged file is removed. Nothing here throws into a request or leaves a promise unhandled.
 */
import { readdir, unlink, utimes } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Content } from '../../proxy/content.js'
import type { CacheStore, StoreStats } from './store.js'
import type { Entry } from './entry.js'
import { BufferContent, Fill, FillOwner } from './fill.js'
import { dirOf, encodeHead, fileName, keyHash, parseName, pathOf } from './disk-format.js'
import { DiskFill, WriteOwner, ignore, rewrite } from './disk-write.js'
import { FileContent, ReadOwner } from './disk-read.js'
import { Found, ScanOwner, readFound, scan } from './disk-scan.js'
import { DiskIndex, Rec, State } from './disk-index.js'

/** Serving refreshes a file's mtime (its age in the scan's LRU order) at most this often. */
const TOUCH_EVERY = 60_000

interface Purge { readonly target: string; readonly prefix: boolean; readonly at: number }

export class DiskStore implements CacheStore, FillOwner, WriteOwner, ReadOwner, ScanOwner {
  readonly settings: string
  readonly #index = new DiskIndex()
  /** Never cleared: an entry dropped from the index still names its (perhaps removed) file. */
  readonly #of = new WeakMap<Entry, Rec>()
  /** Heads being read, by file name, so that lookups at once read each only once. */
  readonly #reading = new Map<string, Promise<void>>()
  #evicted = 0
  #faults = 0
  #inFlight = 0
  #waiters: (() => void)[] = []
  closed = false
  /** While the start-up scan runs: what it must not bring back (removed or purged meanwhile). */
  #scanning: { dropped: Set<string>; purges: Purge[] } | null = { dropped: new Set(), purges: [] }

  constructor(readonly path: string, readonly maxSize: number, readonly maxObject: number, settings = `disk:${path}:${maxSize}:${maxObject}`) {
    this.settings = settings
    scan(path, this).then((found) => this.#merge(found), (err) => this.#fault(err)).finally(() => { this.#scanning = null; this.#wake() })
  }

  /** Every entry under `key`: this process's fills, and the newest file of each variant on disk. */
  lookup(key: string): Promise<readonly Entry[]> {
    return this.#lookup(key).catch((err) => { this.#fault(err); return this.#entriesOf(key) })
  }

  async #lookup(key: string): Promise<readonly Entry[]> {
    const kh = keyHash(key)
    const seq = this.#index.seq
    let names: string[] = []
    try { names = await readdir(dirOf(this.path, kh)) } catch (err) { if (code(err) !== 'ENOENT') throw err }
    const newest = new Map<string, string>()
    for (const n of names) {
      const p = parseName(n)
      if (p === null || p.kh !== kh) continue
      const o = newest.get(p.vh)
      // Two generations of a variant: the replace that wrote the newer one was cut short.
      if (o !== undefined) this.#unlink(n < o ? n : o)
      if (o === undefined || n > o) newest.set(p.vh, n)
    }
    const onDisk = new Set(newest.values())
    // Gone from the directory: replaced or removed by another process.
    for (const r of [...this.#index.under(key)]) if (r.state === State.STORED && r.since <= seq && !onDisk.has(r.name)) this.#drop(r, false)
    await Promise.all([...onDisk].map((n) => this.#know(n)))
    return this.#entriesOf(key)
  }

  #entriesOf(key: string): Entry[] {
    const out: Entry[] = []
    for (const r of this.#index.under(key)) if (r.entry !== null && !r.entry.gone) out.push(r.entry)
    return out
  }

  /** Reads the head of a file not parsed yet (found by another's write, or by the scan). */
  #know(name: string): Promise<void> {
    const r = this.#index.get(name)
    if (r !== undefined && r.entry !== null) return Promise.resolve()
    let p = this.#reading.get(name)
    if (p === undefined) {
      p = readFound(pathOf(this.path, name), this).then((f) => {
        this.#reading.delete(name)
        if (f === null) return
        const known = this.#index.get(name)
        const r = known ?? new Rec(name, f.entry.key, State.STORED, null, f.mtime)
        r.entry = f.entry
        r.bodyStart = f.bodyStart
        f.entry.size = f.size
        this.#of.set(f.entry, r)
        if (known === undefined) { this.#index.add(r); this.#index.stored(r, f.size) }
      })
      this.#reading.set(name, p)
    }
    return p
  }

  begin(e: Entry): Fill | null {
    if (this.closed || e.length > this.maxObject) return null
    const r = new Rec(fileName(e.key, e.variant), e.key, State.FILLING, e, Date.now())
    r.fill = new DiskFill(e, this, this.maxObject, pathOf(this.path, r.name), encodeHead(e))
    this.#of.set(e, r)
    this.#index.add(r)
    this.#inFlight++
    return r.fill
  }

  filled(e: Entry): void {
    const r = this.#of.get(e)!
    if (!this.#index.holds(r)) return
    r.state = State.WRITING
    r.fill!.finish()
  }

  failed(e: Entry): void {
    this.remove(e)
  }

  written(f: DiskFill, size: number): void {
    this.#inPlace(f, size)
    // Last: what it started (removals of the replaced variant) is in flight by now.
    this.#settled()
  }

  #inPlace(f: DiskFill, size: number): void {
    const e = f.entry
    const r = this.#of.get(e)!
    // Removed (purged, replaced) while it was being written.
    if (!this.#index.holds(r) || e.gone) { this.#unlink(basename(f.path)); return }
    r.fill = null
    e.size = size
    r.bodyStart = size - e.length
    // In place: the content is read from the file from now on, not held in memory.
    e.body = null
    this.#index.stored(r, size)
    for (const o of [...this.#index.under(r.key)]) if (o !== r && o.vh === r.vh && o.state === State.STORED) this.#drop(o, true)
    if (r.stale) { r.stale = false; this.update(e) }
    this.#evict()
  }

  notWritten(f: DiskFill, err: unknown): void {
    const r = this.#of.get(f.entry)!
    if (this.#index.holds(r)) this.#drop(r, false)
    if (err !== null) this.#fault(err)
    this.#settled()
  }

  content(e: Entry): Content {
    if (e.body !== null) return new BufferContent(e.body)
    const r = this.#of.get(e)
    // Only entries of this store come here; an unknown one reads nothing (a path that cannot open).
    return new FileContent(r === undefined ? '' : pathOf(this.path, r.name), r?.bodyStart ?? 0, e.length, this)
  }

  readFailed(path: string, err: unknown): void {
    const r = this.#index.get(basename(path))
    // Removed by another process between the lookup and the read: a miss next time, not a fault.
    if (code(err) === 'ENOENT') { if (r !== undefined) this.#drop(r, false); return }
    this.#fault(err)
    if (r !== undefined) this.#drop(r, true)
    else this.#unlink(basename(path))
  }

  scanFault(_path: string, err: unknown): void {
    this.#fault(err)
  }

  touch(e: Entry): void {
    const r = this.#of.get(e)
    if (r === undefined || r.state !== State.STORED || !this.#index.holds(r)) return
    this.#index.use(r)
    const now = Date.now()
    if (now - r.used < TOUCH_EVERY) return
    r.used = now
    utimes(pathOf(this.path, r.name), now / 1000, now / 1000).catch(ignore)
  }

  /**
   * A 304 freshened the head (RFC 9111 §4.3.4): a new file with the new head, renamed into place,
   * then the old one removed. Two updates at once keep the first on disk (the entry in memory has
   * the latest either way; a later lookup after a restart reads a slightly older head, still valid).
   */
  update(e: Entry): void {
    const r = this.#of.get(e)
    if (r === undefined || !this.#index.holds(r)) return
    if (r.state !== State.STORED) { r.stale = true; return }
    const old = r.name
    const name = fileName(e.key, e.variant)
    this.#inFlight++
    rewrite(pathOf(this.path, name), encodeHead(e), e.body, pathOf(this.path, old), r.bodyStart, e.length).then((size) => {
      if (r.name !== old || !this.#index.holds(r) || e.gone) { this.#unlink(name); return }
      this.#index.renamed(r, name, size)
      this.#unlink(old)
      e.size = size
      r.bodyStart = size - e.length
    }, (err) => this.#fault(err)).finally(() => this.#settled())
  }

  remove(e: Entry): void {
    e.gone = true
    const r = this.#of.get(e)
    if (r !== undefined && this.#index.holds(r)) this.#drop(r, true)
  }

  /** §4.4, purge: what the index holds, and every file of the key on disk (others' writes too). */
  removeKey(key: string): number {
    const list = [...this.#index.under(key)]
    for (const r of list) this.#drop(r, true)
    this.#scanning?.purges.push({ target: key, prefix: false, at: purgeTime() })
    const kh = keyHash(key)
    readdir(dirOf(this.path, kh)).then((names) => { for (const n of names) if (parseName(n)?.kh === kh) this.#unlink(n) }, ignore)
    return list.length
  }

  /**
   * Purge by prefix: the keys this process knows (the scan's and its own writes; the other workers
   * hear of the purge too, cluster.ts, and remove theirs). A scan still running removes what it finds.
   */
  removePrefix(prefix: string): number {
    let n = 0
    for (const key of this.#index.keys()) if (key.startsWith(prefix)) n += this.removeKey(key)
    this.#scanning?.purges.push({ target: prefix, prefix: true, at: purgeTime() })
    return n
  }

  stats(): StoreStats {
    return { entries: this.#index.entries, bytes: this.#index.bytes, evicted: this.#evicted, faults: this.#faults }
  }

  /** Entries stay on disk for the next store on this path; writes in flight still complete. */
  close(): void {
    this.closed = true
  }

  /** Resolves when the start-up scan is merged and no file is being written or removed (specs, shutdown). */
  idle(): Promise<void> {
    if (this.#scanning === null && this.#inFlight === 0) return Promise.resolve()
    return new Promise((done) => this.#waiters.push(done))
  }

  #settled(): void {
    this.#inFlight--
    this.#wake()
  }

  #wake(): void {
    if (this.#scanning !== null || this.#inFlight > 0) return
    for (const w of this.#waiters.splice(0)) w()
  }

  /** Out of the index; its file removed (`unlinkFile`), or its write given up. */
  #drop(r: Rec, unlinkFile: boolean): void {
    this.#index.delete(r)
    this.#scanning?.dropped.add(r.name)
    if (r.entry !== null) r.entry.gone = true
    if (r.state !== State.STORED) r.fill?.abandon()
    else if (unlinkFile) this.#unlink(r.name)
  }

  /** Least recently used first, until the budget holds (the removals themselves run in the background). */
  #evict(): void {
    for (const r of this.#index.coldest()) {
      if (this.#index.bytes <= this.maxSize) return
      this.#drop(r, true)
      this.#evicted++
    }
  }

  /** The scan's files, less what was removed or purged meanwhile, go in older than all seen since. */
  #merge(found: Found[]): void {
    const s = this.#scanning!
    const names = this.#index.names()
    const older: Rec[] = []
    for (const f of found) {
      if (names.has(f.name) || s.dropped.has(f.name)) continue
      if (s.purges.some((p) => f.mtime <= p.at && (p.prefix ? f.key.startsWith(p.target) : f.key === p.target))) { this.#unlink(f.name); continue }
      const r = new Rec(f.name, f.key, State.STORED, null, f.mtime)
      r.bodyStart = f.bodyStart
      r.size = f.size
      older.push(r)
    }
    this.#index.prepend(older)
    for (const r of older) this.#index.stored(r, r.size)
    this.#evict()
  }

  #unlink(name: string): void {
    this.#inFlight++
    unlink(pathOf(this.path, name)).catch((err) => { if (code(err) !== 'ENOENT') this.#fault(err) }).finally(() => this.#settled())
  }

  /** Set by the zone registry: told of each fault (it logs one line per outage). */
  onFault: ((err: unknown) => void) | null = null

  #fault(err: unknown): void {
    this.#faults++
    this.onFault?.(err)
  }
}

/**
 * What a scan still running counts as written before a purge: a second ahead of now, as mtimes come
 * from a coarser clock. A file another worker wrote in that second is removed too (a miss), rather
 * than one written before the purge kept.
 */
function purgeTime(): number {
  return Date.now() + 1000
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}
