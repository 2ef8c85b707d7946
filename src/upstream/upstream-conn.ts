/**
 * One raw socket to a peer, with its own llhttp response parser. It lives in the peer's pool between
 * exchanges, and belongs to one exchange (its owner) at a time. Socket handlers are bound once here,
 * so an exchange costs no closure.
 *
 * A plain TCP socket is read into a buffer of its own (`onread`), read into again as long as the
 * owner says nothing holds on to the last chunk: no allocation per read and none of the stream
 * machinery (measured on the load bench: −1 µs of CPU per request; a 1 MB body took half the user
 * time of Node's default reads). The buffer is SMALL, the size of most responses, and BULK once a
 * read fills it, until the socket is parked. A chunk the owner keeps (a write the client has not
 * taken yet) stays where it is, and the next read goes in the rest of the buffer after it, so a
 * stalled client of a stream of small pieces pins about the bytes queued for it, not a buffer per
 * piece. A TLS socket, and one opened for an upgrade (its tunnel pipes the stream), use Node's
 * 'data' events, each chunk a buffer of its own.
 */
import { connect, Socket } from 'node:net'
import { Kind, Parser } from '../http/llhttp.js'
import { Code, ProxyError, asProxyError } from '../errors.js'
import type { Peer } from './peer.js'
import { Deadline } from '../deadline.js'

/** What an exchange hears from its upstream connection. */
export interface UpstreamOwner {
  /** The socket is connected (new ones only; a pooled one is handed over connected). */
  onUpstreamConnect(c: UpstreamConn): void
  /**
   * Bytes from the peer. True: nothing holds on to `chunk` past this call, so its memory may be read
   * into again; false: something keeps it (a write the client has not taken whole, a filter).
   */
  onUpstreamData(c: UpstreamConn, chunk: Buffer): boolean
  onUpstreamDrain(c: UpstreamConn): void
  /** The socket is gone: closed by the peer, reset, or timed out. `err` says why, if known. */
  onUpstreamClose(c: UpstreamConn, err: ProxyError | null): void
  /** A decoded body span, when the parser delivers spans (see Parser.bodySpans). */
  onUpstreamBody(chunk: Buffer, start: number, end: number): void
}

const CONNECTING = 0
const BUSY = 1
const IDLE = 2
const CLOSED = 3

/** Read buffer sizes (see above): HAProxy's default buffer, and Node's own read size. */
const SMALL = 16384
const BULK = 65536
/** Less room than this after the kept chunks: the next read gets a new buffer. */
const TAIL = 4096

// Timer phases.
const T_CONNECT = 0
const T_WAIT = 1
const T_STREAM = 2
const T_IDLE = 3

export class UpstreamConn {
  readonly socket: Socket
  readonly parser: Parser
  readonly peer: Peer
  owner: UpstreamOwner | null
  /** Taken from the pool: it has served an exchange before, so the peer may have closed it meanwhile. */
  reused = false
  /** Bytes received in the current exchange (a retry is safe only while this is 0). */
  received = 0
  #state = CONNECTING
  #err: ProxyError | null = null
  readonly #timers: (Deadline | undefined)[] = []
  #phase = -1
  /** The buffer the socket reads into (onread mode), or null ('data' events). */
  #buf: Buffer | null = null
  /** Where the next read goes in #buf: after the last chunk kept (>0: its bytes before are never read into again). */
  #at = 0
  /** The last read filled the room it had; its chunk is kept by the owner. */
  #full = false
  #kept = false

