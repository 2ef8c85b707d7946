/**
 * Everything a connection needs from one config, built once: groups with their pools, the router, the
 * trusted-proxy list and the parser limits. A reload builds a new Runtime and swaps it in; connections
 * take the current one at the start of each request, so a request in flight finishes on the config it
 * started with (DESIGN principle 8).
 */
import type { Config, Route } from '../config/schema.js'
import { Features, merge } from '../config/features.js'
import { CidrList } from '../config/cidr.js'
import type { Limits } from '../http/llhttp.js'
import { Group, GroupStatus } from '../upstream/group.js'
import type { EventLog } from '../log/events.js'
import { Router } from './router.js'
import { BuildContext, FilterFactory, FilterKind, chainOf } from './filter.js'
import type { StatsSource, StatsTable } from '../admin/route-stats.js'

export class Runtime {
  readonly config: Config
  readonly groups: ReadonlyMap<string, Group>
  readonly router: Router
  readonly trusted: CidrList
  readonly limits: Limits
  /** Our Via entry, "1.1 <via>" (RFC 9110 §7.6.3). */
  readonly via: string
  /** The chain of `defaults`, for requests no route matches (they are answered 404 after it). */
  readonly unrouted: readonly FilterFactory[]
  /** Each route's metric slots, when the config has an admin listener (else null: nothing is counted). */
  readonly stats: StatsTable | null

  /**
   * `previous`: the runtime this one replaces, whose peers' health state is carried over. `checks`:
   * run the active health checks here (false in a cluster worker: the primary runs them once).
   * `kinds`: the features the composition root wires in (src/filters/index.ts); none in the cluster
   * primary, which serves no request.
   */
  constructor(config: Config, events: EventLog | null = null, previous: Runtime | null = null, checks = true, kinds: readonly FilterKind[] = [], stats: StatsSource | null = null) {
    this.config = config
    this.stats = stats === null || config.admin === null ? null : stats.table(config.routes.map((r) => ({ label: `${r.host ?? '*'}${r.path}`, upstream: r.upstream })))
    this.limits = { maxHead: config.limits.max_head, maxTarget: config.limits.max_target }
    const groups = new Map<string, Group>()
    for (const [name, u] of config.upstreams) groups.set(name, new Group(u, config.timeouts, this.limits, events, checks))
    this.groups = groups
    const ctx: BuildContext = { config, events }
    const chain = (f: Features): readonly FilterFactory[] => chainOf(kinds.map((k) => k.compile(f, ctx)))
    this.unrouted = chain(config.defaults)
    // A route that sets no feature of its own shares the defaults' chain.
    this.router = new Router(config.routes, groups, (r: Route) =>
      Object.keys(r.features).length === 0 ? this.unrouted : chain(merge(config.defaults, r.features)))
    this.trusted = new CidrList(config.trusted_proxies)
    this.via = `1.1 ${config.via}`
    for (const [name, g] of groups) g.start(previous?.groups.get(name))
  }

  /** Every group's peers with their state, counts and last probe (for the admin API). */
  status(): GroupStatus[] {
    return [...this.groups.values()].map((g) => g.status())
  }

  /** The runtime is replaced: idle upstream sockets close now, busy ones when their exchange ends. */
  retire(): void {
    for (const g of this.groups.values()) g.retire()
  }
}

