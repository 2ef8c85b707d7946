/**
 * What one process knows of a disk store's directory: each entry's file name, key and size, in
 * least-recently-used order (a Map's insertion order: a use moves it to the end), the bytes and
 * entries counted against the budget, and the entries under each key. No I/O: the store does that.
 */
import type { Entry } from './entry.js'
import type { DiskFill } from './disk-write.js'
import { parseName } from './disk-format.js'

export const enum State { FILLING, WRITING, STORED }

/** One entry: being written by this process, or a file on disk. */
export class Rec {
  /** The file's name; a new one when the head is rewritten (a 304). */
  name: string
  readonly key: string
  /** The variant's hash, from the name: the same for every generation of the variant. */
  readonly vh: string
  state: State
  /** Null for a file known from the scan only (its head is read at its first lookup). */
  entry: Entry | null
  fill: DiskFill | null = null
  size = 0
  bodyStart = 0
  /** When it was last served, or its file's mtime. */
  used: number
  /** The index's sequence when its file went in place (a directory listing begun before may miss it). */
  since = 0
  /** The head changed while the file was being written: it is written again once in place. */
  stale = false

  constructor(name: string, key: string, state: State, entry: Entry | null, used: number) {
    this.name = name
    this.key = key
    this.vh = parseName(name)!.vh
    this.state = state
    this.entry = entry
    this.used = used
  }
}

const NONE: readonly Rec[] = []

export class DiskIndex {
  /** By file name, least recently used first. */
  readonly #recs = new Map<string, Rec>()
  readonly #byKey = new Map<string, Rec[]>()
  bytes = 0
  entries = 0
  /** Counts files put in place, for `since`. */
  seq = 0

  get(name: string): Rec | undefined {
    return this.#recs.get(name)
  }

  /** `r` is in the index (not dropped, nor replaced by a rename). */
  holds(r: Rec): boolean {
    return this.#recs.get(r.name) === r
  }

  under(key: string): readonly Rec[] {
    return this.#byKey.get(key) ?? NONE
  }

  keys(): string[] {
    return [...this.#byKey.keys()]
  }

  names(): Set<string> {
    return new Set(this.#recs.keys())
  }

  add(r: Rec): void {
    this.#recs.set(r.name, r)
    let list = this.#byKey.get(r.key)
    if (list === undefined) this.#byKey.set(r.key, list = [])
    list.push(r)
  }

  /** `r`'s file is in place, `size` bytes: counted in the budget. */
  stored(r: Rec, size: number): void {
    r.state = State.STORED
    r.size = size
    r.since = ++this.seq
    this.bytes += size
    this.entries++
  }

  /** `r`'s file was rewritten under a new name (a new head, the same content). */
  renamed(r: Rec, name: string, size: number): void {
    this.#recs.delete(r.name)
    r.name = name
    this.bytes += size - r.size
    r.size = size
    r.since = ++this.seq
    this.#recs.set(name, r)
  }

  /** Served: to the hot end. */
  use(r: Rec): void {
    this.#recs.delete(r.name)
    this.#recs.set(r.name, r)
  }

  /** Out of the index (and out of the budget, if it was stored). */
  delete(r: Rec): void {
    this.#recs.delete(r.name)
    const list = this.#byKey.get(r.key)
    if (list !== undefined) {
      list.splice(list.indexOf(r), 1)
      if (list.length === 0) this.#byKey.delete(r.key)
    }
    if (r.state !== State.STORED) return
    this.bytes -= r.size
    this.entries--
  }

  /** Stored entries, the least recently used first. */
  *coldest(): Generator<Rec> {
    for (const r of this.#recs.values()) if (r.state === State.STORED) yield r
  }

  /** Puts `older` (the start-up scan's, oldest first) before everything seen since, at the cold end. */
  prepend(older: readonly Rec[]): void {
    const seen = [...this.#recs.values()]
    this.#recs.clear()
    for (const r of older) this.add(r)
    for (const r of seen) this.#recs.set(r.name, r)
  }
}
