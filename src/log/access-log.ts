/**
 * One line per exchange, as JSON or as readable text. Fields: time, client, method, target, status,
 * bytes in and out, total ms, peer, peer ms and the termination cause (`--` ok, `UC` client aborted,
 * `UF` upstream connect failed, `US` upstream TLS handshake failed, `UR` upstream reset, `UT` upstream timeout, `UP` upstream sent an
 * invalid response, `PE` parse error, `CT` client timeout, `NP` no peer, `SD` cut at the end of a shutdown's grace
 * period, `IE` internal; and for a filter's local answer `PR` refused, `PA` authentication, `LR` a rule's answer,
 * `PL` a rate limit), and when they have a value: `filter` (the one that answered), `user` (basic auth),
 * `request_id`, `limit` (rate limits that refused, or in a dry run would have), `delay_ms`, and
 * `client_cert`, the verified client certificate's subject, on a TLS listener with mTLS. `client` is
 * the real client address (proxy/client-ip.ts).
 */
import { LogTarget } from '../config/schema.js'
import { Sink } from './sink.js'

export interface AccessRecord {
  readonly start: number
  readonly client: string
  readonly method: string
  readonly target: string
  readonly status: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly ms: number
  readonly peer: string
  readonly peerMs: number
  readonly cause: string
  /** The subject of the client's verified TLS certificate (mTLS); logged only when there is one. */
  readonly clientCert?: string
  /** The user basic auth let in; logged only when there is one. */
  readonly user?: string
  /** The request ID (headers.request_id); logged only when there is one. */
  readonly requestId?: string
  /** The filter whose local answer ended the exchange (access, auth, rules, limits...); logged only then. */
  readonly filter?: string
  /** The rate limits that refused the request, or would have ("name(dry)" for a dry run); logged only then. */
  readonly limit?: string
  /** ms a `delay` rate limit held the request; logged only when it did. */
  readonly delayMs?: number
}

export class AccessLog {
  readonly #sink: Sink | null
  readonly #json: boolean
  readonly #clock = new IsoClock()
  // The client, method, peer and cause of a line are most often those of the line before.
  readonly #client = new Quoted()
  readonly #method = new Quoted()
  readonly #peer = new Quoted()
  readonly #cause = new Quoted()

  constructor(target: LogTarget) {
    this.#sink = target.path === 'off' ? null : new Sink(target.path)
    this.#json = target.format === 'json'
  }

  get enabled(): boolean { return this.#sink !== null }
  /** Closed, its last write landed (or off). */
  get closed(): boolean { return this.#sink === null || this.#sink.closed }

  write(r: AccessRecord): void {
    if (this.#sink === null) return
    const time = this.#clock.iso(r.start)
    if (!this.#json) {
      this.#sink.line(`${time} ${r.client} "${r.method} ${r.target}" ${r.status} ${r.bytesIn} ${r.bytesOut} ${round(r.ms)}ms ${r.peer || '-'} ${round(r.peerMs)}ms ${r.cause}` +
        (r.filter ? ` filter=${r.filter}` : '') + (r.user ? ` user=${JSON.stringify(r.user)}` : '') + (r.requestId ? ` id=${r.requestId}` : '') +
        (r.clientCert ? ` cert=${JSON.stringify(r.clientCert)}` : '') + (r.limit ? ` limit=${r.limit}` : '') + (r.delayMs ? ` delay=${round(r.delayMs)}ms` : ''))
      return
    }
    // What JSON.stringify of the same object gives, in the same order, at a sixth of its cost
    // (issue 15: measured 1.5 µs against 0.26 µs per line); fields that are usually empty are left
    // out of the line rather than written as "".
    wide = false
    this.#sink.line(`{"time":"${time}","client":${this.#client.of(r.client)},"method":${this.#method.of(r.method)},"target":${str(r.target)},"status":${r.status},` +
      `"bytes_in":${r.bytesIn},"bytes_out":${r.bytesOut},"ms":${round(r.ms)},"peer":${this.#peer.of(r.peer)},"peer_ms":${round(r.peerMs)},"cause":${this.#cause.of(r.cause)}` +
      (r.filter ? `,"filter":${str(r.filter)}` : '') + (r.user ? `,"user":${str(r.user)}` : '') + (r.requestId ? `,"request_id":${str(r.requestId)}` : '') +
      (r.clientCert ? `,"client_cert":${str(r.clientCert)}` : '') + (r.limit ? `,"limit":${str(r.limit)}` : '') + (r.delayMs ? `,"delay_ms":${round(r.delayMs)}` : '') + '}', !wide)
  }

  flushSync(): void { this.#sink?.flushSync() }
  /** For a stop: every line so far in the file, in order, waiting up to `ms` for a write in flight (sink.ts). */
  drain(ms: number): Promise<void> { return this.#sink?.drain(ms) ?? Promise.resolve() }
  close(): void { this.#sink?.close() }
}

/** Anything but printable ASCII less the quote and the backslash (RFC 8259 §7: what may need an escape, or UTF-8). */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/

/** Set by `str` when the line has a string that is not plain ASCII: then it is written as UTF-8. */
let wide = false

/**
 * A JSON string: quoted as it is when it is plain ASCII (the usual case), else by JSON.stringify.
 * A line of plain ASCII strings goes into the sink's buffer as Latin-1, the same bytes, written from
 * the pieces of the string with no flat copy made first (UTF-8 needs that copy; a line in a micro
 * bench: 1.0-1.2 -> 0.92-0.95 µs).
 */
function str(s: string): string {
  if (!NOT_PLAIN.test(s)) return `"${s}"`
  wide = true
  return JSON.stringify(s)
}

/** `str` of the last string it was given, kept: a string seen again costs one comparison, not a scan. */
class Quoted {
  #s: string | null = null
  #q = ''
  #plain = true

  of(s: string): string {
    if (s !== this.#s) {
      this.#s = s
      this.#plain = !NOT_PLAIN.test(s)
      this.#q = this.#plain ? `"${s}"` : JSON.stringify(s)
    }
    if (!this.#plain) wide = true
    return this.#q
  }
}

/**
 * `new Date(ms).toISOString()` with the part up to the seconds made once per second: the whole of it
 * costs ~1 µs, a line's worth of requests share one second.
 */
export class IsoClock {
  #second = -1
  #prefix = ''

  iso(time: number): string {
    const ms = Math.floor(time)
    const second = Math.floor(ms / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#prefix = new Date(second * 1000).toISOString().slice(0, -4) // "YYYY-MM-DDTHH:MM:SS."
    }
    const m = ms - second * 1000
    return `${this.#prefix}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`
  }
}

/** The digits after the point of n/1000 for n in 0..999, trailing zeros dropped ("" for 0, "05" for 50). */
const THOUSANDTHS = Array.from({ length: 1000 }, (_, n) => n === 0 ? '' : '.' + String(n).padStart(3, '0').replace(/0+$/, ''))

/**
 * Milliseconds ≥ 0 rounded to the microsecond, as `String(Math.round(ms * 1000) / 1000)` writes them,
 * from whole numbers: a double's shortest decimal form costs more than the rest of a line.
 */
function round(ms: number): string {
  const us = Math.round(ms * 1000)
  if (!(us >= 0 && us < 1e15)) return String(us / 1000)
  const whole = Math.floor(us / 1000)
  return `${whole}${THOUSANDTHS[us - whole * 1000]}`
}
