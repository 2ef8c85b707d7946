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

export const FILTERS: readonly FilterKind[] = [headers, access, limits, rules, auth, rateLimit, hsts]

export { pruneStores as afterReload, closeStores as closeFilters } from './rate-limit/stores.js'
