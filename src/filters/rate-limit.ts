/**
 * `rate_limit`: limits on the rate of requests (a GCRA, exact to the millisecond) and on requests in
 * progress, each under a key from the request (config/rate-limit.ts). A refused request gets `status`
 * (429 by default, RFC 6585 §4) with Retry-After in whole seconds, rounded up (RFC 9110 §10.2.3);
 * in `delay` mode a request over the rate waits its turn instead, while at most `burst` wait. A
 * dry-run limit refuses nothing: it is counted, logged (`limit` in the access log) and reported.
 *
 * The RateLimit and RateLimit-Policy fields (rate-limit/fields.ts) go on every refusal, and with
 * `headers: true` on every response of the route.
 *
 * The counters are in a store (rate-limit/store.ts): this process, the cluster primary, or Redis.
 * Order 50: after auth, so `user` can be a key (DESIGN).
 */
import type { LimitConfig, RateLimitConfig } from '../config/rate-limit.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import type { HeadEdit } from '../proxy/head-edit.js'
import { Reply } from '../proxy/reply.js'
import { clientKey } from '../proxy/client-ip.js'
import { keyOf } from './rate-limit/keys.js'
import { policyItem, retryAfter, stateItem } from './rate-limit/fields.js'
import { UNJUDGED, type Ask, type Policy, type Store, type Verdict, type Verdicts } from './rate-limit/store.js'
import { storeFor } from './rate-limit/stores.js'

/** One limit of a route, compiled. */
interface Limit {
  readonly cfg: LimitConfig
  readonly policy: Policy
  /** The counters' key prefix: the scope and the limit's name. */
  readonly prefix: string
  readonly key: (x: Exchange) => string | null
}

function compile(cfg: RateLimitConfig, l: LimitConfig): Limit {
  const policy: Policy = l.rate === null
    ? { kind: 'inflight', max: l.max_inflight }
    : { kind: 'rate', interval: l.rate.per / l.rate.count, burst: l.burst, delay: l.mode === 'delay' }
  return { cfg: l, policy, prefix: `${cfg.scope}\u0000${l.name}\u0000`, key: keyOf(l.key) }
}

/** The store could not decide and its on_error is deny (RFC 9110 §15.6.4). */
const STORE_DOWN = new Reply(503, 'Retry-After: 1\r\n', null, 'PL')

class RateLimit implements FilterFactory {
  readonly name = 'rate_limit'
  readonly order = 50
  readonly limits: readonly Limit[]
  readonly store: Store
  readonly headers: boolean
  readonly status: number
  /** RateLimit-Policy: the same for every response of the route. */
  readonly policy: string

  constructor(cfg: RateLimitConfig, store: Store) {
    this.limits = cfg.limits.map((l) => compile(cfg, l))
    this.store = store
    this.headers = cfg.headers
    this.status = cfg.status
    this.policy = cfg.limits.map(policyItem).join(', ')
  }

  attach(): Filter { return new Limited(this) }
}

/** One exchange under the route's limits: what the store said, and the places it holds. */
class Limited implements Filter {
  readonly name = 'rate_limit'
  readonly #f: RateLimit
  /** The limits that applied (a limit whose key is missing with `missing: skip` does not), and their asks. */
  #applied: Limit[] = []
  #asks: Ask[] = []
  #verdicts: Verdict[] | null = null
  /** The verdicts that decide which inflight places to give back (with a store fault, not #verdicts). */
  #held: Verdict[] | null = null
  #refused = false

  constructor(f: RateLimit) {
    this.#f = f
  }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    for (const l of this.#f.limits) {
      let k = l.key(x)
      if (k === null) {
        if (l.cfg.missing === 'skip') continue
        k = '\u0001' + clientKey(x.clientIp) // apart from any value the key itself could take
      }
      this.#applied.push(l)
      this.#asks.push({ key: l.prefix + k, policy: l.policy, dry: l.cfg.dry_run })
    }
    if (this.#asks.length === 0) return undefined
    const v = this.#f.store.take(this.#asks)
    return v instanceof Promise ? v.then((r) => this.#decide(x, r)) : this.#decide(x, v)
  }

  #decide(x: Exchange, v: Verdicts): Reply | undefined | Promise<Reply | undefined> {
    if (v.fault === true) return this.#fault(x, v)
    this.#verdicts = this.#held = v
    let wait = 0
    let refusedBy = -1
    let note = ''
    for (let i = 0; i < v.length; i++) {
      const l = this.#applied[i].cfg
      if (!v[i].ok) {
        note += (note === '' ? '' : ',') + l.name + (l.dry_run ? '(dry)' : '')
        if (!l.dry_run && refusedBy < 0) refusedBy = i
      } else if (!l.dry_run && v[i].wait > wait) wait = v[i].wait
    }
    x.limit = note
    if (refusedBy >= 0) {
      this.#refused = true
      let after = 0
      for (let i = 0; i < v.length; i++) if (!v[i].ok && !this.#applied[i].cfg.dry_run) after = Math.max(after, v[i].wait)
      return new Reply(this.#f.status, `Retry-After: ${retryAfter(after)}\r\n`, null, 'PL')
    }
    if (wait === 0) return undefined
    x.limitDelay = wait
    return new Promise((resolve) => setTimeout(resolve, wait, undefined))
  }

  /**
   * The store could not answer (Redis down or slow): its `on_error` decided. No RateLimit fields (the
   * numbers count nothing). deny: 503, the server cannot decide (RFC 9110 §15.6.4), not the client's
   * fault; allow: on as if unlimited. Places the store admitted are still given back in done().
   */
  #fault(x: Exchange, v: Verdicts): Reply | undefined {
    this.#held = v
    x.limit = 'store-down'
    for (let i = 0; i < v.length; i++) if (!v[i].ok && !this.#asks[i].dry) { this.#refused = true; return STORE_DOWN }
    return undefined
  }

  responseHead(_x: Exchange, e: HeadEdit): void {
    const v = this.#verdicts
    if (v === null || !(this.#refused || this.#f.headers)) return
    const all = this.#applied.length === this.#f.limits.length
    e.add('RateLimit-Policy', all ? this.#f.policy : this.#applied.map((l) => policyItem(l.cfg)).join(', '))
    let state = ''
    for (let i = 0; i < v.length; i++) if (v[i] !== UNJUDGED) state += (state === '' ? '' : ', ') + stateItem(this.#applied[i].cfg, v[i])
    e.add('RateLimit', state)
  }

  /** Places held under inflight limits go back (an enforced ask holds one only when the request was admitted). */
  done(): void {
    const v = this.#held
    if (v === null) return
    for (let i = 0; i < v.length; i++) {
      const a = this.#asks[i]
      if (a.policy.kind === 'inflight' && v[i].ok && (a.dry || !this.#refused)) this.#f.store.release(a.key)
    }
  }
}

export const rateLimit: FilterKind = {
  name: 'rate_limit',
  compile: (f, ctx) => f.rate_limit === null ? null : new RateLimit(f.rate_limit, storeFor(f.rate_limit.store, ctx.events)),
}
