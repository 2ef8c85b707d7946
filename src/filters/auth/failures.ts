/**
 * Brute-force guard: failed basic-auth attempts are rate limited per client address (IPv6 by /64),
 * with the rate limiter's own machinery (rate-limit/gcra.ts and its stores, so with `workers: N`
 * the count is one for the whole process group). Each password check counts as a failure before it
 * runs, so that guesses sent in parallel cannot all pass a check made before any of them failed; a
 * client over the limit gets 429 with Retry-After (RFC 6585 §4), and no hash is computed. A right
 * password gives its count back (a refund), so it costs nothing here.
 */
import type { AuthFailures } from '../../config/features.js'
import { Reply } from '../../proxy/reply.js'
import { retryAfter } from '../rate-limit/fields.js'
import type { Policy, Store, Verdict } from '../rate-limit/store.js'

export class Failures {
  readonly #store: Store
  readonly #policy: Policy
  readonly #prefix: string

  constructor(cfg: AuthFailures, store: Store, realm: string) {
    this.#store = store
    this.#policy = { kind: 'rate', interval: cfg.per / cfg.count, burst: cfg.burst, delay: false }
    // Routes of one realm share the count: a guesser gains nothing by moving between them.
    this.#prefix = `auth\u0000${realm}\u0000`
  }

  /** undefined: this client may try a password now (counted as a failure until it succeeds); else the 429. */
  check(client: string): Reply | undefined | Promise<Reply | undefined> {
    const v = this.#store.take([{ key: this.#prefix + client, policy: this.#policy, dry: false }])
    return v instanceof Promise ? v.then(refusal) : refusal(v)
  }

  /** The password was right: the failure counted before the check is given back. */
  succeeded(client: string): void {
    const v = this.#store.take([{ key: this.#prefix + client, policy: this.#policy, dry: false, refund: true }])
    if (v instanceof Promise) v.catch(() => {})
  }
}

function refusal(v: Verdict[]): Reply | undefined {
  return v[0].ok ? undefined : new Reply(429, `Retry-After: ${retryAfter(v[0].wait)}\r\n`, null, 'PA')
}
