/**
 * The cells of the bench-peers matrix and the shape of its results (what run.ts measures and
 * report.ts and chart.ts draw), kept apart so the drawing scripts can read a saved JSON file.
 */
import type { Machine, Summary } from '../load/report.js'

export type Mode = 'keep-alive' | 'close'

export interface Cell {
  /** Response body bytes. */
  size: number
  connections: number
  /** keep-alive, or a new connection per request (wrk sends `Connection: close`). */
  mode: Mode
}

export const SIZES = [0, 1024, 65536, 1024 * 1024]
export const CONNECTIONS = [1, 50, 1000]
export const MODES: readonly Mode[] = ['keep-alive', 'close']

/** BENCH_QUICK=1: a fast check of the whole path, not a comparison to publish. */
export const QUICK: readonly Cell[] = [
  { size: 0, connections: 50, mode: 'keep-alive' },
  { size: 65536, connections: 50, mode: 'keep-alive' },
]

/** BENCH_CELLS: `SIZE/CONNECTIONS/MODE` items, comma-separated, e.g. `0/1000/keep-alive,65536/50/close`. */
export function parseCells(spec: string): Cell[] {
  return spec.split(',').map((item) => {
    const [size, connections, mode] = item.trim().split('/')
    const c = { size: Number(size), connections: Number(connections), mode: mode as Mode }
    if (!Number.isInteger(c.size) || c.size < 0 || !Number.isInteger(c.connections) || c.connections < 1 || !MODES.includes(c.mode)) {
      throw new Error(`BENCH_CELLS: "${item}" is not SIZE/CONNECTIONS/${MODES.join('|')}`)
    }
    return c
  })
}

export function fullMatrix(): Cell[] {
  return MODES.flatMap((mode) => SIZES.flatMap((size) => CONNECTIONS.map((connections) => ({ size, connections, mode }))))
}

/** The cell everybody looks at first: the orientation figures are for it. */
export const KEY: Cell = { size: 0, connections: 50, mode: 'keep-alive' }

export function sameCell(a: Cell, b: Cell): boolean {
  return a.size === b.size && a.connections === b.connections && a.mode === b.mode
}

export function sizeLabel(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`
  return `${n} B`
}

export function cellLabel(c: Cell): string {
  return `${sizeLabel(c.size)} · ${c.connections} conn · ${c.mode === 'close' ? 'new conn/req' : 'keep-alive'}`
}

/** One design in one cell: the mean over rounds (bench/load/report.ts) plus the highest RSS. */
export interface Result extends Summary {
  /** Highest resident memory of all the design's processes during the measured runs, bytes. */
  rss: number
}

export interface Results {
  machine: Machine
  settings: { rounds: number; seconds: number; warmup: number; loadCpu: string; proxyCpu: string; maxOther: number; retries: number; quick: boolean }
  /** Every design in column order, with what it is, or why it was skipped. */
  designs: { name: string; about: string; skipped: string | null }[]
  cells: { cell: Cell; results: Record<string, Result> }[]
  /** The cache section, when it ran (BENCH_CACHE). */
  cache?: CacheResults
}

/** The cache section (bench/peers/cache.ts): a hit or a miss row, for one body size. */
export type CacheKind = 'hit' | 'miss'

export interface CacheRow {
  kind: CacheKind
  /** Response body bytes. */
  size: number
  /** The path wrk asks for: /cache/SIZE (stored for an hour) or /nostore/SIZE (never stored). */
  path: string
  /** The designs measured in this row, in column order. */
  designs: readonly string[]
}

export interface CacheResults {
  /** wrk's keep-alive connections for every row. */
  connections: number
  /** Every design of the section, with what it is, or why it did not run. */
  designs: { name: string; about: string; skipped: string | null }[]
  rows: {
    row: CacheRow
    results: Record<string, Result>
    /** Designs whose hit (or miss) check failed before or after the measured run: not reported, and why. */
    refused: Record<string, string>
    /** The cache fields of each design's checked answer before its run (`x-cache: HIT; age: 0`), to show what was checked. */
    seen?: Record<string, string>
  }[]
}

export function cacheRowLabel(r: Pick<CacheRow, 'kind' | 'size'>): string {
  return `${r.kind} · ${sizeLabel(r.size)}`
}
