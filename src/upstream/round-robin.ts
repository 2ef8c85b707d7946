/**
 * `round_robin` (the default): smooth weighted round-robin, in the nginx style (see balancer.ts).
 */
import { Balancer, Eligible, smooth } from './balancer.js'
import type { Peer } from './peer.js'

export class RoundRobin implements Balancer {
  pick(peers: readonly Peer[], ok: Eligible): Peer | null {
    return smooth(peers, ok)
  }
}
