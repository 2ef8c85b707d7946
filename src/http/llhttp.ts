/**
 * The llhttp binding: the only file that touches the WebAssembly module (STYLE habit 3).
 *
 * llhttp is the parser inside Node.js; undici ships it compiled to WASM, with and without SIMD. We load
 * one instance and drive it the way undici does: the chunk is copied into WASM memory, `llhttp_execute`
 * runs, and each `wasm_on_*` import maps the pointer it gets back to an offset in the chunk
 * (`at - inputPtr`). Callbacks never throw and never act: they record spans into a Head and return 0,
 * or PAUSED (21) at the two points where the driver must act, the end of the head and the end of the
 * message. The driver (server/connection.ts, upstream/upstream-conn.ts) then acts on what was recorded,
 * after llhttp has validated every byte it is about to forward (DESIGN principle 3).
 */
import { createRequire } from 'node:module'
import { Head } from './head.js'
import { headFault } from './head-checks.js'
import { Code, ProxyError } from '../errors.js'

const require = createRequire(import.meta.url)

/** llhttp's error numbers that matter to the driver (llhttp/constants ERROR). */
const OK = 0
const PAUSED = 21
const PAUSED_UPGRADE = 22

/** What `execute` stopped on. Positions are in `parser.pos`. */
export const enum Step {
  /** All bytes consumed; the message goes on in the next chunk. */
  MORE = 0,
  /** The head is complete; `pos` is the first body byte. */
  HEAD = 1,
  /** The message is complete; `pos` is the first byte after it (a pipelined message, or nothing). */
  END = 2,
  /** The message is complete and asks for a protocol switch; `pos` is the first tunnelled byte. */
  UPGRADE = 3,
  /** The bytes are invalid; `parser.error` says why. Nothing from this chunk may be forwarded. */
  ERROR = 4,
}

export const enum Kind { REQUEST = 1, RESPONSE = 2 }

/** Receives body spans when `Parser.bodySpans` is on (for de-chunking or re-chunking). */
export type BodySink = (chunk: Buffer, start: number, end: number) => void

export interface Limits {
  /** Cap on the head in bytes (431 for requests). */
  maxHead: number
  /** Cap on the request target in bytes (414). */
  maxTarget: number
}

interface Exports {
  memory: WebAssembly.Memory
  malloc(n: number): number
  free(p: number): void
  llhttp_alloc(type: number): number
  llhttp_free(p: number): void
  llhttp_execute(p: number, data: number, len: number): number
  llhttp_finish(p: number): number
  llhttp_resume(p: number): void
  llhttp_resume_after_upgrade(p: number): void
  llhttp_get_error_pos(p: number): number
  llhttp_get_error_reason(p: number): number
  llhttp_get_errno(p: number): number
  llhttp_errno_name(n: number): number
  llhttp_get_method(p: number): number
  llhttp_get_http_major(p: number): number
  llhttp_get_http_minor(p: number): number
  llhttp_get_status_code(p: number): number
  llhttp_message_needs_eof(p: number): number
  llhttp_method_name(m: number): number
}

// Span kinds, to join a span that a chunk boundary cut in two.
const SPAN_NONE = 0
const SPAN_LINE = 1
const SPAN_NAME = 2
const SPAN_VALUE = 3


/** The parser llhttp is running right now (execute is synchronous and never re-entered). */
let current: Parser | null = null
/** Where the input chunk sits in WASM memory, and which chunk is there now. */
let inputPtr = 0
let inputSize = 0
let loaded: Buffer | null = null
let memory = new Uint8Array(0)

/** Which build is running, for the start-up log line: "wasm-simd", or "wasm" (RAWPROXY_NO_SIMD=1, or no SIMD). */
export let build = 'wasm'

