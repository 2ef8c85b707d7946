/**
 * Routing: the first route (most specific first, see config) whose host and path prefix match.
 */
import type { Route } from '../config/schema.js'
import type { Group } from '../upstream/group.js'
import type { FilterFactory } from './filter.js'
import { configPath } from '../http/path.js'

export interface CompiledRoute {
  readonly host: string | null
  /** Wildcard: the suffix after "*", e.g. ".example.com". */
  readonly suffix: string | null
  /** The prefix in the form request paths are matched in (http/path.ts), lower-case with ignoreCase. */
  readonly path: string
  readonly ignoreCase: boolean
  readonly group: Group
  /** The route's filter chain, in order; empty for a route without features. */
  readonly filters: readonly FilterFactory[]
  /** "host/path" as configured ("*" for any host): the route in rate-limit keys. */
  readonly label: string
  /** Its place in config.routes (the route's metric slots: Runtime.stats). */
  readonly index: number
}

export class Router {
  readonly #routes: CompiledRoute[]

  /** `chain`: compiles a route's features into its filter chain (Runtime). */
  constructor(routes: readonly Route[], groups: ReadonlyMap<string, Group>, chain: (r: Route) => readonly FilterFactory[] = () => []) {
    this.#routes = routes.map((r, index) => ({
      host: r.host !== null && !r.host.startsWith('*.') ? r.host : null,
      suffix: r.host !== null && r.host.startsWith('*.') ? r.host.slice(1) : null,
      path: r.ignore_case ? configPath(r.path).toLowerCase() : configPath(r.path),
      ignoreCase: r.ignore_case,
      group: groups.get(r.upstream)!,
      filters: chain(r),
      label: `${r.host ?? '*'}${r.path}`,
      index,
    }))
  }

  /** `host` is lower-case without port; `path` is the path to match (RequestInfo.route, http/path.ts). */
  match(host: string, path: string): CompiledRoute | null {
    let lower: string | null = null
    for (const r of this.#routes) {
      if (r.host !== null ? host !== r.host : r.suffix !== null && !(host.endsWith(r.suffix) && host.length > r.suffix.length)) continue
      if (prefixMatches(r.path, r.ignoreCase ? (lower ??= path.toLowerCase()) : path)) return r
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
