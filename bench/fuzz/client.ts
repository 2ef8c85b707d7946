/**
 * A raw client connection of the campaigns: bytes in, everything received kept, a wait that ends on a
 * condition, on the proxy's close, or at a deadline (a hang).
 */
import { connect, Socket } from 'node:net'

export class Conn {
  readonly socket: Socket
  data: Buffer[] = []
  size = 0
  closed = false
  error: string | null = null
  #wake: (() => void) | null = null

  constructor(port: number, localAddress?: string) {
    // allowHalfOpen: the client may end its side and still read the answers.
    this.socket = connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true })
    this.socket.setNoDelay(true)
    this.socket.on('data', (d: Buffer) => { this.data.push(d); this.size += d.length; this.#wake?.() })
    this.socket.on('end', () => { this.socket.end(); this.#wake?.() })
    this.socket.on('error', (e: NodeJS.ErrnoException) => { this.error ??= e.code ?? e.message })
    this.socket.on('close', () => { this.closed = true; this.#wake?.() })
  }

  get bytes(): Buffer {
    if (this.data.length > 1) this.data = [Buffer.concat(this.data)]
    return this.data[0] ?? Buffer.alloc(0)
  }

  /** Writes `pieces` one event-loop turn apart (a head or body split across reads), then maybe ends. */
  async send(pieces: Buffer[], end: boolean): Promise<void> {
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await new Promise((r) => setImmediate(r))
      if (this.closed) return
      this.socket.write(pieces[i])
    }
    if (end && !this.closed) this.socket.end()
  }

  /** Resolves true when `done()` holds or the connection closed, false at the deadline. */
  wait(done: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.closed && !done()) return
        clearTimeout(timer)
        this.#wake = null
        resolve(true)
      }
      const timer = setTimeout(() => { this.#wake = null; resolve(false) }, ms)
      this.#wake = check
      check()
    })
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** `b` cut at up to `n` random points (`at(len)` picks one), for writes split across reads. */
export function cuts(b: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = []
  let from = 0
  for (const p of [...new Set(points)].sort((x, y) => x - y)) {
    if (p <= from || p >= b.length) continue
    out.push(b.subarray(from, p))
    from = p
  }
  out.push(b.subarray(from))
  return out
}
