/**
 * `random_two`: the power of two choices (nginx's `random two least_conn`, Envoy's least_request).
 * Draw two different peers at random, in proportion to their weights, and send to the less loaded
 * one; on a tie, the first drawn. Near least_conn's balance, without scanning for the minimum or
 * herding every proxy onto the same idle peer.
 */
import { Balancer, Eligible, load } from './balancer.js'
import type { Peer } from './peer.js'

export class RandomTwo implements Balancer {
  #state: number

  /** `seed`: for reproducible sequences (specs, benches); otherwise a random one. */
  constructor(seed = (Math.random() * 0xffffffff) >>> 0) {
    this.#state = seed >>> 0 || 1
  }

  pick(peers: readonly Peer[], ok: Eligible): Peer | null {
    let total = 0
    for (let i = 0; i < peers.length; i++) if (ok.has(peers[i])) total += peers[i].effectiveWeight()
    if (total === 0) return null
    const a = this.#draw(peers, ok, total, null)
    const rest = total - a.effectiveWeight()
    if (rest <= 0) return a
    const b = this.#draw(peers, ok, rest, a)
    return load(b) < load(a) ? b : a
  }

  /** A peer drawn with probability weight / total, skipping `not`. */
  #draw(peers: readonly Peer[], ok: Eligible, total: number, not: Peer | null): Peer {
    let r = this.#next() * total
    let last: Peer | null = null
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]
      if (p === not || !ok.has(p)) continue
      last = p
      r -= p.effectiveWeight()
      if (r < 0) return p
    }
    return last! // rounding left r at 0: the last candidate
  }

  /** xorshift32: fast, seedable, and good enough to spread load (not for secrets). */
  #next(): number {
    let x = this.#state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.#state = x >>> 0
    return this.#state / 0x100000000
  }
}
