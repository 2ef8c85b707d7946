/**
 * One request/response pair, from the end of the request head to the end of the response.
 *
 *   client conn ──head──▶ Exchange.start ── pick peer ── pool take/open ──▶ send head + queued body
 *   client conn ──body──▶ requestBody ─────────────────────────────────────▶ upstream socket
 *   upstream ──bytes──▶ onUpstreamData ── llhttp (response) ── head ▶ client, body ▶ client
 *   end of response ──▶ upstream socket back to the pool (if clean) ──▶ conn.exchangeDone
 *
 * Faults end here: `fail` maps them to one status (errors.ts), or closes the client when a response
 * is already under way. Before that, a retry, only while no response byte has come and nothing has
 * gone to the client: on a fresh socket, or on another peer, as proxy/attempts.ts allows.
 */
import { Step, methodName } from '../http/llhttp.js'
import type { Head } from '../http/head.js'
import type { ContentReader } from './content.js'
import { Served } from './served.js'
import { HEAD } from '../http/methods.js'
import { Code, ProxyError, asProxyError, causeFor, statusFor } from '../errors.js'
import type { UpstreamConn, UpstreamOwner } from '../upstream/upstream-conn.js'
import type { Group } from '../upstream/group.js'
import type { Peer } from '../upstream/peer.js'
import { RequestInfo, buildRequest } from './request-head.js'
import type { Downstream } from './downstream.js'
import { Framing, buildInterim, buildResponse, buildStored, buildSwitch, framingFor, rawStart } from './response-head.js'
import { ClientOut, OutOwner } from './client-out.js'
import { CONTINUE, Reply, StoredReply, reply } from './reply.js'
import { Tunnel, TunnelOwner } from './tunnel.js'
import type { FilterFactory, Filter } from './filter.js'
import { Chain } from './chain.js'
import { HeadEdit } from './head-edit.js'
import type { BodyTransform } from './transform.js'
import { Transformed, TransformedOwner } from './transformed.js'
import { realClient } from './client-ip.js'
import { Attempts } from './attempts.js'
import type { Trace } from '../trace/trace.js'

const STATE_WAIT = 0
const STATE_HEAD_SENT = 1
const STATE_DONE = 2
/** A stored response is going to the client (proxy/served.ts). */
const STATE_SERVING = 3