function load(): WebAssembly.Instance {
  let mod: WebAssembly.Module | undefined
  if (process.env.RAWPROXY_NO_SIMD !== '1') {
    // The SIMD build is faster; WebAssembly SIMD is missing on a few old CPUs and runtimes.
    try { mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js')); build = 'wasm-simd' } catch { mod = undefined }
  }
  mod ??= new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js'))
  return new WebAssembly.Instance(mod, {
    env: {
      wasm_on_message_begin: () => current!.onMessageBegin(),
      wasm_on_url: (_p: number, at: number, len: number) => current!.onSpan(SPAN_LINE, at - inputPtr, len),
      wasm_on_status: (_p: number, at: number, len: number) => current!.onSpan(SPAN_LINE, at - inputPtr, len),
      wasm_on_header_field: (_p: number, at: number, len: number) => current!.onSpan(SPAN_NAME, at - inputPtr, len),
      wasm_on_header_value: (_p: number, at: number, len: number) => current!.onSpan(SPAN_VALUE, at - inputPtr, len),
      wasm_on_headers_complete: (_p: number, status: number, upgrade: number, keepAlive: number) =>
        current!.onHeadersComplete(status, upgrade, keepAlive),
      wasm_on_body: (_p: number, at: number, len: number) => current!.onBody(at - inputPtr, len),
      wasm_on_message_complete: () => current!.onMessageComplete(),
    },
  })
}

const wasm = load().exports as unknown as Exports

const methodNames: string[] = []

/** The name of an llhttp method number, as the client sent it (methods are case-sensitive). */
export function methodName(method: number): string {
  return (methodNames[method] ??= cString(wasm.llhttp_method_name(method)))
}

function cString(ptr: number): string {
  if (ptr === 0) return ''
  const mem = new Uint8Array(wasm.memory.buffer)
  let end = ptr
  while (mem[end] !== 0) end++
  return Buffer.from(mem.buffer, ptr, end - ptr).toString('latin1')
}

/**
 * One llhttp parser: a client connection owns a request parser, an upstream connection a response
 * parser. Every field is set here, so V8 keeps one shape.
 */
export class Parser {
  readonly head = new Head()
  /** Where the last `execute` stopped (see Step). */
  pos = 0
  /** Set when `execute` returned Step.ERROR. */
  error: ProxyError | null = null
  /** Responses: the request was HEAD, so no body follows whatever the headers say (RFC 9110 §9.3.2). */
  skipBody = false
  /** Deliver decoded body spans to `sink` (chunked framing removed). Off: the driver slices raw bytes. */
  bodySpans = false
  sink: BodySink | null = null
  /** Between message begin and headers complete. */
  inHead = false
  /** A message has begun and not yet completed. */
  inMessage = false
  /** The head completed during the last `execute` (for bodiless messages HEAD and END come together). */
  headDone = false
  /** Responses: the body runs until the peer closes (RFC 9112 §6.3 rule 8). */
  untilClose = false
  /**
   * Responses: the driver forwards any body as raw bytes (it asked for no body spans), so the parser
   * need not stop at the end of the head: head, body and end come in one `execute` (one WASM round
   * trip, an error-position read and a resume less: −30 ns per response, micro A/B; small, since a
   * WASM call from JS is cheap). `bodyStart` then says where the body
   * began. Only for a head in one chunk, not delimited by close (that body may be re-chunked).
   */
  onePass = false
  /** Where the body began in the chunk, when head and body came in one step; else -1. */
  bodyStart = -1
  /** Content bytes of the current message's body so far, chunked framing excluded (for max_body). */
  bodyBytes = 0
  #ptr: number
  readonly #kind: Kind
  /** Head and target caps; a connection points it at the current config's limits. */
  limits: Limits
  #chunk: Buffer | null = null
  #stop = Step.MORE
  // A head split across reads is joined in #join. Spans recorded during one execute are offsets into
  // that chunk; when the head goes on past the chunk, the chunk's head bytes from #headFrom are copied
  // to #join and the spans from index #mark on are shifted to match.
  #join: Buffer | null = null
  #joinLen = 0
  #mark = 0
  #headFrom = -1
  #last = SPAN_NONE
  /** Bytes of the trailer section so far (RFC 9112 §7.1.2), held to the head cap. */
  #trailer = 0

  constructor(kind: Kind, limits: Limits) {
    this.#kind = kind
    this.limits = limits
    this.#ptr = wasm.llhttp_alloc(kind)
  }

  /**
   * Parses `chunk` from `from`. Returns at the end of the head (Step.HEAD), at the end of the message
   * (Step.END or Step.UPGRADE), on an error, or when the chunk is used up (Step.MORE).
   */
  execute(chunk: Buffer, from: number): Step {
    const len = chunk.length - from
    if (len < 0) return Step.MORE
    if (loaded !== chunk) {
      if (chunk.length > inputSize) {
        if (inputPtr !== 0) wasm.free(inputPtr)
        inputSize = Math.ceil(chunk.length / 65536) * 65536
        inputPtr = wasm.malloc(inputSize)
      }
      // Copied once per chunk: resuming after a pause in the same chunk skips the copy. The view over
      // WASM memory is made again only when memory grew (growth detaches the old one).
      if (memory.byteLength === 0) memory = new Uint8Array(wasm.memory.buffer)
      memory.set(chunk, inputPtr)
      loaded = chunk
    }
    this.#chunk = chunk
    this.#stop = Step.MORE
    this.headDone = false
    this.#mark = this.head.len
    this.#headFrom = this.inHead && this.#joinLen > 0 ? from : -1
    current = this
    let ret: number
    try {
      ret = wasm.llhttp_execute(this.#ptr, inputPtr + from, len)
    } finally {
      current = null
    }
    if (ret !== OK && ret !== PAUSED && ret !== PAUSED_UPGRADE) return this.#fail(ret)
    if (this.error !== null) return Step.ERROR
    const end = ret === OK ? chunk.length : wasm.llhttp_get_error_pos(this.#ptr) - inputPtr
    this.pos = end
    if ((this.inHead && this.#headFrom >= 0) || (this.headDone && this.#joinLen > 0)) {
      // The head goes on in the next chunk, or began in an earlier one: join it.
      this.#keep(chunk, this.#headFrom, end)
    } else if (this.headDone) {
      this.head.buf = chunk
      this.head.size = (this.bodyStart >= 0 ? this.bodyStart : end) - this.#headFrom
    }
    if (this.head.size > this.limits.maxHead || this.#joinLen > this.limits.maxHead) return this.#tooLarge('head')
    if (this.headDone && this.#joinLen > 0) this.head.scan()
    if (this.headDone && !this.#checkHead()) return Step.ERROR
    if (ret === PAUSED_UPGRADE) return Step.UPGRADE
    return this.#stop
  }

  /** The peer or client closed: completes a body read until close, or reports a truncated message. */
  finish(): Step {
    if (!this.inMessage) return Step.MORE
    this.#chunk = null
    current = this
    let ret: number
    try { ret = wasm.llhttp_finish(this.#ptr) } finally { current = null }
    if ((ret === OK || ret === PAUSED) && !this.inMessage) return Step.END
    return this.#fail(ret === OK || ret === PAUSED ? 14 /* INVALID_EOF_STATE */ : ret)
  }

  /** The chunk of the last `execute` (for the trace of a refused request), or null. */
  get chunk(): Buffer | null { return this.#chunk }

  /** Continue after Step.HEAD or Step.END. */
  resume(): void { wasm.llhttp_resume(this.#ptr) }

  /**
   * Between messages: lets go of the last chunk (the head's spans point into it), so that an idle
   * keep-alive connection holds no received bytes (bench/run.sh idle).
   */
  release(): void {
    this.#chunk = null
    this.head.reset()
  }

  /** Frees the llhttp state; the connection is closing or has become a tunnel. */
  destroy(): void {
    if (this.#ptr !== 0) wasm.llhttp_free(this.#ptr)
    this.#ptr = 0
    this.#chunk = null
    this.#join = null
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    const n = end - start
    const shift = this.#joinLen - start
    if (this.#join === null || this.#join.length < this.#joinLen + n) {
      const next = Buffer.allocUnsafe(Math.max(1024, (this.#joinLen + n) * 2))
      if (this.#join !== null) this.#join.copy(next, 0, 0, this.#joinLen)
      this.#join = next
    }
    chunk.copy(this.#join, this.#joinLen, start, end)
    this.#joinLen += n
    const s = this.head.spans
    for (let i = this.#mark; i < this.head.len; i++) s[i] += shift
    this.head.buf = this.#join
    this.head.size = this.#joinLen
  }

  #fail(ret: number): Step {
    this.#reject(cString(wasm.llhttp_errno_name(ret)), cString(wasm.llhttp_get_error_reason(this.#ptr)))
    return Step.ERROR
  }

  /** Records a parse error; `code` is llhttp's name for the condition, also for the checks below. */
  #reject(code: string, reason: string): false {
    this.error = new ProxyError(this.#kind === Kind.REQUEST ? Code.PARSE : Code.UPSTREAM_PARSE, `${code}: ${reason}`)
    return false
  }

  /**
   * The method of the request being read, once its request line's method is known (its target has
   * begun), else -1: a refusal before the head is whole still owes a HEAD no content (RFC 9110 §9.3.2).
   */
  requestMethod(): number {
    if (this.headDone) return this.head.method
    return this.inHead && this.head.spans[1] > 0 ? wasm.llhttp_get_method(this.#ptr) : -1
  }

  #tooLarge(what: string): Step {
    const code = this.#kind === Kind.REQUEST ? Code.HEAD_TOO_LARGE : Code.UPSTREAM_PARSE
    this.error = new ProxyError(code, `${what} larger than ${this.limits.maxHead} bytes`)
    return Step.ERROR
  }

  /** The checks of head-checks.ts, on the complete head: a failure is a parse error. */
  #checkHead(): boolean {
    const fault = headFault(this.head, this.#kind === Kind.REQUEST)
    return fault === null || this.#reject(fault[0], fault[1])
  }

  // ---- wasm_on_* callbacks: record, never throw, never act ----

  onMessageBegin(): number {
    this.head.reset()
    this.inHead = true
    this.inMessage = true
    this.#joinLen = 0
    this.#mark = 2
    this.#headFrom = -1
    this.#last = SPAN_NONE
    this.untilClose = false
    this.bodyStart = -1
    this.bodyBytes = 0
    this.#trailer = 0
    return 0
  }

  onSpan(kind: number, at: number, len: number): number {
    // Trailer fields are not head fields: they pass through with the body, only counted, so a trailer
    // section without end can neither grow `spans` nor go past the head cap.
    if (!this.inHead) return this.#onTrailer(len)
    const s = this.head.spans
    if (this.#headFrom < 0) {
      // First span of this head: the head's bytes that matter start here.
      this.#headFrom = at
      this.#mark = kind === SPAN_LINE ? 0 : this.head.len
    }
    if (kind === this.#last) {
      // The same span again: a chunk boundary cut it, and llhttp reports each piece (it reports a value
      // for every name, even an empty one, so two names in a row are one name cut in two). Pieces from
      // an earlier chunk are already shifted into #join, where this piece will land right after them.
      const i = kind === SPAN_LINE ? 1 : this.head.len - 1
      s[i] = i < this.#mark ? at + len + this.#joinLen - this.#headFrom : at + len
    } else if (kind === SPAN_LINE) {
      s[0] = at
      s[1] = at + len
    } else {
      // llhttp reports an empty (or all-whitespace) value where the next line starts. Point it at the
      // CR of its own line instead (strict mode: lines end in CRLF), or a copy of the fields that ends
      // with this one would take its line end along and end the head early (http/serialize.ts).
      if (kind === SPAN_VALUE && len === 0) at -= 2
      const h = this.head
      s[h.len++] = at
      s[h.len++] = at + len
      if (kind === SPAN_VALUE) this.head.count++
    }
    this.#last = kind
    if (kind === SPAN_LINE && this.#kind === Kind.REQUEST) return this.#checkTarget(s, at + len)
    return 0
  }

  /** The request target's span is done (or cut by the chunk's end); `next` is the byte after it. */
  #checkTarget(s: number[], next: number): number {
    if (s[1] - s[0] > this.limits.maxTarget) {
      // RFC 9112 §3: a target longer than we accept gets 414.
      this.error = new ProxyError(Code.TARGET_TOO_LONG, `request target longer than ${this.limits.maxTarget} bytes`)
      return PAUSED
    }
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version. A line ended right after
    // the target is HTTP/0.9 (Appendix C.1: not ours to serve); llhttp would wait for a header
    // section that 0.9 never sends, holding the connection to the header timeout. The target's end
    // in a later chunk comes as an empty span at its start, so a cut at any byte is seen here too.
    const b = this.#chunk![next]
    if (b === 13 || b === 10) {
      this.error = new ProxyError(Code.PARSE, 'HPE_INVALID_VERSION: request line without HTTP version (HTTP/0.9)')
      return PAUSED
    }
    return 0
  }

  onHeadersComplete(status: number, upgrade: number, keepAlive: number): number {
    const h = this.head
    const p = this.#ptr
    h.method = wasm.llhttp_get_method(p)
    h.status = status
    h.major = wasm.llhttp_get_http_major(p)
    h.minor = wasm.llhttp_get_http_minor(p)
    h.upgrade = upgrade === 1
    h.keepAlive = keepAlive === 1
    this.inHead = false
    this.headDone = true
    this.#last = SPAN_NONE
    // A head in one chunk is final now; a joined one once execute has joined it.
    if (this.#joinLen === 0) { h.buf = this.#chunk!; h.scan() }
    if (this.#kind === Kind.RESPONSE) {
      // RFC 9110 §9.3.2, §15.2, §15.3.5, §15.4.5: no body after HEAD, 1xx, 204 or 304.
      if (this.skipBody && status >= 200) return 1
      // RFC 9110 §15.2: a 1xx ends with its head, whatever framing fields it carries.
      if (status < 200 && status !== 101) return 1
      this.untilClose = wasm.llhttp_message_needs_eof(p) === 1
      if (upgrade === 1 || status === 101 || status === 204 || status === 304) return 0
    } else if (upgrade === 0 && this.#joinLen === 0 && h.transferEncoding < 0 && h.contentLength < 0) {
      // RFC 9112 §6.3 rule 7: no Content-Length or Transfer-Encoding, no body. The message ends with
      // its head: head and end come in one step (an execute round trip less per GET). Only for a head
      // in one chunk, whose spans are all offsets into it.
      return 0
    }
    if (this.onePass && upgrade === 0 && status !== 101 && !this.untilClose && this.#joinLen === 0 &&
        this.#kind === Kind.RESPONSE && this.#findBodyStart()) return 0
    // A request stops here even when it asks for an upgrade: a body may come first (RFC 9110 §7.8),
    // and the driver must have the head before any body byte.
    this.#stop = Step.HEAD
    return PAUSED
  }

  /**
   * Sets `bodyStart` to where the head ends in the chunk: after the last field's line and the empty
   * line (strict llhttp: every line ends in CRLF; an empty value's span sits on its own CR, see
   * onSpan). False, to pause as usual, when the bytes there are not CRLF CRLF (no field to go by).
   */
  #findBodyStart(): boolean {
    const h = this.head
    if (h.count === 0) return false
    const end = h.spans[h.len - 1] + 4
    const b = h.buf
    if (b[end - 4] !== 13 || b[end - 3] !== 10 || b[end - 2] !== 13 || b[end - 1] !== 10) return false
    this.bodyStart = end
    return true
  }

  #onTrailer(len: number): number {
    this.#trailer += len + 2
    if (this.#trailer <= this.limits.maxHead) return 0
    this.#tooLarge('trailer section')
    return PAUSED
  }

  onBody(at: number, len: number): number {
    this.bodyBytes += len
    if (this.bodySpans) this.sink!(this.#chunk!, at, at + len)
    return 0
  }

  onMessageComplete(): number {
    this.inMessage = false
    if (this.head.upgrade) return 0
    this.#stop = Step.END
    return PAUSED
  }
}
