/**
 * The admin API over a single proxy process (workers: 1): everything is read here, in this process.
 */
import type { Config } from '../config/schema.js'
import type { Server } from '../server/server.js'
import type { Reloader, ReloadResult } from '../reload.js'
import type { AdminHost, PeerAction } from './api.js'
import { Registry, type FamilyData } from './registry.js'
import { processFamilies } from './process-metrics.js'
import { featureFamilies } from './feature-metrics.js'
import { controlFamilies } from './control-metrics.js'
import { processStatus, serverStatus } from './status.js'

export class SingleHost implements AdminHost {
  readonly #server: Server
  readonly #reloader: Reloader
  readonly #others = new Registry()

  constructor(server: Server, reloader: Reloader, parser: string) {
    this.#server = server
    this.#reloader = reloader
    for (const f of [...controlFamilies(reloader, parser), ...featureFamilies(), ...processFamilies()]) this.#others.add(f)
  }

  metrics(): Promise<FamilyData[]> {
    return Promise.resolve([...this.#server.metrics.read(), ...this.#others.read()])
  }

  status(): Promise<Record<string, unknown>> {
    return Promise.resolve({ ...processStatus(this.#reloader), workers: null, ...serverStatus(this.#server) })
  }

  config(): Config { return this.#server.rt.config }

  reload(): Promise<ReloadResult> { return this.#reloader.run() }

  peer(group: string, peer: string, action: PeerAction): boolean {
    return this.#server.rt.groups.get(group)?.setAdmin(peer, action) ?? false
  }
}
