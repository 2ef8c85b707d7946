/**
 * The peers one request is sent to, one attempt at a time: the peer of the current attempt (counted
 * in its `inflight` until the attempt ends), the peers already tried, and the rules that say whether
 * another attempt may follow (proxy/exchange.ts acts on them):
 *
 * - a reused pooled socket that the peer had closed: once more on a fresh socket to the same peer, for
 *   an idempotent request without a body (RFC 9112 §9.3.1); the peer is not at fault;
 * - a failed connect, reset or close: another peer, never one already tried, within the group's
 *   retries and retry budget, and only while the peer cannot have acted on the request.
 */
import { isIdempotent } from '../http/methods.js'
import type { Peer } from '../upstream/peer.js'
import type { Group } from '../upstream/group.js'

export class Attempts {
  /** The peer of the current attempt, or null before the first. */
  peer: Peer | null = null
  /** The request's head went to a peer (to some socket of it). */
  headSent = false
  /** Request body bytes written to the peer: once any have gone, no retry. */
  bodySent = 0
  readonly #group: Group
  /** The hash balancer's key of the request (null for the other balancers). */
  readonly #key: string | null
  /** `peer.inflight` counts this request (from the pick to the end of the attempt). */
  #counted = false
  #tried: Peer[] | null = null
  #freshSocket = false

  constructor(group: Group, key: string | null) {
    this.#group = group
    this.#key = key
  }

  /** The first peer, counted in the retry budget; null when the group has none available (503). */
  first(): Peer | null {
    const p = this.#group.first(this.#key)
    if (p !== null) this.#use(p)
    return p
  }

  /**
   * Once more on a fresh socket to the same peer, after a reused one the peer had closed before any
   * byte: allowed once, for an idempotent request without a body.
   */
  freshSocket(method: number, hasBody: boolean): boolean {
    if (this.#freshSocket || !isIdempotent(method) || hasBody) return false
    this.#freshSocket = true
    return true
  }

  /**
   * Another peer after `failed`, or null: the peer cannot have acted on the request (no body byte
   * has gone to it, and the method is idempotent, RFC 9110 §9.2.2, or the request has a body the peer
   * was still waiting for, or nothing of it was sent at all), and the group allows one more attempt.
   */
  next(failed: Peer, method: number, hasBody: boolean): Peer | null {
    if (this.bodySent !== 0 || !(isIdempotent(method) || hasBody || !this.headSent)) return null
    ;(this.#tried ??= []).push(failed)
    const p = this.#group.retry(this.#key, this.#tried)
    if (p !== null) this.#use(p)
    return p
  }

  /** The attempt is over: the peer no longer counts this request in flight. */
  leave(): void {
    if (!this.#counted) return
    this.#counted = false
    this.peer!.inflight--
  }

  #use(peer: Peer): void {
    this.leave()
    this.peer = peer
    peer.inflight++
    peer.requests++
    this.#counted = true
  }
}