export class Exchange implements UpstreamOwner, TunnelOwner, OutOwner, TransformedOwner {
  readonly down: Downstream
  /** The request head as spans (valid until the exchange is over: the client's parser waits for it). */
  readonly head: Head
  readonly info: RequestInfo
  readonly group: Group | null
  readonly method: number
  readonly minor: number
  /** The client wants the connection kept after this exchange (llhttp's verdict, RFC 9112 §9.3). */
  readonly keepAlive: boolean
  /** The request asks for a protocol switch we pass on: a 101 opens a tunnel. */
  readonly upgrade: boolean
  /** The client's parser stops after this request (it asked for an upgrade): close after a non-101. */
  readonly #lastOnConnection: boolean
  /** Clock readings, for the access log and the metrics (two clock reads per request saved when both are off). */
  readonly startedAt: number
  readonly startWall: number
  /** For the access log: method and target as received. */
  readonly methodText: string
  readonly target: string
  /** A status to answer locally instead of forwarding (404: no route). */
  readonly local: number
  /** The route's filters at work on this exchange; null when the route has none (then none cost anything). */
  readonly chain: Chain | null
  /** Set by the auth filter: the authenticated user, for `{user}`, rate-limit keys and the access log. */
  user = ''
  /** Set by the headers filter with `request_id`: this request's ID, sent upstream, back, and logged. */
  requestId = ''
  /** Set by the rate_limit filter: the limits that refused (or, dry-run, would have), for the access log. */
  limit = ''
  /** Set by the rate_limit filter in delay mode: ms the request waited its turn. */
  limitDelay = 0
  /** The matched route, as "host/path" ("*" for any host); '' for a request no route matched. */
  readonly routeLabel: string
  up: UpstreamConn | null = null
  /** The peer's final response head, once it is in (for the filters' response hooks). */
  response: Head | null = null
  /** The head of a stored response being served (a cache hit, or the cache's own 304), for the same hooks. */
  storedHead: Head | null = null
  started = false
  requestEnded = false
  /** Bytes after an Upgrade request's head, for the tunnel. */
  upgradeRest: Buffer | null = null
  status = 0
  bytesIn = 0
  bytesOut = 0
  peerStart = 0
  peerMs = 0
  /** ms from the request's head sent to the peer's response head (metrics), when timed. */
  headMs = 0
  err: ProxyError | null = null
  /** The termination cause of a filter's local answer (Reply.cause); '--' otherwise. */
  #cause = '--'
  #clientIp: string | null = null
  /** A request without Host is rebuilt for each peer it is sent to (its Host is the peer's address). */
  #rebuild = false
  #upEdit: HeadEdit | null = null
  #upHead: Buffer | null = null
  #queue: Buffer[] | null = null
  #state = STATE_WAIT
  /** The response on its way to the client, from its first head on (client-out.ts). */
  #out: ClientOut | null = null
  #close = false
  /** The peers this request goes to; null until it goes to one (and for a local answer). */
  #tries: Attempts | null = null
  #finished = false
  #holding = false
  /** Some filter reads the response content (Filter.responseBody). */
  #reads = false
  /** A stored response's body on its way (STATE_SERVING). */
  #reader: ContentReader | null = null
  /**
   * Set by a filter that tees the response (the cache) while others read its copy as it arrives:
   * true means the peer is read at its own pace, not this client's, and read to its end if this
   * client leaves. Bounded by what the filter holds anyway (a stored object's size).
   */
  othersReading: (() => boolean) | null = null
  /** The client left while others read the response's copy: the peer is read to its end, unwritten. */
  #orphan = false
  /** A filter's transform of the response content (Filter.responseTransform), until its output ends. */
  #tx: Transformed | null = null
  /**
   * This request's trace recorder (src/trace/), set by the connection; null when it is not traced,
   * and then every `this.trace?.` line below is one null test and nothing else (no argument is built).
   */
  trace: Trace | null = null

  constructor(down: Downstream, head: Head, info: RequestInfo, group: Group | null, local: number, filters: readonly FilterFactory[], routeLabel = '') {
    this.down = down
    this.routeLabel = routeLabel
    this.head = head
    this.info = info
    this.group = group
    this.local = local
    this.method = head.method
    this.minor = head.minor
    this.keepAlive = head.keepAlive
    this.upgrade = info.upgrade
    this.#lastOnConnection = head.upgrade
    this.methodText = methodName(head.method)
    this.target = down.logging ? head.line() : ''
    this.startedAt = down.timed ? performance.now() : 0
    this.startWall = down.logging ? Date.now() : 0
    this.chain = filters.length === 0 ? null : new Chain(filters, this)
  }

