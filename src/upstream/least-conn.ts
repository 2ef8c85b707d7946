/**
 * `least_conn`: the peer with the fewest requests in flight per unit of weight. Ties, which are the
 * rule under light load, are broken by smooth weighted round-robin, so that idle peers still share
 * the traffic by weight (as nginx's least_conn does).
 */
import { Balancer, Eligible, load, smooth } from './balancer.js'
import type { Peer } from './peer.js'

export class LeastConn implements Balancer {
  pick(peers: readonly Peer[], ok: Eligible): Peer | null {
    let min = Infinity
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]
      if (!ok.has(p)) continue
      const l = load(p)
      if (l < min) min = l
    }
    return min === Infinity ? null : smooth(peers, ok, min)
  }
}
