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

  constructor(target: LogTarget) {
    this.#sink = target.path === 'off' ? null : new Sink(target.path)
    this.#json = target.format === 'json'
  }

  get enabled(): boolean { return this.#sink !== null }

  write(r: AccessRecord): void {
    if (this.#sink === null) return
    const time = new Date(r.start).toISOString()
    if (!this.#json) {
      this.#sink.line(`${time} ${r.client} "${r.method} ${r.target}" ${r.status} ${r.bytesIn} ${r.bytesOut} ${round(r.ms)}ms ${r.peer || '-'} ${round(r.peerMs)}ms ${r.cause}` +
        (r.filter ? ` filter=${r.filter}` : '') + (r.user ? ` user=${JSON.stringify(r.user)}` : '') + (r.requestId ? ` id=${r.requestId}` : '') +
        (r.clientCert ? ` cert=${JSON.stringify(r.clientCert)}` : '') + (r.limit ? ` limit=${r.limit}` : '') + (r.delayMs ? ` delay=${round(r.delayMs)}ms` : ''))
      return
    }
    const o: Record<string, unknown> = { time, client: r.client, method: r.method, target: r.target, status: r.status,
      bytes_in: r.bytesIn, bytes_out: r.bytesOut, ms: round(r.ms), peer: r.peer, peer_ms: round(r.peerMs), cause: r.cause }
    // Fields that are usually empty are left out of the line rather than written as "".
    if (r.filter) o.filter = r.filter
    if (r.user) o.user = r.user
    if (r.requestId) o.request_id = r.requestId
    if (r.clientCert) o.client_cert = r.clientCert
    if (r.limit) o.limit = r.limit
    if (r.delayMs) o.delay_ms = round(r.delayMs)
    this.#sink.line(JSON.stringify(o))
  }

  flushSync(): void { this.#sink?.flushSync() }
  close(): void { this.#sink?.close() }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
