/**
 * The request limits of a route: `methods` (others get 405 with Allow, RFC 9110 §15.5.6),
 * `max_headers` (more fields: 431, RFC 6585 §5) and `max_body` (RFC 9110 §15.5.14: 413). A
 * Content-Length over `max_body` is refused before any byte goes upstream; a chunked body is counted
 * as it streams (content bytes, not chunk framing) and cut the moment it grows past the limit: 413 if
 * no response has begun, else the peer's connection is dropped and the client's closed.
 *
 * Order 20: after access (cheap refusals first), before auth (no hash is checked for a request that
 * would be refused anyway).
 */
import type { Features } from '../config/features.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import { Reply } from '../proxy/reply.js'

const TOO_LARGE = new Reply(413, '', null, 'PR')
const TOO_MANY_FIELDS = new Reply(431, '', null, 'PR')

class Limits implements FilterFactory, Filter {
  readonly name = 'limits'
  readonly order = 20
  readonly #methods: ReadonlySet<string> | null
  readonly #notAllowed: Reply | null
  readonly #maxHeaders: number
  readonly #maxBody: number

  constructor(f: Features) {
    this.#methods = f.methods === null ? null : new Set(f.methods)
    this.#notAllowed = f.methods === null ? null : new Reply(405, `Allow: ${f.methods.join(', ')}\r\n`, null, 'PR')
    this.#maxHeaders = f.max_headers ?? Infinity
    this.#maxBody = f.max_body ?? Infinity
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): Reply | undefined {
    if (this.#methods !== null && !this.#methods.has(x.methodText)) return this.#notAllowed!
    if (x.head.count > this.#maxHeaders) return TOO_MANY_FIELDS
    if (this.#maxBody !== Infinity && x.info.hasBody) {
      const cl = x.head.contentLength
      // llhttp checked the digits; a length past 2^53 reads as a larger number, still over the limit.
      if (cl >= 0 && x.head.transferEncoding < 0) return Number(x.head.value(cl)) > this.#maxBody ? TOO_LARGE : undefined
      x.tapRequestBody(this)
      // Body bytes that came with the head were received (and queued) before this hook ran.
      return this.requestBody(x, x.down.bodyReceived)
    }
    return undefined
  }

  requestBody(_x: Exchange, received: number): Reply | undefined {
    return received > this.#maxBody ? TOO_LARGE : undefined
  }
}

export const limits: FilterKind = {
  name: 'limits',
  compile: (f) => f.methods === null && f.max_headers === null && f.max_body === null ? null : new Limits(f),
}
