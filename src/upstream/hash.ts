/**
 * `hash`: consistent hashing on a key from the request (hash-key.ts), in the ketama style. Each peer
 * owns points on a 32-bit ring, in proportion to its weight; a key goes to the owner of the first
 * point at or after the key's hash. Adding or removing one of N peers moves only the keys of the
 * points it gains or loses, about 1/N of them (spec/upstream/hash.spec.ts measures it). A key whose
 * peer is not eligible walks on round the ring to the next eligible owner, so the other keys stay put.
 * A request without a key is balanced round-robin.
 */
import { createHash } from 'node:crypto'
import { Balancer, Eligible, smooth } from './balancer.js'
import type { Peer } from './peer.js'

/** Points per peer of average weight: enough that shares stay within a few percent of the weights. */
const POINTS = 160

export class Hash implements Balancer {
  readonly #points: Uint32Array
  readonly #owners: Uint16Array
  readonly #peers: readonly Peer[]

  constructor(peers: readonly Peer[]) {
    this.#peers = peers
    const total = peers.reduce((s, p) => s + p.weight, 0)
    const ring: [number, number][] = []
    peers.forEach((p, owner) => {
      const n = Math.max(1, Math.round((POINTS * peers.length * p.weight) / total))
      // Points come from the peer's address, not its position: the ring is the same whatever the
      // order or number of the other peers, which is what keeps keys in place.
      for (let i = 0; ring.length < 1e6 && i < n; i += 4) {
        const d = createHash('md5').update(`${p.label}-${i / 4}`).digest()
        for (let k = 0; k < 4 && i + k < n; k++) ring.push([d.readUInt32LE(4 * k), owner])
      }
    })
    ring.sort((a, b) => a[0] - b[0])
    this.#points = Uint32Array.from(ring, (r) => r[0])
    this.#owners = Uint16Array.from(ring, (r) => r[1])
  }

  pick(peers: readonly Peer[], ok: Eligible, key: string | null): Peer | null {
    if (key === null) return smooth(peers, ok)
    const pts = this.#points
    const n = pts.length
    let at = search(pts, hashKey(key))
    for (let walked = 0; walked < n; walked++, at++) {
      const p = this.#peers[this.#owners[at === n ? (at = 0) : at]]
      if (ok.has(p)) return p
    }
    return null
  }
}

/** Index of the first point >= h (n when there is none: wraps to 0). */
function search(pts: Uint32Array, h: number): number {
  let lo = 0
  let hi = pts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (pts[mid] < h) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** FNV-1a over the key's UTF-16 units, then murmur3's finalizer to spread close keys over the ring. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
