/**
 * The `cache` key of a route: an RFC 9111 shared cache, with RFC 5861's stale extensions and RFC 9211's
 * Cache-Status (src/filters/cache/, one concern per file: directives, dates, entry, policy, vary,
 * conditional, stores, fill, locks, background, invalidate, purge).
 */
import type { FilterKind } from '../proxy/filter.js'
import { CacheRoute } from './cache/route.js'

export const cache: FilterKind = {
  name: 'cache',
  compile: (f, ctx) => f.cache === null ? null : new CacheRoute(f.cache, ctx.events),
}

export { closeZones, pruneZones, purge } from './cache/stores.js'