  /** The peer of the current attempt, or null. */
  get peer(): Peer | null { return this.#tries === null ? null : this.#tries.peer }

  /**
   * The real client address (proxy/client-ip.ts): the connection's client, or, behind trusted
   * proxies, the rightmost untrusted X-Forwarded-For entry. Worked out on first use only.
   */
  get clientIp(): string {
    if (this.#clientIp === null) {
      const o = this.down.origin
      this.#clientIp = realClient(this.head, o.client, o.trusted, this.down.rt.trusted)
    }
    return this.#clientIp
  }

  /** Called once the chunk that held the head is parsed (so nothing unvalidated goes out). */
  start(): void {
    this.started = true
    const c = this.chain
    if (c !== null) {
      let v
      // A filter that throws is a bug of ours: a 500 for this request, never a hung connection.
      try { v = c.request(this) } catch (err) { this.#filterFault(err); return }
      this.trace?.filtered(this, v)
      if (v instanceof Promise) { v.then((r) => this.#filtered(r), (err) => this.#filterFault(err)); return }
      if (v !== undefined) { this.#reply(v); return }
    }
    this.#forward()
  }

  /** An asynchronous request filter settled: answer, or forward (unless the client left meanwhile). */
  #filtered(r: Reply | undefined): void {
    if (this.#finished) return
    this.trace?.filtered(this, r)
    if (r !== undefined) this.#reply(r)
    else this.#forward()
  }

  #filterFault(err: unknown): void {
    this.fail(asProxyError(err, Code.INTERNAL))
  }

  /** `f` sees each slice of the request body before it goes upstream (Filter.requestBody). */
  tapRequestBody(f: Filter): void {
    this.chain!.tap(f)
  }

  /** `f` reads the response content, from the peer's head on (Filter.responseBody). */
  tapResponseBody(f: Filter): void {
    this.chain!.readResponse(f)
  }

  /** Picks a peer and sends the request; or answers locally (404: no route). */
  #forward(): void {
    if (this.local !== 0) { this.#answer(this.local); return }
    const g = this.group!
    const tries = this.#tries = new Attempts(g, g.keys === null ? null : g.key(this.head, this.info.path, this.clientIp))
    const peer = tries.first()
    this.trace?.balanced(g, peer, g.keys === null ? null : g.key(this.head, this.info.path, this.clientIp))
    if (peer === null) { this.fail(new ProxyError(Code.NO_PEER, `upstream "${g.name}" has no available peer`)); return }
    const o = this.down.origin
    if (this.chain !== null) this.#upEdit = this.chain.upstream(this)
    // RFC 9110 §10.1.1: an HTTP/1.0 peer will not send 100 Continue; we do, and drop the Expect.
    const answerContinue = this.info.expectContinue && peer.minor === 0
    this.#upHead = buildRequest(this.head, this.info, o, this.down.rt.via, peer.label, answerContinue, this.#upEdit)
    // A request without Host (HTTP/1.0) is sent with the peer's address as Host: a retry rebuilds it.
    // The head's spans stay valid meanwhile: the client's parser is paused on this request.
    this.#rebuild = this.info.authority === null
    if (answerContinue && this.minor >= 1) this.#write(CONTINUE)
    this.#acquire(peer, false)
  }

  #leave(): void {
    this.#tries?.leave()
  }

  #acquire(peer: Peer, fresh: boolean): void {
    // An upgrade gets a socket of its own, read as a stream for its tunnel's pipe (and never pooled).
    const c = fresh || this.upgrade ? null : peer.pool.take(this)
    this.trace?.pooled(peer, c !== null)
    if (c !== null) { this.up = c; this.#send(c); return }
    this.up = peer.pool.open(this, this.upgrade)
  }

  /** A body slice from the client, validated by llhttp, raw (Content-Length or chunked bytes). */
  requestBody(b: Buffer): void {
    this.bytesIn += b.length
    this.trace?.body(b)
    if (this.#finished) return // answered already: dropped, the connection closes
    if (this.chain !== null && this.chain.tapped) {
      const r = this.chain.body(this, this.down.bodyReceived)
      if (r !== undefined) { this.#refuseBody(r); return }
    }
    if (this.up !== null && this.up.connected && this.#queue === null) {
      this.#tries!.bodySent += b.length
      if (!this.up.socket.write(b)) { this.#hold(true); this.#watch(this.up) }
    } else {
      ;(this.#queue ??= []).push(b)
      this.#hold(true)
    }
  }

  /**
   * A body tap refused the body (max_body's 413): this slice and the rest stay here. The peer's
   * socket, holding half a request, is dropped; the client gets the answer if no response has begun,
   * else its connection is cut. Either way it is closed: the rest of its body is not read.
   */
  #refuseBody(r: Reply): void {
    if (this.up !== null) { this.up.destroy(); this.up = null }
    this.#queue = null
    if (this.#state === STATE_WAIT) { this.#reply(r); return }
    this.#cause = r.cause
    this.#finished = true
    this.#leave()
    this.down.destroy()
    this.#log()
  }

  /** The client's message is complete. */
  endRequest(): void {
    this.requestEnded = true
    if (this.up !== null && this.up.connected) this.#watch(this.up)
  }

  #hold(on: boolean): void {
    if (this.#holding === on) return
    this.#holding = on
    this.down.holdBody(on)
  }

  #send(c: UpstreamConn): void {
    if (this.down.timed) this.peerStart = performance.now()
    const s = c.socket
    let ok = true
    this.#tries!.headSent = true
    this.trace?.sent(this, this.#upHead!)
    if (this.#queue === null) {
      s.write(this.#upHead!)
    } else {
      // One writev for the head and the body bytes that came with it.
      s.cork()
      s.write(this.#upHead!)
      for (const b of this.#queue) { ok = s.write(b); this.#tries!.bodySent += b.length }
      this.#queue = null
      s.uncork()
    }
    if (ok) this.#hold(false)
    // RFC 9110 §9.3.2: the response to HEAD has no body, whatever its Content-Length says.
    c.parser.skipBody = this.method === HEAD
    // A client of HTTP/1.1 takes a body with the peer's framing: no need to stop between head and body
    // (unless a filter may read the content: then the body's spans start after the head is seen).
    c.parser.onePass = this.minor >= 1 && (this.chain === null || !this.chain.readsResponse)
    this.#watch(c)
  }

  /**
   * Arms the peer's timer for where the request stands, until the response head: blocked on the peer
   * taking the body, `upstream_idle`; all sent, `upstream_response`; else the client sets the pace.
   */
  #watch(c: UpstreamConn): void {
    if (this.#state !== STATE_WAIT) return
    if (this.#holding) c.streaming()
    else if (this.requestEnded) c.awaitResponse()
    else c.quiet()
  }

  // ---- UpstreamOwner ----

  onUpstreamConnect(c: UpstreamConn): void {
    this.trace?.connected()
    this.#send(c)
  }

  onUpstreamDrain(c: UpstreamConn): void {
    this.#hold(false)
    this.#watch(c)
  }

  onUpstreamData(c: UpstreamConn, chunk: Buffer): boolean {
    this.#read(c, chunk)
    // The chunk's memory may be read into again (upstream-conn.ts) unless something may hold on to
    // it: the client's socket with bytes queued (a write of a slice of it, not taken whole), a
    // filter (the head for its hooks, content for a cache or a coder), a trace record.
    return this.chain === null && this.trace === null && !this.down.queued
  }

  #read(c: UpstreamConn, chunk: Buffer): void {
    const p = c.parser
    let from = 0
    try {
      for (;;) {
        const step = p.execute(chunk, from)
        const o = this.#out
        if (o !== null && o.spans.length > 0) o.flushSpans(chunk)
        if (step === Step.ERROR) { this.#upstreamFault(c, p.error!); return }
        if (p.headDone) {
          if (!this.#onHead(c, chunk, from)) return
          if (p.bodyStart >= 0) from = p.bodyStart // head and body in one step (Parser.onePass)
        }
        if (step === Step.MORE) {
          if (this.#state === STATE_HEAD_SENT) { this.#out!.body(chunk, from, chunk.length); c.streaming() }
          return
        }
        if (step === Step.HEAD) {
          from = p.pos
          p.resume()
          continue
        }
        if (step === Step.UPGRADE) { this.#openTunnel(c, chunk.subarray(p.pos)); return }
        // Step.END
        if (this.#state === STATE_WAIT) { from = p.pos; p.resume(); continue } // an interim 1xx
        this.#out!.body(chunk, from, p.pos)
        this.#responseEnd(c, p.pos < chunk.length)
        return
      }
    } finally {
      this.#out?.flush()
    }
  }

  /** A decoded body span, from inside llhttp: only noted here, written once `execute` returns. */
  onUpstreamBody(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return
    const o = this.#out!
    if (o.framing !== Framing.RAW) o.spans.push(start, end)
    if (this.#reads) this.chain!.responseBody(this, chunk.subarray(start, end))
  }

  onUpstreamClose(c: UpstreamConn, err: ProxyError | null): void {
    if (this.#finished) return
    if (this.#state === STATE_HEAD_SENT && c.parser.untilClose && err === null) {
      // RFC 9112 §6.3 rule 8: a clean close is the end of this body; a reset or a timeout is not.
      const step = c.parser.finish()
      if (step === Step.END) { this.#responseEnd(c, false); return }
    }
    const e = err ?? new ProxyError(Code.UPSTREAM_RESET, `${c.peer.label} closed the connection`)
    this.up = null
    const before = this.#state === STATE_WAIT && c.received === 0 && this.bytesOut === 0
    // A pooled socket the peer had closed: try once more on a new one.
    if (before && c.reused && e.retryable && this.#tries!.freshSocket(this.method, this.info.hasBody)) { this.#acquire(c.peer, true); return }
    // A reused socket that closes before any byte is most likely the idle-close race, not the peer's fault.
    if (e.retryable && !(c.reused && c.received === 0)) this.group!.failed(c.peer, e.code)
    if (before && e.retryable && this.#retry(c.peer)) return
    this.fail(e)
  }

  /** Sends the request to another peer, if the rules allow one more attempt and a peer is left. */
  #retry(failed: Peer): boolean {
    const next = this.#tries!.next(failed, this.method, this.info.hasBody)
    if (next === null) return false
    if (this.#rebuild) this.#upHead = buildRequest(this.head, this.info, this.down.origin, this.down.rt.via, next.label, false, this.#upEdit)
    this.#acquire(next, false)
    return true
  }

  // ---- response ----

  /** `from`: where this message's bytes start in `chunk`. Returns false when the exchange ended here. */
  #onHead(c: UpstreamConn, chunk: Buffer, from: number): boolean {
    const h = c.parser.head
    c.peer.minor = h.minor
    if (h.status < 200 && h.status !== 101) {
      // RFC 9110 §15.2: pass 1xx on, except to an HTTP/1.0 client, which cannot take them.
      if (this.minor >= 1 && !(h.status === 100 && this.#answeredContinue())) this.#outFor().interim(buildInterim(h))
      return true
    }
    if (h.status === 101 && !this.upgrade) {
      this.#upstreamFault(c, new ProxyError(Code.UPSTREAM_PARSE, '101 for a request that asked for no upgrade'))
      return false
    }
    this.status = h.status
    if (this.down.metered) this.headMs = performance.now() - this.peerStart
    this.group!.answered(c.peer, h.status)
    if (h.status === 101) return true
    this.response = h
    if (this.chain !== null) {
      const r = this.chain.upstreamResponse(this)
      if (r !== undefined) { this.#dropResponse(c, chunk); this.#reply(r); return false }
    }
    this.#state = STATE_HEAD_SENT
    const closing = !this.keepAlive || !this.requestEnded || this.#lastOnConnection || this.down.closing
    let framing = framingFor(h, c.parser.untilClose, this.method === HEAD, this.minor, closing)
    let edit = this.chain === null ? null : this.chain.response(this)
    // A filter's transform (proxy/transform.ts) takes the decoded content; our close ends it for HTTP/1.0.
    const t = framing === Framing.NONE || this.chain === null || !this.chain.transforms ? null : this.#transformOf(h, null, edit)
    if (t !== null) { edit = t[1]; framing = this.minor >= 1 ? Framing.TRANSFORM : Framing.TRANSFORM_CLOSE; c.parser.bodySpans = true }
    // Our close delimits the body when we pass on one delimited by the peer's, or de-chunk it.
    const close = closing || framing === Framing.DECHUNK || framing === Framing.TRANSFORM_CLOSE || (framing === Framing.RAW && c.parser.untilClose)
    this.#close = close
    if (framing === Framing.DECHUNK || framing === Framing.RECHUNK) c.parser.bodySpans = true
    if (this.chain !== null && this.chain.readingResponse) { this.#reads = true; c.parser.bodySpans = true }
    const start = framing <= Framing.RAW && !close && this.minor >= 1 && edit === null ? rawStart(h, chunk, from) : -1
    this.trace?.responded(this, h, framing, close)
    // DESIGN principle 1: a head that needs no change goes out as received, in one write with the
    // body bytes of this chunk (measured: −0.7 µs per request against rebuilding it).
    if (start >= 0) this.#outFor().passHead(start, h)
    else this.#outFor().holdHead(buildResponse(h, framing, close, this.minor === 0 && !close, edit), framing)
    if (t !== null) this.#outFor().transform(this.#tx = new Transformed(t[0] as BodyTransform, this.down, this, framing === Framing.TRANSFORM))
    // No timer switch here: a response that ends in this chunk needs none, and one that goes on
    // reaches Step.MORE, which arms upstream_idle (one timer refresh per request saved).
    return true
  }

  /**
   * Filter.responseTransform: a filter's transform of the content (or, for a stored response, another
   * StoredReply), and the edits of the head to send with it (made into `edit`, or a new one). Null: none.
   */
  #transformOf(head: Head, stored: StoredReply | null, edit: HeadEdit | null): [BodyTransform | StoredReply, HeadEdit] | null {
    const e = edit ?? new HeadEdit()
    const t = this.chain!.transform(this, head, stored, e)
    return t === null ? null : [t, e]
  }

  /**
   * A filter answers instead of the peer's response: the peer's socket goes back to the pool if that
   * response ends in this chunk with nothing after it (a 304 does), else it is closed.
   */
  #dropResponse(c: UpstreamConn, chunk: Buffer): void {
    this.up = null
    const p = c.parser
    // The parser stopped at the head (a filter that checks responses reads bodies apart, so no onePass).
    p.resume()
    const step = p.execute(chunk, p.pos)
    if (step === Step.END && p.pos === chunk.length && p.head.keepAlive && !p.untilClose && this.requestEnded && !this.upgrade) {
      c.quiet()
      c.peer.pool.release(c)
    } else {
      c.destroy()
    }
  }

  #outFor(): ClientOut {
    return this.#out ??= new ClientOut(this.down, this)
  }

  #answeredContinue(): boolean {
    return this.info.expectContinue && this.peer !== null && this.peer.minor === 0
  }

  /** A write to the client outside a response's body (100 Continue, the 101 of a tunnel). */
  #write(b: Buffer): void {
    this.bytesOut += b.length
    if (!this.down.write(b)) this.clientFull()
  }

  /** The client's buffer is full (OutOwner): stop reading the peer until it drains. */
  clientFull(): void {
    if (this.up !== null && (this.othersReading === null || !this.othersReading())) this.up.socket.pause()
  }

  /** The client drained: let the peer send again (under a transform, its output; its drain resumes the peer). */
  onClientDrain(): void {
    if (this.#tx !== null) this.#tx.resume()
    else if (this.up !== null) this.up.socket.resume()
    else if (this.#reader !== null) this.#reader.resume()
  }

  #responseEnd(c: UpstreamConn, extra: boolean): void {
    if (this.#reads) this.chain!.responseBody(this, null)
    if (this.#orphan) { this.#orphanEnd(c, extra); return }
    // Before #finish: the next pipelined request may write its own answer at once.
    this.#out!.end()
    if (this.down.logging) this.peerMs = performance.now() - this.peerStart
    // A transform still writing keeps the response under way until its end (transformEnd).
    if (this.#tx === null) this.#state = STATE_DONE
    this.up = null
    c.quiet()
    if (c.socket.isPaused()) c.socket.resume()
    // The socket goes back only after a clean, complete exchange: the peer keeps it alive, it sent
    // nothing more, and the whole request went out.
    if (c.parser.head.keepAlive && !extra && !c.parser.untilClose && this.requestEnded && !this.upgrade) c.peer.pool.release(c)
    else c.destroy()
    if (this.#tx === null) this.#finish(this.#close)
  }

  /** The peer's response, read on after its client left, is complete: the socket goes back, the line is logged. */
  #orphanEnd(c: UpstreamConn, extra: boolean): void {
    this.#state = STATE_DONE
    this.up = null
    c.quiet()
    if (c.parser.head.keepAlive && !extra && !c.parser.untilClose) c.peer.pool.release(c)
    else c.destroy()
    this.#finished = true
    this.#leave()
    this.#log()
  }

  #openTunnel(c: UpstreamConn, rest: Buffer): void {
    if (this.status !== 101) {
      // llhttp ends the message on a 2xx to CONNECT too; we never forward CONNECT, so this is a 101.
      this.#upstreamFault(c, new ProxyError(Code.UPSTREAM_PARSE, 'unexpected upgrade'))
      return
    }
    const h = c.parser.head
    this.#write(buildSwitch(h))
    if (this.down.logging) this.peerMs = performance.now() - this.peerStart
    this.#state = STATE_DONE
    this.up = null
    this.#finished = true
    this.#leave()
    const peerSocket = c.detach()
    const client = this.down.takeSocket()
    if (rest.length > 0) { client.write(rest); this.bytesOut += rest.length }
    if (this.upgradeRest !== null && this.upgradeRest.length > 0) peerSocket.write(this.upgradeRest)
    new Tunnel(client, peerSocket, this.down.rt.config.timeouts.tunnel_idle, this)
  }

  /** The tunnel is over: one access log line for the whole upgraded connection. */
  /** The server's stop cut this exchange's tunnel: its line gives that cause. */
  tunnelCut(err: ProxyError): void {
    this.err ??= err
  }

  tunnelClosed(bytesUp: number, bytesDown: number): void {
    this.bytesIn += bytesUp
    this.bytesOut += bytesDown
    this.#log()
  }

  // ---- faults ----

  #upstreamFault(c: UpstreamConn, err: ProxyError): void {
    this.up = null
    c.destroy()
    this.fail(err)
  }

  /**
   * Ends the exchange on a fault: answers with the fault's status if nothing of a response has gone
   * to the client, else cuts the client connection so it never mistakes a partial response for a
   * whole one.
   */
  fail(err: ProxyError): void {
    if (this.#finished) return
    this.err = err
    if (this.up !== null) { this.up.destroy(); this.up = null }
    if (this.#state === STATE_HEAD_SENT || this.#state === STATE_SERVING) {
      this.#reader?.cancel()
      this.#tx?.cancel()
      this.#finished = true
      this.#leave()
      this.down.destroy()
      this.#log()
      return
    }
    if (this.chain !== null) {
      const r = this.chain.fault(this, err)
      if (r !== undefined) { this.#reply(r); return }
    }
    // RFC 9110 §10.2.3: tell the client when a peer may be back.
    this.#answer(statusFor(err), err.code === Code.NO_PEER && this.group !== null ? `Retry-After: ${this.group.retryAfter()}\r\n` : '')
  }

  /** The client went away: the peer socket cannot be reused (it holds a half-done exchange). */
  abort(err: ProxyError): void {
    if (this.#finished || this.#orphan) return
    this.err = err
    // Others read this response's copy as it arrives: it is read to its end for them (the cache),
    // unless the server is stopping, which cuts them too.
    if (this.#state === STATE_HEAD_SENT && this.up !== null && this.requestEnded && !this.down.closing && this.othersReading !== null && this.othersReading()) {
      this.#orphan = true
      this.#out!.mute()
      // A transform's output has no client any more; the tee sees the peer's content without it.
      this.#tx?.cancel()
      if (this.up.socket.isPaused()) this.up.socket.resume()
      return
    }
    if (this.up !== null) { this.up.destroy(); this.up = null }
    this.#reader?.cancel()
    this.#tx?.cancel()
    this.#finished = true
    this.#leave()
    this.#log()
  }

  /** A filter's local answer: its status, fields and body, through the one builder. */
  #reply(r: Reply): void {
    this.#cause = r.cause
    if (r instanceof StoredReply) this.#serve(r)
    else this.#answer(r.status, r.fields, r.body)
  }

  /**
   * Answers with a stored response: its head with our fields, then its content from the store (or
   * from the exchange still filling it), with backpressure, chunked when its length is not known yet.
   */
  #serve(r: StoredReply): void {
    if (this.#finished) return
    this.status = r.status
    this.storedHead = r.head
    const headOnly = this.method === HEAD || r.content === null
    let edit = this.chain === null ? null : this.chain.response(this)
    // A filter's transform of the stored content, or a stored copy of it to serve instead (Filter.responseTransform).
    const t = headOnly || this.chain === null || !this.chain.transforms ? null : this.#transformOf(r.head, r, edit)
    if (t !== null) { edit = t[1]; if (t[0] instanceof StoredReply) r = t[0] }
    const tx = t === null || t[0] instanceof StoredReply ? null : t[0]
    const unknown = (r.length < 0 || tx !== null) && !headOnly
    const close = !this.keepAlive || !this.requestEnded || this.#lastOnConnection || this.down.closing || (unknown && this.minor === 0)
    // Chunked when the length is unknown, as a transformed body always is, to any HTTP/1.1 client (response-head.ts Framing.TRANSFORM).
    const chunked = unknown && (tx !== null ? this.minor >= 1 : !close)
    // A HEAD whose GET would be coded has no length (a filter dropped it: compress's recodedHead).
    const length = tx !== null || (headOnly && edit !== null && edit.dropsName('content-length')) ? -1 : r.length
    const b = buildStored(r, close, this.minor === 0 && !close, chunked, edit, length)
    this.bytesOut += b.length
    this.trace?.answered(r.status, b, true)
    if (headOnly) {
      this.down.write(b)
      this.#state = STATE_DONE
      this.#finish(close)
      return
    }
    this.#state = STATE_SERVING
    this.#close = close
    const end = r.length < 0 ? -1 : r.start + r.length
    if (tx !== null) this.down.write(b)
    const sink = tx === null ? new Served(this.down, this, b, chunked) : this.#tx = new Transformed(tx, this.down, this, chunked)
    const reader = r.content!.read(sink, r.start, end)
    if (this.#state === STATE_SERVING) this.#reader = reader
    if (sink instanceof Served) sink.flushHead()
  }

  /** The stored body went out whole (Served). */
  servedEnd(): void {
    this.#reader = null
    this.#state = STATE_DONE
    this.#finish(this.#close)
  }

  /** The transform's input has room again (Transformed): the peer, or the stored body, goes on. */
  transformDrained(): void {
    if (this.up !== null) this.up.socket.resume()
    else if (this.#reader !== null) this.#reader.resume()
  }

  /** The transform's output went out whole: the response is complete (the peer's socket went back at its end). */
  transformEnd(): void {
    this.#tx = null
    this.servedEnd()
  }

  /** A transform failed (a peer's broken gzip) or its stored input did: the client is cut, the cause logged. */
  transformFailed(err: ProxyError): void {
    this.#tx = null
    this.fail(err)
  }

  /** The stored body could not be read to its end (Served): the client is cut, as by a peer. */
  servedAbort(reason: string): void {
    this.#reader = null
    this.fail(new ProxyError(Code.UPSTREAM_RESET, reason))
  }

  /**
   * Writes a local answer (a filter's, a 404, a fault's status). The connection is kept only when
   * the whole request has been read: a body not read yet means close (RFC 9112 §9.6), and so does a
   * parse error, after which the bytes that follow cannot be trusted.
   */
  #answer(status: number, fields = '', body: string | null = null): void {
    if (this.#finished) return
    this.status = status
    const close = !this.keepAlive || !this.requestEnded || status === 400 || this.#lastOnConnection || this.down.closing
    const edit = this.chain === null ? null : this.chain.response(this)
    const b = reply(status, close, this.method === HEAD, fields, body, edit)
    this.bytesOut += b.length
    this.trace?.answered(status, b, false)
    this.down.write(b)
    this.#state = STATE_DONE
    this.#finish(close)
  }

  #finish(close: boolean): void {
    if (this.#finished) return
    this.#finished = true
    this.#leave()
    // A fault can end the exchange while the client is held for the peer's drain: the next request
    // on this connection must still be read.
    this.#hold(false)
    this.#log()
    this.down.exchangeDone(close)
  }

  /** The end of every path: the filters' `done`, then the access log line. */
  #log(): void {
    this.chain?.done(this)
    this.trace?.end(this)
    this.down.log(this)
  }

  /** The access log's termination cause: the fault's, or the answering filter's. */
  get cause(): string { return this.err !== null ? causeFor(this.err) : this.#cause }
  /** The filter whose answer ended the exchange, or ''. */
  get filter(): string { return this.chain === null ? '' : this.chain.answeredBy }
  get finished(): boolean { return this.#finished }
}