  /** `stream`: read through 'data' events, each chunk a buffer of its own (for a tunnel's pipe). */
  constructor(peer: Peer, owner: UpstreamOwner, stream = false) {
    this.peer = peer
    this.owner = owner
    this.parser = new Parser(Kind.RESPONSE, peer.limits)
    this.parser.sink = (chunk, start, end) => this.owner?.onUpstreamBody(chunk, start, end)
    // Over TLS the socket counts as connected once the handshake is done; `timeouts.connect` covers both.
    if (peer.tls !== null) this.socket = peer.tls.connect()
    else if (stream) this.socket = connect({ host: peer.host, port: peer.port, noDelay: true })
    else {
      this.#buf = Buffer.allocUnsafeSlow(SMALL)
      const onread = { buffer: () => this.#nextBuffer(), callback: (n: number, buf: Buffer) => this.#onRead(n, buf) }
      this.socket = connect({ host: peer.host, port: peer.port, noDelay: true, onread })
    }
    this.socket.on(peer.tls === null ? 'connect' : 'secureConnect', () => this.#onConnect())
    if (this.#buf === null) this.socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    this.socket.on('drain', () => this.owner?.onUpstreamDrain(this))
    this.socket.on('error', (err) => { this.#err ??= this.#fault(err) })
    this.socket.on('close', () => this.#onClose())
    this.#arm(T_CONNECT, peer.timeouts.connect)
  }

  #fault(err: Error): ProxyError {
    const connecting = this.#state === CONNECTING
    const tls = connecting && this.peer.tls !== null ? this.peer.tls.fault(err, this.peer.label) : null
    return tls ?? asProxyError(err, connecting ? Code.CONNECT : Code.UPSTREAM_RESET)
  }

  get connected(): boolean { return this.#state === BUSY || this.#state === IDLE }

  /** Hands the connection to an exchange; arms the wait for the response head. */
  attach(owner: UpstreamOwner): void {
    this.owner = owner
    this.#state = BUSY
    this.received = 0
  }

  /** The whole request is out: from now the response head must come within `timeouts.upstream_response`. */
  awaitResponse(): void {
    this.#arm(T_WAIT, this.peer.timeouts.upstream_response)
  }

  /**
   * The peer must make progress within `timeouts.upstream_idle`: send the next response bytes (call per
   * chunk), or take the request body we are blocked on. Time while we paused reading it does not count.
   */
  streaming(): void {
    this.#arm(T_STREAM, this.peer.timeouts.upstream_idle)
  }

  /** No timer applies: the response is complete, or the client sets the pace of the request body. */
  quiet(): void {
    this.#phase = -1
  }

  /** Back to the pool: idle, watched for close or stray bytes, closed after `idle_timeout`. */
  park(idleMs: number): void {
    this.owner = null
    this.reused = true
    this.#state = IDLE
    this.parser.skipBody = false
    this.parser.bodySpans = false
    this.parser.resume()
    this.#arm(T_IDLE, idleMs)
  }

  /** Closes the socket without telling the owner (the caller already knows). */
  destroy(): void {
    this.owner = null
    if (this.#state === CLOSED) return
    this.#state = CLOSED
    this.#clear()
    this.socket.destroy()
    this.parser.destroy()
    this.peer.pool.forget(this)
  }

  /** Hands the raw socket to a tunnel: no more parsing, no pool. */
  detach(): Socket {
    this.owner = null
    this.#state = CLOSED
    this.#clear()
    this.socket.removeAllListeners('data').removeAllListeners('drain').removeAllListeners('close').removeAllListeners('error')
    this.parser.destroy()
    this.peer.pool.forget(this)
    return this.socket
  }

  #onConnect(): void {
    this.#state = BUSY
    this.#phase = -1
    this.owner?.onUpstreamConnect(this)
  }

  #onData(chunk: Buffer): boolean {
    if (this.owner === null) {
      // RFC 9112 §9.3.1: an idle connection that receives bytes is out of step; drop it.
      this.destroy()
      return true
    }
    this.received += chunk.length
    return this.owner.onUpstreamData(this, chunk)
  }

  /** True: go on reading (pause and resume are the socket's own, as for a stream). */
  #onRead(n: number, room: Buffer): boolean {
    this.#full = n === room.length
    this.#kept = !this.#onData(room.subarray(0, n))
    if (this.#kept) this.#at += n
    return true
  }

  /** Called by Node after each read (onread mode): where the next one goes. */
  #nextBuffer(): Buffer {
    const buf = this.#buf!
    if (this.#state === CLOSED) return buf // no read comes any more
    const size = this.#state !== BUSY ? SMALL : this.#full || buf.length === BULK ? BULK : SMALL
    // A buffer with kept chunks belongs to their keepers once it is left: left when its rest is
    // small, when a read that nothing kept filled the rest (the peer sends more than it holds: a
    // whole buffer reads it in fewer calls), or when the socket is parked (it keeps a SMALL one only).
    if (this.#at > 0 ? buf.length - this.#at < TAIL || (this.#full && !this.#kept) || this.#state !== BUSY : size !== buf.length) {
      this.#buf = Buffer.allocUnsafeSlow(size)
      this.#at = 0
    }
    return this.#at === 0 ? this.#buf! : this.#buf!.subarray(this.#at)
  }

  #onClose(): void {
    const owner = this.owner
    const wasIdle = this.#state === IDLE
    this.owner = null
    this.#state = CLOSED
    this.#clear()
    this.peer.pool.forget(this)
    if (owner !== null && !wasIdle) owner.onUpstreamClose(this, this.#err)
    this.parser.destroy()
  }

  // One deadline per phase and connection, created once and pushed back (deadline.ts): an exchange
  // arms no new timer. A deadline that fires in another phase than its own is ignored.
  #arm(phase: number, ms: number): void {
    this.#phase = phase
    ;(this.#timers[phase] ??= new Deadline(ms, () => this.#onTimeout(phase))).arm()
  }

  #clear(): void {
    this.#phase = -1
    for (const t of this.#timers) t?.cancel()
    this.#timers.length = 0
  }

  #onTimeout(phase: number): void {
    if (phase !== this.#phase) return
    if (phase === T_IDLE) { this.destroy(); return }
    // We stopped reading (the client is slow, DESIGN principle 2): the silence is ours, not the peer's.
    if (phase === T_STREAM && this.socket.isPaused()) { this.#timers[phase]!.arm(); return }
    this.#err = new ProxyError(phase === T_CONNECT ? Code.CONNECT_TIMEOUT : Code.UPSTREAM_TIMEOUT,
      phase === T_CONNECT ? `connect to ${this.peer.label} timed out` : `${this.peer.label} did not answer in time`)
    this.socket.destroy()
  }
}
