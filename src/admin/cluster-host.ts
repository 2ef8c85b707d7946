/**
 * The admin API over a cluster primary (workers > 1): metrics and status gathered from every worker in
 * one round of IPC (cluster/primary.ts), health and peer actions decided here, reloads as SIGHUP's.
 */
import type { Config } from '../config/schema.js'
import type { Primary } from '../cluster/primary.js'
import type { Reloader } from '../reload.js'
import type { AdminHost, PeerAction, TraceFeed } from './api.js'
import type { FamilyData } from './registry.js'
import type { GroupStatus } from '../upstream/group.js'
import { probeFamily } from './server-metrics.js'
import { routing } from './status.js'
import { HostBase } from './single.js'

export class ClusterHost extends HostBase implements AdminHost {
  readonly #primary: Primary

  /** The primary's own families add the probes it runs (its health runtime). */
  constructor(primary: Primary, reloader: Reloader, parser: string) {
    super(reloader, parser, [probeFamily(() => primary.health)])
    this.#primary = primary
  }

  metrics(): Promise<FamilyData[]> { return this.#primary.metrics(this.own.read()) }

  async status(): Promise<Record<string, unknown>> {
    const snaps = await this.#primary.snapshots()
    return {
      ...this.process(),
      workers: snaps.map((s) => ({ worker: s.slot, pid: s.pid, ...s.counters })),
      ...routing(this.#primary.health),
    }
  }

  config(): Config { return this.#primary.config }

  upstreams(): GroupStatus[] { return this.#primary.health.status() }

  get traces(): TraceFeed { return this.#primary.traces }

  peer(group: string, peer: string, action: PeerAction): boolean {
    return this.#primary.peerAdmin(group, peer, action)
  }
}
