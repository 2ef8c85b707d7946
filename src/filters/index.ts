/**
 * The wiring list: every feature the proxy can put on a route's filter chain. The composition root
 * (cli.ts, cluster/worker.ts) hands it to the Server; a new feature is a file in this folder, its keys
 * in the config schema (config/features.ts), and one line here. Order is each filter's own `order`,
 * never this list's.
 */
import type { FilterKind } from '../proxy/filter.js'
import { headers } from './headers.js'
import { access } from './access.js'
import { limits } from './limits.js'
import { rules } from './rules.js'
import { auth } from './auth.js'
import { rateLimit } from './rate-limit.js'
import { hsts } from './hsts.js'
import { cache, closeZones, pruneZones } from './cache.js'
import { compress } from './compress.js'
import { closeStores, pruneStores } from './rate-limit/stores.js'
import type { Config } from '../config/schema.js'

export const FILTERS: readonly FilterKind[] = [headers, access, limits, rules, auth, rateLimit, cache, compress, hsts]

/** A reload is done: the stores the new config no longer names are closed. */
export async function afterReload(config: Config): Promise<void> {
  pruneZones(config)
  await pruneStores(config)
}

/** Shutting down: every feature's stores close. */
export async function closeFilters(): Promise<void> {
  closeZones()
  await closeStores()
}

export { purge } from './cache.js'
