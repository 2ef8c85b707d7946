/**
 * One client connection: its socket, its llhttp request parser, and at most one exchange at a time
 * (DESIGN principle 6). Pipelined requests wait in the socket's bytes: the parser pauses at the end of
 * each message and reading stops until the response is done.
 *
 * Phases: IDLE (keep-alive, `timeouts.keepalive`) → HEAD (first byte seen, `timeouts.header`, 408) →
 * BUSY (an exchange runs, `timeouts.client_idle`) → IDLE or CLOSED; or TUNNEL after a 101.
 */
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { Kind, Parser, Step } from '../http/llhttp.js'
import { CONNECT, HEAD as HEAD_METHOD } from '../http/methods.js'
import { Code, ProxyError, statusFor, causeFor } from '../errors.js'
import { Exchange } from '../proxy/exchange.js'
import type { Downstream } from '../proxy/downstream.js'
import { inspect, Origin } from '../proxy/request-head.js'
import { reply } from '../proxy/reply.js'
import type { Runtime } from '../proxy/runtime.js'
import type { AccessLog } from '../log/access-log.js'
import { Deadline } from '../deadline.js'
import type { ListenerInfo } from './endpoint.js'
import { verifiedSubject } from './tls.js'
import { LocalAnswer, redirectHttps } from './redirect.js'
import type { RouteStats } from '../admin/route-stats.js'
import type { Tracer, TraceSource } from '../trace/tracer.js'
import type { TraceClient } from '../trace/trace.js'

/** What a connection needs from its server. */
export interface Host {
  readonly rt: Runtime
  readonly closing: boolean
  readonly access: AccessLog
  /** Requests whose head was accepted (one integer add per request, read by the cluster counters). */
  requests: number
  /** Exchanges over (logged): `requests - finished` are in flight. */
  finished: number
  remove(c: ClientConn): void
  /** Which requests are traced (src/trace/tracer.ts). */
  readonly tracer: Tracer
}

const IDLE = 0
const HEAD = 1
const BUSY = 2
const TUNNEL = 3
const CLOSED = 4

/** Pipelined bytes we keep in memory while a response is pending, before we stop reading. */
const STASH_MAX = 65536

// Reasons to stop reading the client.
const HOLD_END = 1 // pipelined bytes past STASH_MAX wait in the kernel until this response is done
const HOLD_BODY = 2 // the upstream cannot take more body yet (backpressure)
const HOLD_DRAIN = 4 // the client is not reading our responses; the next request waits for it

export class ClientConn implements Downstream, TraceSource {
  readonly socket: Socket
  readonly remote: string
  readonly proto: 'http' | 'https'
  /** The subject of the client's verified certificate (mTLS), or ''. */
  readonly clientSubject: string
  readonly sni: string
  origin: Origin
  rt: Runtime
  readonly #host: Host
  readonly #listener: ListenerInfo
  readonly #parser: Parser
  #x: Exchange | null = null
  /** The metric slots of the current exchange's route (null: metrics off). */
  #stats: RouteStats | null = null
  #inBody = false
  #rest: Buffer | null = null
  /** A request is complete and its response pending: bytes that arrive now are pipelined. */
  #waiting = false
  /** #drive is on the stack. */
  #feeding = false
  #restFrom = 0
  #hold = 0
  #phase = IDLE
  #ended = false
  #headTimer: Deadline | null = null
  #headWatched = false
  #clientTimer: Deadline | null = null
  #idleTimer: Deadline | null = null
  /** performance.now() at the current head's first byte, read only while the tracer watches (else 0). */
  #traceAt = 0

