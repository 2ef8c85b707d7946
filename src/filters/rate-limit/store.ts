/**
 * What a rate-limit store is: the keeper of the counters behind the `rate_limit` filter. It knows
 * nothing of HTTP (as Pingora's limiter): it is asked, for one request, a batch of limits by their
 * keys, and answers a verdict for each, atomically. Three stores answer the same way:
 *
 * - memory (local-store.ts): this process, synchronous, bounded by `max_keys`;
 * - cluster (cluster-store.ts): with `workers: N`, the memory store of the primary, over IPC, so the
 *   N workers keep one limit;
 * - redis (redis-store.ts): a Redis server, one Lua call per event-loop turn (every request of the
 *   turn in it, each decided atomically), so a fleet keeps one limit.
 *
 * Each runs the same arithmetic (gcra.ts; its Lua twin in redis-script.ts).
 */

/** One limit as a store applies it: the policy only, no names of HTTP things. */
export type Policy =
  /**
   * A generic cell rate algorithm limit: one request per `interval` ms, with `burst` more at once.
   * `delay`: a request over the rate waits its turn if at most `burst` are waiting before it (nginx
   * limit_req without nodelay), else it is refused; `reject`: it is refused at once.
   */
  | { readonly kind: 'rate'; readonly interval: number; readonly burst: number; readonly delay: boolean }
  /** At most `max` requests in progress under one key (released by Store.release). */
  | { readonly kind: 'inflight'; readonly max: number }

/** One limit of one request: its policy, and the counter's key (limit identity + request key). */
export interface Ask {
  readonly key: string
  readonly policy: Policy
  /** Counted and reported, never refusing: it commits on its own verdict, apart from the others. */
  readonly dry: boolean
  /** Judged, never committed: may a request go on now? */
  readonly peek?: boolean
  /**
   * Gives one request's worth back to a rate key (its TAT moves back one interval, never before now),
   * and is always ok: auth/failures.ts counts every password check as a failure before it runs, so
   * that guesses in parallel cannot all pass, and refunds the ones that succeed. Memory and cluster
   * stores only (auth's failures never go to Redis).
   */
  readonly refund?: boolean
}

/** What a store says of one Ask. */
export interface Verdict {
  /** Admitted (for a dry-run ask: it would have been). */
  readonly ok: boolean
  /**
   * ms. Admitted: the wait before the request may go on (delay mode; 0 otherwise). Refused: the
   * time until a request under this key would be admitted (Retry-After), never less than the truth.
   */
  readonly wait: number
  /** Requests that would be admitted at once after this one (the RateLimit field's `r`). */
  readonly remaining: number
  /** ms until the limit is back to its full burst (the RateLimit field's `t`); 0 for inflight. */
  readonly reset: number
}

/**
 * What `take` answers: one Verdict per Ask, in the asks' order.
 *
 * `fault` is true when the verdicts come from the store's `on_error` setting, not from its counters:
 * its server was down, did not answer within `timeout`, or its breaker is still open after such a
 * failure (redis-store.ts). Then, by `on_error`:
 * - allow: every ask is admitted (ok, wait 0, remaining 0, reset 0);
 * - deny: every enforced ask is refused (wait 1000; a dry-run ask is admitted). The filter answers
 *   503 (RFC 9110 §15.6.4: the server cannot decide, the client is not over a limit), not its `status`.
 * Either way the numbers count nothing: send no RateLimit fields from them. `fault` is absent when
 * the counters answered, and always from the memory stores.
 */
export type Verdicts = Verdict[] & { readonly fault?: boolean }

/**
 * Admitted without a judgement: an ask of a take the primary did not answer, or one that a cached
 * refusal of another ask spared (cluster-store.ts). Its numbers count nothing: the filter leaves it
 * out of the RateLimit field.
 */
export const UNJUDGED: Verdict = Object.freeze({ ok: true, wait: 0, remaining: 0, reset: 0 })

/**
 * The counters. `take` is atomic over its asks: the enforced ones are admitted together or not at
 * all (a refusal by one limit spends nothing of the others); a dry-run ask commits on its own; a peek
 * ask never commits. It returns the verdicts directly when it need not wait (the memory store, a
 * cached refusal of the cluster store, a Redis store whose breaker is open), a Promise only when it
 * asks a server. The Promise never rejects:
 * a store that cannot answer resolves per its `on_error` setting, marked `fault` (Verdicts).
 *
 * An admitted inflight ask holds its place until `release` with the same key. Call `release` once for
 * each inflight ask that took a place: ok, not peek, and either dry or in a take where every enforced
 * ask was ok; this includes places admitted by `on_error` (the Redis store counts those apart, so
 * their release frees nobody else's place).
 */
export interface Store {
  take(asks: readonly Ask[]): Verdicts | Promise<Verdicts>
  release(key: string): void
}

/** A take queued for its turn's message or call (the cluster and Redis stores), and who waits for it. */
export class Pending {
  readonly asks: readonly Ask[]
  readonly resolve: (v: Verdicts) => void

  constructor(asks: readonly Ask[], resolve: (v: Verdicts) => void) {
    this.asks = asks
    this.resolve = resolve
  }
}
