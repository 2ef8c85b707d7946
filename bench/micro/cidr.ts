/**
 * Group (d): the access lists. A CidrTable of 100,000 random, overlapping prefixes (IPv4, IPv6,
 * IPv4-mapped, and short IPv6 prefixes that hold all of IPv4), as an allow/deny file could hold.
 * Loading it is measured once (`loadCase`); a lookup is what a connection pays on accept. One op =
 * COUNT lookups of different addresses, like the other groups' "per request".
 *
 * The generator is seeded, so spec/config/cidr.spec.ts checks the table against a naive matcher on
 * the very same inputs.
 */
import { performance } from 'node:perf_hooks'
import { CidrList, CidrTable } from '../../src/config/cidr.js'
import { COUNT } from './requests.js'
import type { Case } from './parse.js'

/** mulberry32: a small seeded PRNG, so every run and every spec sees the same tables. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const dotted = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`

/** Eight 16-bit groups as text: in full, or with the first run of two or more zero groups as "::". */
function colons(g: number[], compress: boolean, upper: boolean): string {
  let s = g.map((x) => x.toString(16)).join(':')
  if (compress) {
    const m = /(^|:)0(:0)+(:|$)/.exec(s)
    if (m !== null) s = s.slice(0, m.index) + '::' + s.slice(m.index + m[0].length)
  }
  return upper ? s.toUpperCase() : s
}

/** A source of related addresses: a few seeds, so that random prefixes nest and overlap. */
class Space {
  readonly seeds4: number[]
  readonly seeds6: number[][]

  constructor(readonly rnd: () => number) {
    const int = (n: number): number => Math.floor(rnd() * n)
    this.seeds4 = Array.from({ length: 64 }, () => int(2 ** 32))
    this.seeds6 = Array.from({ length: 64 }, () => [0x2001, 0xdb8, int(4) * 0x1000, int(65536), 0, 0, int(2) * int(65536), int(65536)])
  }

  int(n: number): number { return Math.floor(this.rnd() * n) }

  /** An IPv4 address near a seed (a few low bits changed). */
  v4(): number { return (this.seeds4[this.int(64)] ^ this.int(2 ** (8 + this.int(24)))) >>> 0 }

  v6(): number[] {
    const g = this.seeds6[this.int(64)].slice()
    g[7 - this.int(4)] ^= this.int(65536)
    return g
  }

  v6text(g: number[]): string { return colons(g, this.rnd() < 0.8, this.rnd() < 0.1) }
}

/** `n` entries valued by their index: mixed families, nested, overlapping, some repeated. */
export function randomEntries(n: number, seed: number): [string, number][] {
  const s = new Space(prng(seed))
  const out: [string, number][] = []
  for (let i = 0; i < n; i++) {
    const r = s.rnd()
    let cidr: string
    if (r < 0.6) cidr = `${dotted(s.v4())}/${[8 + s.int(9), 17 + s.int(8), 25 + s.int(8)][s.int(3)]}`
    else if (r < 0.94) cidr = `${s.v6text(s.v6())}/${16 + s.int(113)}`
    else if (r < 0.97) cidr = `::ffff:${dotted(s.v4())}/${96 + 8 + s.int(25)}` // IPv4-mapped: an IPv4 prefix
    else if (r < 0.975) cidr = `::ffff:0:0/${s.int(96)}` // holds all of IPv4 (host bits set: masked)
    else if (r < 0.976) cidr = s.rnd() < 0.5 ? '0.0.0.0/0' : '::/0'
    else cidr = out.length > 0 ? out[s.int(out.length)][0] : '10.0.0.0/8' // the same prefix again: the later wins
    out.push([cidr, i])
  }
  return out
}

/** `n` addresses to look up: near the same seeds, written as IPv4, IPv6, or IPv4-mapped (dotted or hex). */
export function randomAddresses(n: number, seed: number, family?: 4 | 6): string[] {
  const s = new Space(prng(seed))
  return Array.from({ length: n }, () => {
    const r = family === 4 ? 0 : family === 6 ? 0.6 : s.rnd()
    const a = s.v4()
    if (r < 0.5) return dotted(a)
    if (r < 0.55) return `::ffff:${dotted(a)}`
    if (r < 0.6) return s.v6text([0, 0, 0, 0, 0, 0xffff, a >>> 16, a & 0xffff])
    return s.v6text(s.v6())
  })
}

/** Builds the 100k-entry table once and says how long it took (ms). */
export function loadCase(n = 100_000): { table: CidrTable<number>; ms: number } {
  const entries = randomEntries(n, 42)
  const t0 = performance.now()
  const table = new CidrTable(entries)
  return { table, ms: performance.now() - t0 }
}

export function lookupCases(table: CidrTable<number>): Case[] {
  const rows: Case[] = []
  for (const family of [4, 6] as const) {
    const addrs = randomAddresses(4096, 7, family)
    let at = 0
    let sink = 0
    rows.push({
      name: `IPv${family} lookup, ${table.size.toLocaleString('en-US')} entries`,
      run: () => {
        for (let i = 0; i < COUNT; i++) sink += table.lookup(addrs[(at + i) & 4095]) ?? 0
        at = (at + COUNT) & 4095
        if (sink === -1) throw new Error('unreachable')
      },
    })
  }
  const trusted = new CidrList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'])
  const clients = randomAddresses(4096, 9)
  let at = 0
  rows.push({
    name: 'CidrList.has, 4 trusted_proxies',
    run: () => {
      for (let i = 0; i < COUNT; i++) trusted.has(clients[(at + i) & 4095])
      at = (at + COUNT) & 4095
    },
  })
  return rows
}
