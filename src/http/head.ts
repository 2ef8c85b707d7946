/**
 * A message head as spans over the received bytes (DESIGN principle 1). The parser fills it; nothing
 * is decoded until somebody asks. `buf` is the socket chunk itself when the whole head arrived in one
 * read, or the parser's join buffer when it was split across reads.
 *
 * Layout of `spans`: [lineStart, lineEnd, name0Start, name0End, value0Start, value0End, ...]. The
 * "line" span is the request target for a request and the reason phrase for a response.
 */
export class Head {
  buf: Buffer = EMPTY
  readonly spans: number[] = [0, 0]
  /** Used length of `spans`: the array only grows, and is overwritten in place for the next head
   * (setting `spans.length` on every reset cost 1.3% of the proxy's CPU under load). */
  len = 2
  /** Number of header fields. */
  count = 0
  /** llhttp method number (requests), see METHODS in http/methods.ts. */
  method = 0
  /** Status code (responses). */
  status = 0
  major = 1
  minor = 1
  /** llhttp's verdict: the message asks for a protocol switch (Upgrade, or CONNECT). */
  upgrade = false
  /** llhttp's verdict: keep-alive per version and Connection (RFC 9112 §9.3). */
  keepAlive = true
  /** Size of the head in bytes, for the limits and the access log. */
  size = 0
  // The fields the proxy acts on, found by `scan` in one pass once the head is complete (index of the
  // last such field, or -1). Before, the parser, the request checks, the Connection handling and the
  // response framing each searched the fields again: four passes per request and two per response
  // (with the Host lines copied as bytes, −0.17 µs per request, micro A/B).
  host = -1
  /** Number of Host fields (RFC 9112 §3.2: exactly one). */
  hosts = 0
  transferEncoding = -1
  contentLength = -1
  expect = -1
  connection = -1
  /** The request asks to be traced (`rawproxy-trace`, src/trace/tracer.ts): index of the field, or -1. */
  traceField = -1
  /** How many fields are hop-by-hop (a response whose one such field is `Connection: keep-alive` passes as received, less that line). */
  hops = 0

  /** Some field is hop-by-hop (RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-Connection, TE, Upgrade). */
  get hop(): boolean { return this.hops > 0 }

  reset(): void {
    this.buf = EMPTY
    this.len = 2
    this.spans[0] = this.spans[1] = 0
    this.count = 0
    this.upgrade = false
    this.keepAlive = true
    this.size = 0
  }

  /**
   * Finds the fields above, told apart by length first, so most fields cost one comparison. Called by
   * the parser when the head's bytes are final (`buf` and `spans` agree).
   */
  scan(): void {
    const s = this.spans
    this.host = this.transferEncoding = this.contentLength = this.expect = this.connection = this.traceField = -1
    this.hosts = 0
    this.hops = 0
    for (let i = 0; i < this.count; i++) {
      switch (s[3 + 4 * i] - s[2 + 4 * i]) {
        case 2: if (this.is(i, TE)) this.hops++; break
        case 4: if (this.is(i, HOST)) { this.hosts++; this.host = i } break
        case 6: if (this.is(i, EXPECT)) this.expect = i; break
        case 7: if (this.is(i, UPGRADE)) this.hops++; break
        case 10:
          if (this.is(i, CONNECTION)) { this.connection = i; this.hops++ }
          else if (this.is(i, KEEP_ALIVE)) this.hops++
          break
        case 14:
          if (this.is(i, CONTENT_LENGTH)) this.contentLength = i
          else if (this.is(i, RAWPROXY_TRACE)) this.traceField = i
          break
        case 16: if (this.is(i, PROXY_CONNECTION)) this.hops++; break
        case 17: if (this.is(i, TRANSFER_ENCODING)) this.transferEncoding = i; break
      }
    }
  }

  /** The request target, or the reason phrase, as a latin1 string. */
  line(): string {
    return this.buf.toString('latin1', this.spans[0], this.spans[1])
  }

  name(i: number): string {
    return this.buf.toString('latin1', this.spans[2 + 4 * i], this.spans[3 + 4 * i])
  }

  /** Field value i, without the trailing whitespace llhttp leaves in the span (RFC 9110 §5.5). */
  value(i: number): string {
    let end = this.spans[5 + 4 * i]
    const start = this.spans[4 + 4 * i]
    while (end > start && (this.buf[end - 1] === 0x20 || this.buf[end - 1] === 0x09)) end--
    return this.buf.toString('latin1', start, end)
  }

  /** True when field i is named `lower` (ASCII case-insensitive, compared on bytes). */
  is(i: number, lower: Buffer): boolean {
    const s = this.spans[2 + 4 * i]
    const n = this.spans[3 + 4 * i] - s
    if (n !== lower.length) return false
    const b = this.buf
    for (let k = 0; k < n; k++) if ((b[s + k] | 0x20) !== lower[k]) return false
    return true
  }

  /** Index of the first field named `lower`, starting at `from`, or -1. */
  find(lower: Buffer, from = 0): number {
    for (let i = from; i < this.count; i++) if (this.is(i, lower)) return i
    return -1
  }

  /** The value of the first field named `lower`, or undefined. */
  get(lower: Buffer): string | undefined {
    const i = this.find(lower)
    return i < 0 ? undefined : this.value(i)
  }


  /** The comma-separated tokens of every field named `lower`, lower-cased (RFC 9110 §5.6.1). */
  tokens(lower: Buffer): string[] {
    const out: string[] = []
    for (let i = this.find(lower); i >= 0; i = this.find(lower, i + 1)) {
      for (const t of this.value(i).split(',')) {
        const v = t.trim().toLowerCase()
        if (v !== '') out.push(v)
      }
    }
    return out
  }
}

const EMPTY = Buffer.alloc(0)

/** A lower-case header name as bytes, for `Head.is` and friends. */
export function name(lower: string): Buffer {
  return Buffer.from(lower, 'latin1')
}

const TE = name('te')
const HOST = name('host')
const EXPECT = name('expect')
const UPGRADE = name('upgrade')
const CONNECTION = name('connection')
const KEEP_ALIVE = name('keep-alive')
const CONTENT_LENGTH = name('content-length')
const PROXY_CONNECTION = name('proxy-connection')
const TRANSFER_ENCODING = name('transfer-encoding')
const RAWPROXY_TRACE = name('rawproxy-trace')

/**
 * A set of lower-case header names, tested on the bytes of a span without decoding it. Names are
 * bucketed by length, so most fields are rejected by one array lookup.
 */
export class NameSet {
  readonly #byLength: (Buffer[] | undefined)[] = []
  readonly #names: ReadonlySet<string>

  constructor(names: readonly string[]) {
    for (const n of names) (this.#byLength[n.length] ??= []).push(name(n))
    this.#names = new Set(names)
  }

  /** True when `lower` (a lower-case name of a field we write ourselves) is in the set. */
  hasName(lower: string): boolean {
    return this.#names.has(lower)
  }

  /** True when field i of `head` is in the set. */
  has(head: Head, i: number): boolean {
    const bucket = this.#byLength[head.spans[3 + 4 * i] - head.spans[2 + 4 * i]]
    if (bucket === undefined) return false
    for (let k = 0; k < bucket.length; k++) if (head.is(i, bucket[k])) return true
    return false
  }
}
