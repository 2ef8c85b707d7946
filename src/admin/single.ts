/**
 * What the admin API acts on (AdminHost, api.ts): a single proxy process (workers: 1), where
 * everything is read in this process, or a cluster primary (cluster-host.ts). Both take reloads
 * through the Reloader and add the families of the process the API runs in (HostBase).
 */
import type { Config } from '../config/schema.js'
import type { Server } from '../server/server.js'
import type { Reloader, ReloadResult } from '../reload.js'
import type { AdminHost, PeerAction, TraceFeed } from './api.js'
import type { Family, FamilyData, Registry } from './registry.js'
import type { GroupStatus } from '../upstream/group.js'
import { featureFamilies } from './feature-metrics.js'
import { hostRegistry } from './control-metrics.js'
import { processStatus, serverStatus } from './status.js'

/** The reloader, and this process's own families: reloads, build, the process, and `more`. */
export abstract class HostBase {
  readonly #reloader: Reloader
  readonly own: Registry

  constructor(reloader: Reloader, parser: string, more: readonly Family[]) {
    this.#reloader = reloader
    this.own = hostRegistry(reloader, parser, more)
  }

  reload(): Promise<ReloadResult> { return this.#reloader.run() }

  /** The process's and the config's facts for GET /status. */
  process(): Record<string, unknown> { return processStatus(this.#reloader) }
}

export class SingleHost extends HostBase implements AdminHost {
  readonly #server: Server

  constructor(server: Server, reloader: Reloader, parser: string) {
    super(reloader, parser, featureFamilies())
    this.#server = server
  }

  get traces(): TraceFeed { return this.#server.tracer }

  metrics(): Promise<FamilyData[]> {
    return Promise.resolve([...this.#server.metrics.read(), ...this.own.read()])
  }

  status(): Promise<Record<string, unknown>> {
    return Promise.resolve({ ...this.process(), workers: null, ...serverStatus(this.#server) })
  }

  config(): Config { return this.#server.rt.config }

  upstreams(): GroupStatus[] { return this.#server.rt.status() }

  peer(group: string, peer: string, action: PeerAction): boolean {
    return this.#server.rt.groups.get(group)?.setAdmin(peer, action) ?? false
  }
}
