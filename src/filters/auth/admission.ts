/**
 * Which password checks go to the verifier, and when a refusal is answered. The verifier (verify.ts) has
 * one thread and a bounded queue shared by every client; this keeps any one client from filling it and
 * keeps refusals from telling users apart:
 *
 * - A client may have at most a quarter of the verifier's budget of hashing waiting (at least one
 *   check): past it, 429 (RFC 6585 §4). Clients are told apart by address, IPv6 ones by /64 (one host
 *   commonly holds a whole /64, so counting addresses would let it multiply its share).
 * - Checks of one Authorization value in flight at once are one check: a client that opens six
 *   connections with the same, not yet cached, credentials costs one hash and waits once.
 * - A refusal is answered no sooner than a refusal of the costliest credential takes (the decoy's, its
 *   time measured as checks of it complete), so the time never tells which users exist or which format
 *   their hash has.
 */
export { clientKey } from '../../proxy/client-ip.js'
import type { Verifier, VerifyResult } from './verify.js'

/** A client's share of the verifier's budget. */
const SHARE = 4

export class Admission {
  readonly #verifier: Verifier
  /** Hashing work (Credential.work, µs) each client has waiting. */
  readonly #work = new Map<string, number>()
  /** The check in flight for each Authorization value (by its cache key). */
  readonly #inflight = new Map<string, Promise<VerifyResult>>()

  constructor(v: Verifier) {
    this.#verifier = v
  }

  /**
   * Runs `check` (work µs) for `client`, or joins the one already running for `key`. null: the client
   * has its share waiting already (answer 429).
   */
  admit(client: string, key: string, work: number, check: () => VerifyResult | Promise<VerifyResult>): VerifyResult | Promise<VerifyResult> | null {
    const joined = this.#inflight.get(key)
    if (joined !== undefined) return joined
    const held = this.#work.get(client) ?? 0
    if (held > 0 && held + work > this.#verifier.budget / SHARE) return null
    const r = check()
    if (typeof r === 'string') return r
    this.#work.set(client, held + work)
    const done = r.then((v) => {
      const left = this.#work.get(client)! - work
      if (left <= 0) this.#work.delete(client)
      else this.#work.set(client, left)
      this.#inflight.delete(key)
      return v
    })
    this.#inflight.set(key, done)
    return done
  }
}

/** The time a refusal of the decoy takes, measured (an average of the last checks), in ms. */
export class RefusalTime {
  #ms: number

  /** `guessUs`: the decoy's Credential.work, until a check of it has been timed. */
  constructor(guessUs: number) {
    this.#ms = guessUs / 1000
  }

  /** A check of the decoy took `ms` (queueing included, as a refusal's time does). */
  observe(ms: number): void {
    this.#ms += (ms - this.#ms) / 8
  }

  /** Resolves `r` no sooner than a refusal of the decoy would have been, counted from `started`. */
  pad<T>(started: number, r: T): T | Promise<T> {
    const wait = this.#ms - (performance.now() - started)
    return wait < 1 ? r : new Promise((resolve) => setTimeout(resolve, wait, r))
  }
}
