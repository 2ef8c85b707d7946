/**
 * Routing: the first route (most specific first, see config) whose host and path prefix match.
 */
import type { Route } from '../config/schema.js'
import type { Group } from '../upstream/group.js'
import type { FilterFactory } from './filter.js'

export interface CompiledRoute {
  readonly host: string | null
  /** Wildcard: the suffix after "*", e.g. ".example.com". */
  readonly suffix: string | null
  readonly path: string
  readonly group: Group
  /** The route's filter chain, in order; empty for a route without features. */
  readonly filters: readonly FilterFactory[]
}

export class Router {
  readonly #routes: CompiledRoute[]

  /** `chain`: compiles a route's features into its filter chain (Runtime). */
  constructor(routes: readonly Route[], groups: ReadonlyMap<string, Group>, chain: (r: Route) => readonly FilterFactory[] = () => []) {
    this.#routes = routes.map((r) => ({
      host: r.host !== null && !r.host.startsWith('*.') ? r.host : null,
      suffix: r.host !== null && r.host.startsWith('*.') ? r.host.slice(1) : null,
      path: r.path,
      group: groups.get(r.upstream)!,
      filters: chain(r),
    }))
  }

  /** `host` is lower-case without port; `path` is the request target's path (origin-form). */
  match(host: string, path: string): CompiledRoute | null {
    for (const r of this.#routes) {
      if (r.host !== null ? host !== r.host : r.suffix !== null && !(host.endsWith(r.suffix) && host.length > r.suffix.length)) continue
      if (prefixMatches(r.path, path)) return r
    }
    return null
  }
}

/** "/api" matches "/api", "/api/", "/api/x" and "/api?q", but not "/apix": prefixes end on a segment. */
function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true
  if (!path.startsWith(prefix)) return false
  if (path.length === prefix.length) return true
  const c = path.charCodeAt(prefix.length)
  return c === 0x2f /* / */ || c === 0x3f /* ? */
}
