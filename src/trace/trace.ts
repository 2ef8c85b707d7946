/**
 * One traced request's recorder: the Exchange (and the client connection before it) call it at each
 * phase through `x.trace?.step(...)`-style hooks, which cost one null check when the request is not
 * traced. It keeps what it is told, marks the clock, and at the end makes the TraceRecord
 * (record.ts) and hands it to the Tracer (tracer.ts).
 */
import type { Head } from '../http/head.js'
import { methodName } from '../http/llhttp.js'
import { PASSED, checkOf } from '../http/checks.js'
import { statusText } from '../http/status.js'
import { HEAD } from '../http/methods.js'
import { ProxyError, causeFor, statusFor } from '../errors.js'
import { Framing } from '../proxy/response-head.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Reply } from '../proxy/reply.js'
import type { Group } from '../upstream/group.js'
import type { Peer } from '../upstream/peer.js'
import { Masker, escape, maskRefused, rebuild } from './escape.js'
import type { TraceHeadLine, TraceRecord, TraceSpan, TraceStep } from './record.js'

/** Body bytes a record keeps after the head. */
export const BODY_MAX = 4096

export type TraceClient = TraceRecord['client']

/** Where a finished record goes (the Tracer), with the id of the arming that chose it (0: none). */
export type Emit = (r: TraceRecord, arm: number) => void

/** The access log's causes of a filter's answer, in words. */
const CAUSES: Record<string, string> = { PR: 'refused by policy', PA: 'authentication', LR: 'answered by a rule', PL: 'rate limit' }

function ms(n: number): number {
  return Math.round(n * 1000) / 1000
}

export class Trace {
  readonly id: string
  readonly arm: number
  readonly steps: TraceStep[] = []
  readonly timings: Record<string, number> = {}
  readonly #t0: number
  readonly #started: number
  readonly #client: TraceClient
  readonly #emit: Emit
  readonly #mask: Masker
  /** The head as received (masked), a latin1 string: one character per byte. */
  #head = ''
  #spans: TraceSpan[] = []
  readonly #body: Buffer[] = []
  #bodyLen = 0
  #route: string | undefined = undefined
  #peer: string | undefined = undefined
  #upstream: TraceHeadLine[] | undefined = undefined
  #response: string | undefined = undefined
  #framing: string | undefined = undefined
  #status = 0
  #headAt = 0
  #pickAt = 0
  #sentAt = 0
  #responseAt = -1
  #done = false

  /** `t0`: performance.now() at the first byte of the request. */
  constructor(id: string, arm: number, t0: number, client: TraceClient, token: string | null, emit: Emit) {
    this.id = id
    this.arm = arm
    this.#t0 = t0
    this.#started = Date.now() - (performance.now() - t0)
    this.#client = client
    this.#mask = new Masker(token)
    this.#emit = emit
  }

  #now(): number {
    return ms(performance.now() - this.#t0)
  }

  /** Adds a step at the current time (or at `at`). */
  step(phase: TraceStep['phase'], what: string, verdict?: string, why?: string, rfc?: string, at = this.#now()): void {
    const s: TraceStep = { at, phase, what }
    if (verdict !== undefined) s.verdict = verdict
    if (why !== undefined) s.why = why
    if (rfc !== undefined) s.rfc = rfc
    this.steps.push(s)
  }

  // ---- the phases, in the order they come ----

