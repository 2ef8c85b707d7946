/**
 * Remembers successful verifications, so a client that sends the same Basic credentials on every
 * request (RFC 7617 §2.2: browsers do, for the whole protection space) pays bcrypt once, then a keyed
 * hash and a Map lookup: no decoding, no hashing of the password again.
 *
 * An entry is keyed by SHA-256(per-process random key, the Authorization value as received), never
 * the plaintext: a heap dump shows no passwords, and without the key the entries cannot be tested
 * offline. It holds the user and the stored hash the password was verified against; the filter
 * takes a hit only while that is still the user's stored hash, so once a password is changed in the
 * file (and the config reloaded) the old one misses and goes back to the verifier.
 */
import { hash, randomBytes } from 'node:crypto'

/** Entries kept by default: a thousand users active at once. */
export const CACHE_SIZE = 1024

/** What a cached Authorization value was verified as. */
export interface Verified {
  readonly user: string
  /** The stored hash (htpasswd) the password matched. */
  readonly hash: string
}

export class CredentialCache {
  readonly #key: string
  readonly #half: number
  /**
   * Two generations instead of a strict LRU list: a hit in `#young` costs one Map lookup (reordering
   * a Map on every hit, delete then set, was half of a cached check). A hit in `#old` moves the entry
   * to `#young`; when `#young` holds half the bound it becomes `#old` and the former `#old` is
   * dropped. Entries not used for a whole generation go first; at most `max` are kept.
   */
  #young: Map<string, Verified>
  #old: Map<string, Verified>

  constructor(max = CACHE_SIZE) {
    this.#key = randomBytes(32).toString('latin1')
    this.#half = Math.max(1, Math.floor(max / 2))
    this.#young = new Map()
    this.#old = new Map()
  }

  get size(): number {
    return this.#young.size + this.#old.size
  }

  /**
   * The key of an Authorization value: SHA-256 over the secret key then the value, in one call (0.55 µs
   * against HMAC-SHA256's 2.2 µs, which made 6% of a filtered route's busy time). A keyed prefix hash
   * is open to length extension only for someone who knows a digest; these never leave the process.
   */
  key(credentials: string): string {
    return hash('sha256', this.#key + credentials, 'binary')
  }

  /** The verification of the Authorization value of this key, if it is remembered (and not evicted since). */
  get(k: string): Verified | undefined {
    const v = this.#young.get(k)
    if (v !== undefined) return v
    const o = this.#old.get(k)
    if (o === undefined) return undefined
    this.#old.delete(k)
    this.#put(k, o)
    return o
  }

  /** Remembers a successful verification of the Authorization value of key `k`. */
  add(k: string, user: string, stored: string): void {
    this.#old.delete(k)
    this.#put(k, { user, hash: stored })
  }

  clear(): void {
    this.#young.clear()
    this.#old.clear()
  }

  #put(k: string, v: Verified): void {
    this.#young.set(k, v)
    if (this.#young.size < this.#half) return
    this.#old = this.#young
    this.#young = new Map()
  }
}
