/**
 * Strict-Transport-Security (RFC 6797) on every response of a TLS listener with `hsts`: the peer's
 * answers and our own. The setting stays on the listener (it is a property of how the client came in);
 * this filter puts it on the head. It replaces a value the peer sent: the listener's operator decides
 * the policy of the site. Never on a plain listener (RFC 6797 §7.2: ignored over HTTP, and a
 * downgrade attacker could strip it anyway).
 */
import { NameSet } from '../http/head.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import type { HeadEdit } from '../proxy/head-edit.js'

const STS = new NameSet(['strict-transport-security'])

class Hsts implements FilterFactory, Filter {
  readonly name = 'hsts'
  readonly order = 90

  attach(x: Exchange): Filter | null {
    return x.down.hsts === null ? null : this
  }

  responseHead(x: Exchange, e: HeadEdit): void {
    e.set(STS, 'Strict-Transport-Security', x.down.hsts!)
  }
}

const HSTS = new Hsts()

export const hsts: FilterKind = {
  name: 'hsts',
  // In every chain when some listener sets it; attach() then leaves out the exchanges of the others.
  compile: (_f, ctx) => ctx.config.listen.some((l) => l.tls?.hsts != null) ? HSTS : null,
}
