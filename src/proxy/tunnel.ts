/**
 * After a 101, the two sockets are joined: bytes flow both ways, with backpressure (pipe), until
 * either side closes or both are silent for `idleMs` (RFC 9110 §7.8: the connection now speaks the
 * new protocol, which we do not parse).
 *
 * A clean end (FIN) on one side is passed on as an end on the other (pipe), so the last bytes are
 * delivered; when one side is gone, the other is flushed and closed. An error or the idle timeout
 * cuts both at once. Once one side has ended, the other gets HALF_CLOSED_MS of silence, not the whole
 * idle time, to end too (HAProxy's `timeout client-fin` / `server-fin`): a peer that never answers a
 * FIN would otherwise hold the tunnel, and whatever the exchange holds (a max_inflight place), for
 * `tunnel_idle` after the client left.
 */
import type { Socket } from 'node:net'

/** Silence allowed, once one side has sent its FIN, before both are cut (or the idle time, if shorter). */
const HALF_CLOSED_MS = 10_000

/** Hears once, when both sockets are closed, how many bytes went each way. */
export interface TunnelOwner {
  tunnelClosed(bytesUp: number, bytesDown: number): void
}

export class Tunnel {
  readonly #client: Socket
  readonly #peer: Socket
  readonly #owner: TunnelOwner
  readonly #up0: number
  readonly #down0: number
  #open = 2

  constructor(client: Socket, peer: Socket, idleMs: number, owner: TunnelOwner) {
    this.#client = client
    this.#peer = peer
    this.#owner = owner
    this.#up0 = peer.bytesWritten
    this.#down0 = client.bytesWritten
    const cut = (): void => this.#cut()
    const closed = (): void => this.#closed()
    const half = Math.min(idleMs, HALF_CLOSED_MS)
    const ended = (): void => { client.setTimeout(half); peer.setTimeout(half) }
    for (const s of [client, peer]) {
      s.setTimeout(idleMs)
      s.on('timeout', cut)
      s.on('error', cut)
      s.on('close', closed)
      s.once('end', ended)
    }
    client.pipe(peer)
    peer.pipe(client)
  }

  #cut(): void {
    this.#client.destroy()
    this.#peer.destroy()
  }

  #closed(): void {
    if (--this.#open === 0) {
      this.#owner.tunnelClosed(this.#peer.bytesWritten - this.#up0, this.#client.bytesWritten - this.#down0)
      return
    }
    // One side is gone: what is queued for the other still goes out, then it closes too.
    const other = this.#client.destroyed ? this.#peer : this.#client
    if (other.destroyed) return
    if (!other.writableEnded) other.end()
    if (other.writableFinished) other.destroy()
    else other.once('finish', other.destroy)
  }
}
