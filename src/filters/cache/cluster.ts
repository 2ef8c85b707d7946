/**
 * Purges and invalidations reach every worker of a cluster: each worker's memory store holds its own
 * entries, so the worker that saw the request tells the primary, which tells the others
 * (src/cluster/primary.ts relays `cache-purge`). Out of a cluster, nothing to do.
 */
import cluster from 'node:cluster'

export interface CachePurge {
  readonly type: 'cache-purge'
  /** A cache key (scheme://host/path?query), or a prefix of keys. */
  readonly target: string
  readonly prefix: boolean
  /** One zone's store, or every zone (null). */
  readonly zone: string | null
}

export function broadcast(target: string, prefix: boolean, zone: string | null): void {
  if (!cluster.isWorker || process.send === undefined) return
  const m: CachePurge = { type: 'cache-purge', target, prefix, zone }
  process.send(m)
}
