/**
 * Remembers successful verifications, so a client that sends the same Basic credentials on every
 * request (RFC 7617 §2.2: browsers do, for the whole protection space) pays bcrypt once, then an HMAC
 * and a Map lookup. Only successes are remembered: a wrong password is hashed every time, as it must be.
 *
 * Keys are HMAC-SHA256(per-process random key, user, password, stored hash), never the plaintext: a
 * heap dump shows no passwords, and without the key the entries cannot be tested offline. The
 * stored hash is in the key, so once a password is changed in the file (and the config reloaded),
 * the old password misses and goes back to the verifier.
 */
import { createHmac, randomBytes } from 'node:crypto'

/** Entries kept by default: a thousand users active at once. */
export const CACHE_SIZE = 1024

export class CredentialCache {
  readonly #key: Buffer
  readonly #max: number
  /** Key -> nothing; a Map keeps insertion order, so the first key is the least recently used. */
  readonly #entries: Map<string, true>

  constructor(max = CACHE_SIZE) {
    this.#key = randomBytes(32)
    this.#max = max
    this.#entries = new Map()
  }

  get size(): number {
    return this.#entries.size
  }

  /** True when `user` with `password` was verified against `hash` (and not evicted since). */
  has(user: string, password: string, hash: string): boolean {
    const k = this.#keyOf(user, password, hash)
    if (!this.#entries.has(k)) return false
    // Least recently used goes first: a hit moves the entry to the end.
    this.#entries.delete(k)
    this.#entries.set(k, true)
    return true
  }

  /** Remembers a successful verification; the least recently used entry goes when full. */
  add(user: string, password: string, hash: string): void {
    const k = this.#keyOf(user, password, hash)
    this.#entries.delete(k)
    this.#entries.set(k, true)
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!)
  }

  clear(): void {
    this.#entries.clear()
  }

  #keyOf(user: string, password: string, hash: string): string {
    // Length-prefixed, so no two triples give the same input ("a:b" + "c" vs "a" + "b:c"); lengths in
    // UTF-16 units of the strings hashed. The hash comes last and needs none. Two strings that differ
    // only by a lone surrogate vs U+FFFD encode alike; decodeBasic never yields a lone surrogate, and
    // the verifier hashes the same UTF-8 bytes, so such a pair would verify alike anyway.
    return createHmac('sha256', this.#key)
      .update(`${user.length}:${user}${password.length}:${password}${hash}`, 'utf8')
      .digest('binary') // latin1: 32 chars, no encoding work
  }
}
