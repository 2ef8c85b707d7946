/**
 * Brute-force guard: failed basic-auth attempts are rate limited per client address (IPv6 by /64),
 * with the rate limiter's own machinery (rate-limit/gcra.ts and its stores, so with `workers: N`
 * the count is one for the whole process group). Before a password is checked, a client whose
 * failures are over the limit gets 429 with Retry-After (RFC 6585 §4), and no hash is computed;
 * each wrong password or unknown user counts one failure. A right password costs nothing here.
 */
import type { AuthFailures } from '../../config/features.js'
import { Reply } from '../../proxy/reply.js'
import { retryAfter } from '../rate-limit/fields.js'
import type { Ask, Policy, Store, Verdict } from '../rate-limit/store.js'

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

  #ask(client: string, peek: boolean): Ask[] {
    return [{ key: this.#prefix + client, policy: this.#policy, dry: false, peek }]
  }

  /** undefined: this client may try a password now; else the 429 (or a Promise of either). */
  check(client: string): Reply | undefined | Promise<Reply | undefined> {
    const v = this.#store.take(this.#ask(client, true))
    return v instanceof Promise ? v.then(refusal) : refusal(v)
  }

  /** A wrong password or an unknown user from this client. */
  failed(client: string): void {
    const v = this.#store.take(this.#ask(client, false))
    if (v instanceof Promise) v.catch(() => {})
  }
}

function refusal(v: Verdict[]): Reply | undefined {
  return v[0].ok ? undefined : new Reply(429, `Retry-After: ${retryAfter(v[0].wait)}\r\n`, null, 'PA')
}
