/**
 * A retry budget, as Envoy and Finagle keep one: retries may add at most `ratio` of the requests, so a
 * group whose peers all fail sees its load grow by that fraction, not multiply by `retries + 1`.
 * A token bucket: every request deposits `ratio` of a token, every retry spends a whole one. The
 * bucket holds at most RESERVE tokens, and starts full, so that a few retries are allowed at once
 * after a quiet spell.
 */
const RESERVE = 10

export class RetryBudget {
  readonly #ratio: number
  #tokens = RESERVE
  /** Retries refused for lack of budget (status snapshot). */
  refused = 0

  constructor(ratio: number) {
    this.#ratio = ratio
  }

  /** One request started. */
  deposit(): void {
    const t = this.#tokens + this.#ratio
    this.#tokens = t > RESERVE ? RESERVE : t
  }

  /** True, and one token spent, when a retry is within the budget. */
  withdraw(): boolean {
    if (this.#ratio > 0 && this.#tokens >= 1) { this.#tokens -= 1; return true }
    this.refused++
    return false
  }
}
