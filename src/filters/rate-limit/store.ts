/**
 * What a rate-limit store is: the keeper of the counters behind the `rate_limit` filter. It knows
 * nothing of HTTP (as Pingora's limiter): it is asked, for one request, a batch of limits by their
 * keys, and answers a verdict for each, atomically. Three stores answer the same way:
 *
 * - memory (local-store.ts): this process, synchronous, bounded by `max_keys`;
 * - cluster (cluster-store.ts): with `workers: N`, the memory store of the primary, over IPC, so the
 *   N workers keep one limit;
 * - redis (redis-store.ts): a Redis server, one Lua call per request, so a fleet keeps one limit.
 *
 * Each runs the same arithmetic (gcra.ts; its Lua twin in redis-store.ts).
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
  /** Judged, never committed: may a request go on now? (auth asks so before checking a password). */
  readonly peek?: boolean
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
 * The counters. `take` is atomic over its asks: the enforced ones are admitted together or not at
 * all (a refusal by one limit spends nothing of the others); a dry-run ask commits on its own. An
 * admitted inflight ask holds its place until `release` with the same key.
 *
 * A store that cannot answer (its server is away) resolves per its `on_error` setting; it never
 * rejects the Promise.
 */
export interface Store {
  take(asks: readonly Ask[]): Verdict[] | Promise<Verdict[]>
  release(key: string): void
}
