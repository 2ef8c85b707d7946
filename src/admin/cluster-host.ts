/**
 * The admin API over a cluster primary (workers > 1): metrics and status gathered from every worker in
 * one round of IPC (cluster/primary.ts), health and peer actions decided here, reloads as SIGHUP's.
 */
import type { Config } from '../config/schema.js'
import type { Primary } from '../cluster/primary.js'
import type { Reloader, ReloadResult } from '../reload.js'
import type { AdminHost, PeerAction } from './api.js'
import { Registry, type FamilyData } from './registry.js'
import { processFamilies } from './process-metrics.js'
import { controlFamilies } from './control-metrics.js'
import { probeFamily } from './server-metrics.js'
import { processStatus, routing } from './status.js'

export class ClusterHost implements AdminHost {
  readonly #primary: Primary
  readonly #reloader: Reloader
  /** The primary's own families: reloads, build, its process, and the probes it runs. */
  readonly #own = new Registry()

  constructor(primary: Primary, reloader: Reloader, parser: string) {
    this.#primary = primary
    this.#reloader = reloader
    for (const f of [...controlFamilies(reloader, parser), ...processFamilies(), probeFamily(() => primary.health)]) this.#own.add(f)
  }

  metrics(): Promise<FamilyData[]> { return this.#primary.metrics(this.#own.read()) }

  async status(): Promise<Record<string, unknown>> {
    const snaps = await this.#primary.snapshots()
    return {
      ...processStatus(this.#reloader),
      workers: snaps.map((s) => ({ worker: s.slot, pid: s.pid, ...s.counters })),
      ...routing(this.#primary.health),
    }
  }

  config(): Config { return this.#primary.config }

  reload(): Promise<ReloadResult> { return this.#reloader.run() }

  peer(group: string, peer: string, action: PeerAction): boolean {
    return this.#primary.peerAdmin(group, peer, action)
  }
}
