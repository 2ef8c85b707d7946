/**
 * The balancer interface, and what every algorithm shares: the filter of eligible peers and the smooth
 * weighted round-robin that breaks ties. One file per algorithm (round-robin.ts, least-conn.ts,
 * random-two.ts, hash.ts); `balancerFor` picks the one a group's config names.
 */
import type { Peer } from './peer.js'

export interface Balancer {
  /**
   * Called once per attempt of a request. Returns a peer of `peers` for which `ok.has(peer)` holds,
   * or null when there is none. `key` is the request's hash key (hash balancer only, else null).
   */
  pick(peers: readonly Peer[], ok: Eligible, key: string | null): Peer | null
}

const NONE: readonly Peer[] = []

/**
 * Which peers a pick may return: the current tier (primaries, or backups when no primary is
 * available), available now, and not yet tried by this request. One per group, reused for every
 * pick (picks are synchronous), so a pick allocates nothing.
 */
export class Eligible {
  backup = false
  tried: readonly Peer[] = NONE

  has(p: Peer): boolean {
    return p.backup === this.backup && p.up && p.ejectedUntil === 0 && p.admin === 0 && (this.tried.length === 0 || !this.tried.includes(p))
  }

  set(backup: boolean, tried: readonly Peer[] | null): void {
    this.backup = backup
    this.tried = tried ?? NONE
  }
}

/**
 * nginx's smooth weighted round-robin over the eligible peers (only those whose load is `onlyLoad`,
 * unless it is -1): each adds its effective weight to its running weight, the largest wins and gives
 * back the total. Weights 5:1:1 give a a b a c a a: the heavy peer's turns are spread out, not bunched.
 */
export function smooth(peers: readonly Peer[], ok: Eligible, onlyLoad = -1): Peer | null {
  let best: Peer | null = null
  let total = 0
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i]
    // `>`, not `!==`: a ramping peer's weight only grows, so its load read again here is at most what
    // the caller saw (two clock reads apart), and the least loaded peer is never lost.
    if (!ok.has(p) || (onlyLoad >= 0 && load(p) > onlyLoad)) continue
    const w = p.effectiveWeight()
    p.current += w
    total += w
    if (best === null || p.current > best.current) best = p
  }
  if (best !== null) best.current -= total
  return best
}

/** Load per unit of weight, the quantity least_conn and random_two compare. */
export function load(p: Peer): number {
  return p.inflight / p.effectiveWeight()
}
