/**
 * IPv4 and IPv6 CIDR matching for `trusted_proxies`. Addresses are compared as 128-bit numbers (IPv4
 * mapped into ::ffff:0:0/96, RFC 4291 §2.5.5.2), so "10.0.0.0/8" also matches "::ffff:10.1.2.3",
 * which is how a dual-stack listener reports an IPv4 client.
 */
import { isIP } from 'node:net'

export interface Cidr { readonly base: bigint; readonly mask: bigint }

function toBig(addr: string): bigint | null {
  const kind = isIP(addr)
  if (kind === 4) {
    const p = addr.split('.').map(Number)
    return 0xffff00000000n | BigInt(((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0)
  }
  if (kind !== 6) return null
  let s = addr
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4 !== null) {
    const n = toBig(v4[1])! & 0xffffffffn
    s = s.slice(0, -v4[1].length) + ((n >> 16n).toString(16)) + ':' + ((n & 0xffffn).toString(16))
  }
  const [head, tail] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined ? [] : tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  let n = 0n
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16))
  return n
}

export function parseCidr(s: string): Cidr | null {
  const [addr, bits] = s.split('/')
  const n = toBig(addr)
  if (n === null) return null
  const max = isIP(addr) === 4 ? 32 : 128
  const len = bits === undefined ? max : Number(bits)
  if (!Number.isInteger(len) || len < 0 || len > max || (bits !== undefined && !/^\d+$/.test(bits))) return null
  const prefix = BigInt(len + (max === 32 ? 96 : 0))
  const mask = ((1n << 128n) - 1n) ^ ((1n << (128n - prefix)) - 1n)
  return { base: n & mask, mask }
}

/** A compiled list of CIDRs; `has` answers for one client address (cached per address string). */
export class CidrList {
  readonly #list: Cidr[]
  readonly #cache = new Map<string, boolean>()

  constructor(cidrs: readonly string[]) {
    this.#list = cidrs.map((c) => parseCidr(c)!).filter((c) => c !== null)
  }

  get empty(): boolean { return this.#list.length === 0 }

  has(addr: string): boolean {
    if (this.#list.length === 0) return false
    let hit = this.#cache.get(addr)
    if (hit === undefined) {
      const n = toBig(addr)
      hit = n !== null && this.#list.some((c) => (n & c.mask) === c.base)
      if (this.#cache.size > 10_000) this.#cache.clear()
      this.#cache.set(addr, hit)
    }
    return hit
  }
}

// PLACEHOLDER until the cidr-pp branch lands: a linear table with the same API.
export class CidrTable<T> {
  readonly #e: [Cidr, number, T][]
  constructor(entries: readonly (readonly [string, T])[]) {
    this.#e = entries.map(([c, v]) => { const p = parseCidr(c)!; let bits = 0; for (let m = p.mask; m > 0n; m >>= 1n) if (m & 1n) bits++; return [p, bits, v] })
  }
  get size(): number { return this.#e.length }
  lookup(addr: string): T | undefined {
    const n = parseCidr(addr)
    if (n === null) return undefined
    let best = -1; let v: T | undefined
    for (const [c, bits, val] of this.#e) if ((n.base & c.mask) === c.base && bits >= best) { best = bits; v = val }
    return v
  }
}
