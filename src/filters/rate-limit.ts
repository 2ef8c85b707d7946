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
import { ALLOWED, DELAYED, DRY_RUN, REFUSED, decisionsFor } from './rate-limit/decisions.js'

/** One limit of a route, compiled. */
interface Limit {
  readonly cfg: LimitConfig
  readonly policy: Policy
  /** Its RateLimit-Policy member, fixed by the config (fields.ts). */
  readonly item: string
  /** The counters' key prefix: the scope and the limit's name. */
  readonly prefix: string
  readonly key: (x: Exchange) => string | string[] | null
  /** Its decisions, counted for the metrics (rate-limit/decisions.ts). */
  readonly counts: Float64Array
}

/** An ask that knows its limit (stores read only the Ask fields): no array of applied limits beside it. */
interface LimitAsk extends Ask {
  readonly limit: Limit
}

function compile(cfg: RateLimitConfig, l: LimitConfig): Limit {
  const policy: Policy = l.rate === null
    ? { kind: 'inflight', max: l.max_inflight }
    : { kind: 'rate', interval: l.rate.per / l.rate.count, burst: l.burst, delay: l.mode === 'delay' }
  return { cfg: l, policy, item: policyItem(l), prefix: `${cfg.scope}\u0000${l.name}\u0000`, key: keyOf(l.key), counts: decisionsFor(l.name) }
}

/** The store could not decide and its on_error is deny (RFC 9110 §15.6.4). */
const STORE_DOWN = new Reply(503, 'Retry-After: 1\r\n', null, 'PL')

/** The RateLimit-Policy and RateLimit values of these verdicts (UNJUDGED asks left out). */
function fields(asks: readonly LimitAsk[], v: readonly Verdict[]): [string, string] {
  let policy = ''
  let state = ''
  for (let i = 0; i < asks.length; i++) {
    const l = asks[i].limit
    // A key sent several times is several asks of one limit: the field names the limit once.
    if (i > 0 && asks[i - 1].limit === l) continue
    policy += (i === 0 ? '' : ', ') + l.item
    if (v[i] !== UNJUDGED) state += (state === '' ? '' : ', ') + stateItem(l.cfg, v[i])
  }
  return [policy, state]
}

/**
 * The route's limits. Without `headers: true` and without inflight limits an exchange needs no state
 * of its own (the refusal carries its fields), and this factory is the filter: nothing is allocated
 * per request but the asks and the store's answer.
 */
class RateLimit implements FilterFactory, Filter {
  readonly name = 'rate_limit'
  readonly order = 50
  readonly limits: readonly Limit[]
  readonly store: Store
  readonly headers: boolean
  readonly status: number
  /** Some exchange state is needed: fields on every response, or inflight places to give back. */
  readonly #stateful: boolean

  constructor(cfg: RateLimitConfig, store: Store) {
    this.limits = cfg.limits.map((l) => compile(cfg, l))
    this.store = store
    this.headers = cfg.headers
    this.status = cfg.status
    this.#stateful = cfg.headers || this.limits.some((l) => l.policy.kind === 'inflight')
  }

  attach(): Filter { return this.#stateful ? new Limited(this) : this }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    return this.run(x, null)
  }

  /**
   * The asks of this request: one per limit, or one per value of a key sent several times (keys.ts);
   * none for a limit whose key is missing with `missing: skip`.
   */
  asks(x: Exchange): LimitAsk[] {
    const out: LimitAsk[] = []
    for (const l of this.limits) {
      let k = l.key(x)
      if (k === null) {
        if (l.cfg.missing === 'skip') continue
        k = '\u0001' + clientKey(x.clientIp) // apart from any value the key itself could take
      }
      if (typeof k === 'string') out.push({ key: l.prefix + k, policy: l.policy, dry: l.cfg.dry_run, limit: l })
      else for (const one of k) out.push({ key: l.prefix + one, policy: l.policy, dry: l.cfg.dry_run, limit: l })
    }
    return out
  }

  run(x: Exchange, state: Limited | null): Reply | undefined | Promise<Reply | undefined> {
    const asks = this.asks(x)
    if (asks.length === 0) return undefined
    const v = this.store.take(asks)
    return v instanceof Promise ? v.then((r) => this.decide(x, asks, r, state)) : this.decide(x, asks, v, state)
  }

