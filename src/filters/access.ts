/**
 * `access` of a route: IP allow and deny lists over the real client address (proxy/client-ip.ts).
 * The most specific entry that covers the address decides, at equal prefixes deny wins, and an address
 * no entry covers gets `default`. Refused: 403 (cause PR). One lookup is a binary search (O(log n))
 * over the table built once per config (config/cidr.ts); a list of 100,000 entries is fine.
 *
 * The same lists on a listener close connections at accept instead (server/endpoint.ts).
 */
import type { AccessConfig } from '../config/features.js'
import { AccessTable } from '../proxy/access-table.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import { Reply } from '../proxy/reply.js'

const FORBIDDEN = new Reply(403, '', null, 'PR')

class Access implements FilterFactory, Filter {
  readonly name = 'access'
  readonly order = 10
  readonly #table: AccessTable

  constructor(cfg: AccessConfig) {
    this.#table = new AccessTable(cfg)
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): Reply | undefined {
    return this.#table.allows(x.clientIp) ? undefined : FORBIDDEN
  }
}

/** Tables shared by every route that inherits the same `access` from `defaults` (one build per config). */
const built = new WeakMap<AccessConfig, Access>()

export const access: FilterKind = {
  name: 'access',
  compile: (f) => {
    if (f.access === null) return null
    let a = built.get(f.access)
    if (a === undefined) built.set(f.access, a = new Access(f.access))
    return a
  },
}
