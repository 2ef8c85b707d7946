/**
 * The campaign's randomness: mulberry32, seeded per input from (campaign seed, input index), so one
 * input can be replayed alone (`make fuzz SEED=s ONLY=i`) and its bytes never depend on timing.
 */
export class Rng {
  #s: number

  constructor(seed: number) {
    this.#s = seed | 0
  }

  /** The generator of input `index` of the campaign `seed` (a split-mix of both). */
  static of(seed: number, index: number): Rng {
    let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
    return new Rng(h ^ (h >>> 15))
  }

  /** [0, 1) */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) | 0
    let r = Math.imul(this.#s ^ (this.#s >>> 15), 1 | this.#s)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]
  }

  /** `n` characters of `alphabet`. */
  text(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = ''
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)]
    return s
  }

  /** `n` bytes, any value. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256)
    return b
  }
}