  decide(x: Exchange, asks: readonly LimitAsk[], v: Verdicts, state: Limited | null): Reply | undefined | Promise<Reply | undefined> {
    count(asks, v)
    if (v.fault === true) {
      // The store could not answer (Redis down or slow): its on_error decided. No fields (the numbers
      // count nothing); deny is 503, the server cannot decide (RFC 9110 §15.6.4), not the client's fault.
      x.limit = 'store-down'
      let refused = false
      for (let i = 0; i < v.length; i++) if (!v[i].ok && !asks[i].dry) refused = true
      state?.keep(asks, v, refused, false)
      return refused ? STORE_DOWN : undefined
    }
    let wait = 0
    let after = -1
    let note = ''
    for (let i = 0; i < v.length; i++) {
      const l = asks[i].limit.cfg
      if (!v[i].ok) {
        note += (note === '' ? '' : ',') + l.name + (l.dry_run ? '(dry)' : '')
        if (!l.dry_run) after = Math.max(after, v[i].wait)
      } else if (!l.dry_run && v[i].wait > wait) wait = v[i].wait
    }
    if (note !== '') x.limit = note
    state?.keep(asks, v, after >= 0, true)
    if (after >= 0) {
      const [policy, now] = fields(asks, v)
      return new Reply(this.status, `Retry-After: ${retryAfter(after)}\r\nRateLimit-Policy: ${policy}\r\nRateLimit: ${now}\r\n`, null, 'PL')
    }
    if (wait === 0) return undefined
    x.limitDelay = wait
    return new Promise((resolve) => setTimeout(resolve, wait, undefined))
  }
}

/** Each ask's decision, counted under its limit's name: refused (or would have, dry run), delayed, allowed. */
function count(asks: readonly LimitAsk[], v: Verdicts): void {
  for (let i = 0; i < v.length; i++) {
    const a = asks[i]
    a.limit.counts[!v[i].ok ? (a.dry ? DRY_RUN : REFUSED) : v[i].wait > 0 && !a.dry ? DELAYED : ALLOWED]++
  }
}

/** One exchange under limits that need state: the fields for its response, the places it holds. */
class Limited implements Filter {
  readonly name = 'rate_limit'
  readonly #f: RateLimit
  #asks: readonly LimitAsk[] | null = null
  #verdicts: Verdicts | null = null
  #refused = false
  /** The verdicts are the counters' (not a store fault's): the response may report them. */
  #report = false
  /** done() ran: the exchange is over (a client that left while the store was asked, say). */
  #over = false

  constructor(f: RateLimit) {
    this.#f = f
  }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    return this.#f.run(x, this)
  }

  keep(asks: readonly LimitAsk[], v: Verdicts, refused: boolean, report: boolean): void {
    this.#asks = asks
    this.#verdicts = v
    this.#refused = refused
    this.#report = report
    // The store answered after the exchange ended (the client left meanwhile): its places go back now.
    if (this.#over) this.#release()
  }

  /** With `headers: true`: the fields on the response (a refusal carries them already). */
  responseHead(_x: Exchange, e: HeadEdit): void {
    if (!this.#f.headers || !this.#report || this.#refused) return
    const [policy, now] = fields(this.#asks!, this.#verdicts!)
    e.add('RateLimit-Policy', policy)
    e.add('RateLimit', now)
  }

  done(): void {
    this.#over = true
    this.#release()
  }

  /** Places held under inflight limits go back, once (store.ts says which hold one). */
  #release(): void {
    const v = this.#verdicts
    if (v === null) return
    this.#verdicts = null
    const asks = this.#asks!
    for (let i = 0; i < v.length; i++) {
      const a = asks[i]
      if (a.policy.kind === 'inflight' && v[i].ok && (a.dry || !this.#refused)) this.#f.store.release(a.key)
    }
  }
}

export const rateLimit: FilterKind = {
  name: 'rate_limit',
  compile: (f, ctx) => f.rate_limit === null ? null : new RateLimit(f.rate_limit, storeFor(f.rate_limit.store, ctx.events, ctx.config)),
}