  /** `client`: the client's address, the socket's peer or the source of its PROXY protocol header. */
  constructor(socket: Socket, host: Host, listener: ListenerInfo, client: string) {
    this.socket = socket
    this.#host = host
    this.#listener = listener
    this.rt = host.rt
    this.remote = client
    this.proto = listener.tls ? 'https' : 'http'
    this.clientSubject = socket instanceof TLSSocket ? verifiedSubject(socket) : ''
    this.sni = socket instanceof TLSSocket && typeof socket.servername === 'string' ? socket.servername : ''
    this.origin = new Origin(this.remote, this.proto, this.rt.trusted.has(this.remote))
    this.#parser = new Parser(Kind.REQUEST, this.rt.limits)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#onDrain())
    socket.on('end', () => this.#onEnd())
    socket.on('error', () => { /* 'close' follows; the exchange reports the abort */ })
    socket.on('close', () => this.#onClose())
    this.#enterIdle()
  }

  get idle(): boolean { return this.#phase === IDLE }
  get logging(): boolean { return this.#host.access.enabled }
  get timed(): boolean { return this.#stats !== null || this.#host.access.enabled }
  get metered(): boolean { return this.#stats !== null }
  get closing(): boolean { return this.#host.closing }
  get hsts(): string | null { return this.#listener.hsts }
  get bodyReceived(): number { return this.#parser.bodyBytes }
  get queued(): boolean { return this.socket.writableLength > 0 }

  /**
   * Graceful shutdown: close now if idle, else after the exchange in flight. A connection that has
   * sent no byte yet is closed only when `unused` is set: accepted just before the listener closed,
   * its first request may still be on its way (a rolling restart would otherwise cut it unanswered).
   */
  shutdown(unused = true): void {
    if (this.#phase === IDLE && (unused || this.socket.bytesRead > 0)) this.#close()
  }

  /** Graceful shutdown, the grace period over: the exchange in flight (if any) is cut and logged so. */
  cut(): void {
    const x = this.#x
    const err = new ProxyError(Code.SHUTDOWN, 'cut at the end of the grace period')
    if (x !== null && !x.finished) x.abort(err)
    else if (x !== null && this.#phase === TUNNEL) x.tunnelCut(err) // its line, when the tunnel closes, says SD
    this.destroy()
  }

  // ---- reading ----

  #onData(chunk: Buffer): void {
    if (this.#phase === CLOSED || this.#phase === TUNNEL) return
    if (this.#waiting) {
      // Pipelined bytes while a response is pending: keep them for later, and stop reading once there
      // are many (not at every message end: a pause and resume per request cost two epoll_ctl calls).
      this.#rest = this.#rest === null ? chunk : Buffer.concat([this.#rest.subarray(this.#restFrom), chunk])
      this.#restFrom = 0
      if (this.#rest.length > STASH_MAX) this.#holdOn(HOLD_END)
      return
    }
    this.#rest = chunk
    this.#restFrom = 0
    this.#drive()
  }

  /**
   * Parses the bytes in `#rest` until a message is complete and waits for its response, or the bytes
   * run out. A response written at once (a local 404 or 503) lets the next pipelined request go on
   * here, in this loop: never by recursion, whose depth a client would choose.
   */
  #drive(): void {
    if (this.#feeding) return // the loop below is running further up the stack and takes it
    this.#feeding = true
    while (this.#rest !== null && !this.#waiting && this.#phase !== CLOSED && this.#phase !== TUNNEL) {
      const rest = this.#rest
      this.#rest = null
      if (this.#phase !== HEAD) this.#enterHead()
      this.#feed(rest, this.#restFrom)
      this.#watchHead()
    }
    this.#feeding = false
    // The client half-closed after the start of a request it will never finish.
    if (this.#ended && this.#phase === HEAD && this.#x === null) this.#endOfInput()
  }

  #feed(chunk: Buffer, from: number): void {
    const p = this.#parser
    for (;;) {
      const step = p.execute(chunk, from)
      if (step === Step.MORE) {
        if (this.#inBody) {
          if (from < chunk.length) this.#x!.requestBody(from === 0 ? chunk : chunk.subarray(from))
          this.#watchClient() // the rest of the body is the client's to send
        }
        break
      }
      if (step === Step.ERROR) { this.#fault(p.error!); return }
      if (step === Step.HEAD) {
        if (!this.#onHead()) return
        this.#inBody = true
        from = p.pos
        p.resume()
        continue
      }
      // Step.END or Step.UPGRADE: the message is complete.
      if (p.headDone && !this.#onHead()) return
      const x = this.#x!
      if (this.#inBody && p.pos > from) x.requestBody(chunk.subarray(from, p.pos))
      this.#inBody = false
      if (step === Step.UPGRADE) x.upgradeRest = chunk.subarray(p.pos)
      else if (p.pos < chunk.length) { this.#rest = chunk; this.#restFrom = p.pos }
      this.#waiting = true
      x.endRequest()
      break
    }
    // Only now, with the whole chunk validated, may anything of it go upstream (DESIGN principle 3).
    const x = this.#x
    if (x !== null && !x.started) x.start()
  }

  #onHead(): boolean {
    const h = this.#parser.head
    if (h.method === CONNECT) {
      // A reverse proxy has no tunnel to offer (RFC 9110 §9.3.6).
      this.#fault(new ProxyError(Code.NOT_IMPLEMENTED, 'CONNECT is not served'))
      return false
    }
    const info = inspect(h, this.origin)
    if (info instanceof ProxyError) { this.#fault(info); return false }
    if (this.#listener.redirect !== 0) { this.#answerLocal(redirectHttps(info, this.#listener.redirect, h)); return false }
    this.#phase = BUSY
    this.#host.requests++
    const route = this.rt.router.match(info.host, info.route)
    const st = this.rt.stats
    this.#stats = st === null ? null : route === null ? st.unrouted : st.routes[route.index]
    const x = this.#x = route === null
      ? new Exchange(this, h, info, null, 404, this.rt.unrouted)
      : new Exchange(this, h, info, route.group, 0, route.filters, route.label)
    // Tracing (src/trace/): one test when it is off.
    if (this.#host.tracer.watching) x.trace = this.#host.tracer.choose(x, this, h.traceField >= 0 && h.value(h.traceField) !== '0', this.#traceAt)
    return true
  }

  /** Who the client is, for a trace record (TraceSource). */
  traceClient(): TraceClient {
    return { address: this.remote, port: this.socket.remotePort ?? 0, listener: this.#listener.label, tls: this.#listener.tls }
  }

  /** A fault on the client's side: answer it (400, 408, 414, 431, 501) and close. */
  #fault(err: ProxyError): void {
    const x = this.#x
    if (x !== null && !x.finished) { this.#inBody = false; x.fail(err); return }
    // No route is known yet, so no chain: a TLS listener's HSTS is the one response field it still gets.
    const hsts = this.hsts === null ? '' : `Strict-Transport-Security: ${this.hsts}\r\n`
    // RFC 9110 §9.3.2: a refused HEAD gets no content either (once its method was read).
    const headOnly = this.#parser.requestMethod() === HEAD_METHOD
    const bytes = reply(statusFor(err), true, headOnly, hsts)
    if (this.#host.tracer.on) this.#host.tracer.refused(this.traceClient(), this.#parser.chunk ?? Buffer.alloc(0), err, bytes, this.#traceAt)
    this.#answerLocal({ status: statusFor(err), bytes, method: '-', target: '-', cause: causeFor(err) })
  }

  /** Answers without an exchange and closes: a fault, or the redirect of a plain listener. */
  #answerLocal(a: LocalAnswer): void {
    this.socket.write(a.bytes)
    this.#close()
    this.rt.stats?.unrouted.local(a.status, a.cause, a.bytes.length)
    this.#host.access.write({
      start: Date.now(), client: this.remote, method: a.method, target: a.target, status: a.status, bytesIn: 0,
      bytesOut: a.bytes.length, ms: 0, peer: '', peerMs: 0, cause: a.cause,
    })
  }

  #onEnd(): void {
    this.#ended = true
    if (this.#phase === IDLE) this.#close()
    else if (this.#inBody && this.#x !== null) {
      // The request body is cut short: the peer must not take a truncated message as whole.
      this.#x.abort(new ProxyError(Code.CLIENT_ABORT, 'client closed mid-request'))
      this.destroy()
    } else if (this.#phase === HEAD && this.#x === null) {
      this.#endOfInput()
    }
  }

  /** No more bytes will come: a partial head is a malformed request (400), else just close. */
  #endOfInput(): void {
    const step = this.#parser.finish()
    if (step === Step.ERROR) this.#fault(this.#parser.error!)
    else this.#close()
  }

  /** `timeouts.client_idle` passed with no byte either way. The head and idle phases have their own timers. */
  #onTimeout(): void {
    if (this.#phase === CLOSED) { this.socket.destroy(); return }
    // Between exchanges, still not reading our last response: nothing in flight to log, just cut.
    if ((this.#hold & HOLD_DRAIN) !== 0 && this.socket.writableNeedDrain) { this.destroy(); return }
    if (this.#phase !== BUSY || this.#x === null) return
    // Blame the client only when we wait on it: for body bytes we are ready to take, or to read what
    // we wrote. While we wait on the peer, the upstream timers apply (the next write re-arms this one).
    if ((this.#inBody && this.#hold === 0) || this.socket.writableNeedDrain) {
      this.#x.abort(new ProxyError(Code.CLIENT_TIMEOUT, 'client idle mid-exchange'))
      this.destroy()
    }
  }

  #onClose(): void {
    const x = this.#x
    this.#x = null
    if (this.#phase !== TUNNEL) {
      this.#phase = CLOSED
      if (x !== null && !x.finished) x.abort(new ProxyError(Code.CLIENT_ABORT, 'client closed the connection'))
    }
    this.#clearTimers()
    this.#parser.destroy()
    this.#host.remove(this)
  }

  // ---- phases and timers (one Deadline per phase, created once and pushed back: deadline.ts) ----

  #enterHead(): void {
    this.#syncRuntime()
    this.#phase = HEAD
    this.#headWatched = false
    this.#traceAt = this.#host.tracer.watching ? performance.now() : 0
  }

  /**
   * After the first chunk of a head: if the head is still incomplete, its timer starts now (the same
   * tick its first byte came). A head that arrives whole, the usual case, arms no timer at all.
   */
  #watchHead(): void {
    if (this.#phase !== HEAD || this.#headWatched) return
    this.#headWatched = true
    ;(this.#headTimer ??= new Deadline(this.rt.config.timeouts.header, () => this.#onHeaderTimeout())).arm()
  }

  #enterIdle(): void {
    this.#phase = IDLE
    this.#parser.release()
    ;(this.#idleTimer ??= new Deadline(this.rt.config.timeouts.keepalive, () => { if (this.#phase === IDLE) this.#close() })).arm()
  }

  #onHeaderTimeout(): void {
    // RFC 9110 §15.5.9: the head did not arrive in time (slowloris); 408 and close.
    if (this.#phase === HEAD && this.#x === null) this.#fault(new ProxyError(Code.HEADER_TIMEOUT, 'request head not complete in time'))
  }

  /** Between requests, pick up a reloaded config. */
  #syncRuntime(): void {
    const rt = this.#host.rt
    if (rt === this.rt) return
    // The deadlines carry their durations: made again, lazily, from the new timeouts.
    if (rt.config.timeouts !== this.rt.config.timeouts) this.#clearTimers()
    this.rt = rt
    this.#parser.limits = rt.limits
    this.origin = new Origin(this.remote, this.proto, rt.trusted.has(this.remote))
  }

  /**
   * `timeouts.client_idle`: armed only where we wait on the client, when a request body goes on past
   * a chunk, when a write to it fills its buffer, and after we close; a GET and its response arm
   * nothing (a socket-level timeout would be refreshed by Node on every read and write).
   */
  #watchClient(): void {
    ;(this.#clientTimer ??= new Deadline(this.rt.config.timeouts.client_idle, () => this.#onTimeout())).arm()
  }

  #clearTimers(): void {
    this.#headTimer?.cancel()
    this.#idleTimer?.cancel()
    this.#clientTimer?.cancel()
    this.#headTimer = this.#idleTimer = this.#clientTimer = null
  }

  #holdOn(bit: number): void {
    if (this.#hold === 0) this.socket.pause()
    this.#hold |= bit
  }

  #holdOff(bit: number): void {
    if (this.#hold === 0) return
    this.#hold &= ~bit
    if (this.#hold !== 0) return
    this.socket.resume()
    if (this.#inBody) this.#watchClient() // its turn again to send the body
  }

  #close(): void {
    if (this.#phase === CLOSED) return
    this.#phase = CLOSED
    this.socket.end()
    this.#watchClient() // a client that never closes its side is cut after client_idle
  }

  // ---- Downstream, for the exchange ----

  write(b: Buffer): boolean {
    if (this.#phase === CLOSED && this.socket.destroyed) return false
    if (this.socket.write(b)) return true
    this.#watchClient() // the client must read what we wrote
    return false
  }

  cork(): void { this.socket.cork() }
  uncork(): void { this.socket.uncork() }

  holdBody(on: boolean): void {
    if (on) this.#holdOn(HOLD_BODY)
    else this.#holdOff(HOLD_BODY)
  }

  exchangeDone(close: boolean): void {
    this.#x = null
    if (close || this.#host.closing || this.#phase === CLOSED) { this.#close(); return }
    // A client that does not read what we wrote gets no more answers until it does: pipelined
    // requests would otherwise pile their responses up in our memory.
    if (this.socket.writableNeedDrain) { this.#holdOn(HOLD_DRAIN); return }
    this.#next()
  }

  /** On to the next request: one already here (pipelined), or wait for one. */
  #next(): void {
    this.#parser.resume()
    this.#waiting = false
    this.#holdOff(HOLD_END)
    if (this.#rest !== null) this.#drive()
    else if (this.#ended) this.#close()
    else this.#enterIdle()
  }

  #onDrain(): void {
    if ((this.#hold & HOLD_DRAIN) !== 0) {
      this.#holdOff(HOLD_DRAIN)
      this.#next()
    } else {
      this.#x?.onClientDrain()
    }
  }

  destroy(): void {
    this.#phase = CLOSED
    this.socket.destroy()
  }

  takeSocket(): Socket {
    this.#phase = TUNNEL // #x stays: the tunnel's exchange, for cut()
    this.#clearTimers()
    this.socket.removeAllListeners('data').removeAllListeners('drain').removeAllListeners('end')
    this.#parser.destroy()
    // Bytes read while we waited for the 101 belong to the tunnel: put them back in the stream. Paused
    // first, since unshift on a flowing socket emits them at once, before the tunnel's pipe listens.
    this.socket.pause()
    if (this.#rest !== null) this.socket.unshift(this.#rest.subarray(this.#restFrom))
    this.#rest = null
    return this.socket
  }

  log(x: Exchange): void {
    this.#host.finished++
    if (this.#stats !== null) this.#stats.exchange(x)
    // An exchange begun before a reload turned the log on kept no start time nor target: no line.
    if (!this.#host.access.enabled || x.startWall === 0) return
    this.#host.access.write({
      start: x.startWall, client: x.clientIp, method: x.methodText, target: x.target, status: x.status,
      bytesIn: x.bytesIn, bytesOut: x.bytesOut, ms: performance.now() - x.startedAt,
      peer: x.peer === null ? '' : x.peer.label, peerMs: x.peerMs, cause: x.cause, clientCert: this.clientSubject,
      user: x.user, requestId: x.requestId, filter: x.filter, limit: x.limit, delayMs: x.limitDelay,
    })
  }
}