  /** The head is parsed and checked (server/connection.ts): its bytes and spans, the checks, the route. */
  parsed(x: Exchange): void {
    const h = x.head
    this.#headAt = this.#now()
    this.timings.parse = this.#headAt
    this.timings.filters = 0 // a route without filters; else set when they have run
    const { raw, spans } = rebuild(h, `${methodName(h.method)} `, this.#mask, true)
    this.#head = raw
    this.#spans = spans
    this.step('parse', 'request head complete', undefined, `${raw.length} bytes, ${h.count} fields`, undefined, this.#headAt)
    // The checks ran as the head was parsed: they are dated with it.
    for (const c of PASSED) this.step('check', c.name, 'pass', undefined, c.rfc, this.#headAt)
    if (x.routeLabel !== '') {
      this.#route = x.routeLabel
      this.step('route', x.routeLabel, 'matched', this.#mask.text(`host ${x.info.host}, path ${x.info.route} → upstream ${x.group?.name ?? '-'}`))
    } else {
      this.step('route', 'no route', '404', this.#mask.text(`host ${x.info.host}, path ${x.info.route} matches no route`))
    }
  }

  /** The request filters' verdict: each passed, or one answered (`v` a Reply), or one waits. */
  filtered(x: Exchange, v: Reply | undefined | Promise<Reply | undefined>): void {
    const c = x.chain
    if (c === null) return
    if (v instanceof Promise) { this.step('filter', 'waiting for an asynchronous filter'); return }
    for (const name of c.requestNames) {
      if (v !== undefined && name === c.answeredBy) {
        const why = v.body !== null ? v.body.trim() : statusText(v.status)
        this.step('filter', name, `answers ${v.status}`, `${CAUSES[v.cause] ?? v.cause}: ${why}`)
        break
      }
      this.step('filter', name, 'pass')
    }
    this.timings.filters = ms(this.#now() - this.#headAt)
  }

  /** The balancer's pick for the first attempt (null: no peer available). */
  balanced(g: Group, peer: Peer | null, key: string | null): void {
    this.#pickAt = this.#now()
    const ok = g.peers.filter((p) => p.up && p.ejectedUntil === 0 && p.admin === 0).length
    // A key from a header or a cookie may be a credential (a session cookie, Authorization): its
    // length is shown, not its value; the client address or the path is shown as it is.
    const hk = g.cfg.hash_key
    const shown = key === null ? '' : hk.from === 'header' || hk.from === 'cookie' ? `<masked: ${hk.from} ${hk.name}, ${key.length} bytes>` : this.#mask.text(key)
    const why = `${g.cfg.balance} over ${ok} of ${g.peers.length} peers available in upstream ${g.name}${key === null ? '' : `, hash key ${shown}`}`
    if (peer === null) { this.step('balance', 'no peer available', '503', why); return }
    this.#peer = peer.label
    this.step('balance', peer.label, 'picked', why)
  }

  /** A pooled socket reused, or a new one being opened. */
  pooled(peer: Peer, reused: boolean): void {
    this.#peer = peer.label
    if (reused) {
      this.timings.connect = 0
      this.step('connect', 'reused an idle pooled connection', 'reuse', `to ${peer.label}, ${peer.pool.idleCount} idle left`)
    } else {
      this.step('connect', 'new connection', 'connect', `to ${peer.label}: no idle pooled connection`)
    }
  }

  connected(): void {
    this.timings.connect = ms(this.#now() - this.#pickAt)
    this.step('connect', 'connected', 'ok')
  }

  /** The head sent to the peer, compared line by line with the received one. */
  sent(x: Exchange, head: Buffer): void {
    this.#sentAt = this.#now()
    const lines = this.#diff(x.head, head)
    this.#upstream = lines
    const n = (c: TraceHeadLine['change']): number => lines.filter((l) => l.change === c).length
    this.step('upstream', 'request head sent', undefined, `${head.length} bytes: ${n('kept')} lines kept, ${n('removed')} removed, ${n('added')} added, ${n('changed')} changed`)
  }

  /** The peer's final response head, and how its body travels to the client. */
  responded(x: Exchange, h: Head, framing: Framing, close: boolean): void {
    this.#responseAt = this.#now()
    this.timings['upstream head'] = ms(this.#responseAt - this.#sentAt)
    this.#status = h.status
    this.#response = escape(rebuild(h, `HTTP/${h.major}.${h.minor} ${h.status} `, this.#mask, false).raw)
    this.step('response', `${h.status} ${h.line()}`, undefined, `from ${this.#peer ?? 'the peer'}`)
    this.#framing = framingText(x, h, framing, close)
    this.step('framing', this.#framing, undefined, close ? 'then the client connection closes' : 'the client connection stays open', 'RFC 9112 §6.3')
  }

  /** A local answer's bytes (a filter's reply, a 404, a fault's status, a stored response's head). */
  answered(status: number, bytes: Buffer, stored: boolean): void {
    this.#responseAt = this.#now()
    this.#status = status
    const all = bytes.toString('latin1')
    const end = all.indexOf('\r\n\r\n')
    const head = end < 0 ? all : all.slice(0, end + 4)
    this.#response = escape(head.split('\r\n').map((l, i) => (i === 0 ? l : this.#mask.line(l))).join('\r\n'))
    this.step('response', `${status} ${statusText(status)}`, stored ? 'stored' : 'local', stored ? 'a stored response (cache)' : 'answered by rawproxy')
    const m = /\r\ncontent-length: *(\d+)/i.exec(head)
    this.#framing = m !== null ? `content-length ${m[1]}` : /\r\ntransfer-encoding: *chunked/i.test(head) ? 'chunked' : 'none'
    this.step('framing', this.#framing, undefined, undefined, 'RFC 9112 §6.3')
  }

  /** A slice of the request body as received (raw framing), kept up to BODY_MAX bytes. */
  body(b: Buffer): void {
    if (this.#bodyLen >= BODY_MAX) return
    const piece = b.subarray(0, BODY_MAX - this.#bodyLen)
    this.#body.push(Buffer.from(piece))
    this.#bodyLen += piece.length
  }

  /** The exchange is over: the last steps, the record, and off it goes. */
  end(x: Exchange): void {
    if (this.#done) return
    this.#done = true
    const err = x.err
    if (err !== null) this.#fault(err)
    const now = this.#now()
    if (this.#responseAt >= 0) this.timings.body = ms(now - this.#responseAt)
    this.timings.total = now
    this.step('end', `status ${x.status}`, x.cause, err?.message)
    this.#status = x.status
    this.#emit(this.#record(), this.arm)
  }

  /** A request refused before it became an exchange (a malformed head): what came, and why not. */
  refused(received: Buffer, err: ProxyError, answer: Buffer): void {
    this.#done = true
    const cut = received.toString('latin1', 0, Math.min(received.length, 16_384 + BODY_MAX))
    this.#head = maskRefused(cut, this.#mask)
    this.timings.parse = this.#now()
    this.step('parse', 'request head refused', 'error', err.message)
    this.#fault(err)
    const status = statusFor(err)
    this.answered(status, answer, false)
    this.timings.total = this.#now()
    this.step('end', `status ${status}`, causeFor(err), 'the connection closes: nothing of the request was forwarded')
    this.#emit(this.#record(), this.arm)
  }

  #fault(err: ProxyError): void {
    const c = checkOf(err)
    if (c !== null) this.step('check', c.name, 'fail', err.message, c.rfc)
  }

  #record(): TraceRecord {
    const body = this.#bodyLen === 0 ? '' : this.#mask.text(Buffer.concat(this.#body).toString('latin1'))
    const spans = body.length === 0 ? this.#spans : [...this.#spans, { kind: 'body' as const, offset: this.#head.length, length: body.length, text: body }]
    const r: TraceRecord = {
      id: this.id,
      started: Math.round(this.#started),
      client: this.#client,
      received: escape(this.#head) + escape(body),
      spans,
      steps: this.steps,
      timings: this.timings,
      masked: this.#mask.masked,
    }
    if (this.#route !== undefined) r.route = this.#route
    if (this.#peer !== undefined) r.peer = this.#peer
    if (this.#upstream !== undefined) r.upstreamHead = this.#upstream
    if (this.#response !== undefined) r.responseHead = this.#response
    if (this.#framing !== undefined) r.framing = this.#framing
    if (this.#status !== 0) r.status = this.#status
    return r
  }

  /**
   * The head sent upstream, line by line: the received fields kept or removed (in their order), then
   * the lines we added; the request line kept or changed.
   */
  #diff(h: Head, sent: Buffer): TraceHeadLine[] {
    const out = sent.toString('latin1').split('\r\n').filter((l) => l !== '')
    const s = h.spans
    const b = h.buf
    const m = this.#mask
    const line0 = `${methodName(h.method)} ${h.line()} HTTP/${h.major}.${h.minor}`
    const lines: TraceHeadLine[] = []
    if (out[0] === line0) lines.push({ text: m.text(out[0]), change: 'kept' })
    else lines.push({ text: m.text(line0), change: 'removed' }, { text: m.text(out[0]), change: 'changed' })
    const rest = out.slice(1)
    const used = new Array<boolean>(rest.length).fill(false)
    for (let i = 0; i < h.count; i++) {
      let ve = s[5 + 4 * i]
      while (ve > s[4 + 4 * i] && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--
      const text = b.toString('latin1', s[2 + 4 * i], ve)
      const j = rest.findIndex((l, k) => !used[k] && l === text)
      if (j >= 0) used[j] = true
      lines.push({ text: m.line(text), change: j >= 0 ? 'kept' : 'removed' })
    }
    rest.forEach((l, k) => { if (!used[k]) lines.push({ text: m.line(l), change: 'added' }) })
    return lines
  }
}

/** The framing of a response as words (record.ts `framing`). */
function framingText(x: Exchange, h: Head, f: Framing, close: boolean): string {
  switch (f) {
    case Framing.NONE: return x.method === HEAD ? 'none (HEAD)' : `none (${h.status})`
    case Framing.DECHUNK: return 'chunked from the peer, decoded for HTTP/1.0, close-delimited'
    case Framing.RECHUNK: return 'close-delimited from the peer, re-chunked'
    case Framing.TRANSFORM: return 'chunked (content transformed by a filter)'
    case Framing.TRANSFORM_CLOSE: return 'close-delimited (content transformed by a filter, HTTP/1.0)'
    default:
      if (h.transferEncoding >= 0) return 'chunked'
      if (h.contentLength >= 0) return `content-length ${h.value(h.contentLength)}`
      return close ? 'close-delimited' : 'none'
  }
}
