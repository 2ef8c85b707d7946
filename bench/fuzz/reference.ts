/**
 * The second, independent parser: Node's own HTTP parser (`HTTPParser` of node:http, the native
 * llhttp build with Node's strict settings), never rawproxy's WASM binding or its checks. It reads a
 * whole byte stream (what a client sent on one connection, what the proxy sent back, what a peer
 * wrote) into messages, and says where and why it stopped.
 */
import { createRequire } from 'node:module'

interface NodeParser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void
  execute(b: Buffer): number | Error
  finish(): Error | undefined
  close(): void
  [k: number]: unknown
}
interface ParserClass {
  new(): NodeParser
  REQUEST: number
  RESPONSE: number
  kOnHeaders: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
}
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass; methods: string[] }
const { HTTPParser, methods } = common

/** One message as the independent parser read it. */
export interface Msg {
  method: string
  url: string
  status: number
  minor: number
  /** Raw name/value pairs, in order (values as Node reads them: surrounding whitespace cut). */
  headers: string[]
  body: Buffer
  trailers: string[]
  upgrade: boolean
  keepAlive: boolean
}

export interface Parsed {
  msgs: Msg[]
  /** The method of every head read whole, the last one's too when its body was not (requests). */
  heads: string[]
  /** The parser's error code where it refused the stream, or null. */
  error: string | null
  /** The stream ended inside a message (a head or a body not whole). */
  incomplete: boolean
  /** It stopped at an upgrade (or CONNECT): what follows is another protocol. */
  upgraded: boolean
}

/**
 * Parses `buf` as a stream of requests or responses. `eof`: the stream was closed after `buf`
 * (a response without a length ends there). `noBody(n)`: the final (non-1xx) response n answers a HEAD.
 */
export function parse(kind: 'request' | 'response', buf: Buffer, eof: boolean, noBody: (final: number) => boolean = () => false): Parsed {
  const p = new HTTPParser()
  p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, 64 * 1024)
  const out: Parsed = { msgs: [], heads: [], error: null, incomplete: false, upgraded: false }
  let cur: Msg | null = null
  let parts: Buffer[] = []
  let pendingHeaders: string[] = []
  let pendingUrl = ''
  let finals = 0
  p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    // Node flushes every 32 fields (and at a trailer section): headers until the head is complete.
    if (cur === null) { pendingHeaders.push(...headers); pendingUrl += url ?? '' } else cur.trailers.push(...headers)
  }
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, minor: number, headers: string[] | null, method: number, url: string | null, status: number, _reason: string, upgrade: boolean, keepAlive: boolean) => {
    cur = {
      method: kind === 'request' ? methodName(method) : '', url: url ?? pendingUrl, status, minor,
      headers: [...pendingHeaders, ...(headers ?? [])], body: Buffer.alloc(0), trailers: [], upgrade, keepAlive,
    }
    pendingHeaders = []
    pendingUrl = ''
    parts = []
    out.heads.push(cur.method)
    // 1 tells llhttp there is no body (a response to HEAD); 1xx, 204 and 304 it knows itself.
    if (kind === 'request' || status < 200) return 0
    return noBody(finals++) ? 1 : 0
  }
  p[HTTPParser.kOnBody] = (b: Buffer) => { parts.push(Buffer.from(b)) }
  p[HTTPParser.kOnMessageComplete] = () => {
    if (cur === null) return
    cur.body = Buffer.concat(parts)
    out.msgs.push(cur)
    cur = null
  }
  const r = p.execute(buf)
  if (r instanceof Error) {
    const code = (r as Error & { code?: string }).code ?? 'error'
    if (code === 'HPE_PAUSED_UPGRADE') out.upgraded = true
    else out.error = code
  } else if (r < buf.length || out.msgs.some((m) => m.upgrade)) {
    out.upgraded = true // llhttp stops at an upgrade (CONNECT or Upgrade): the rest is not HTTP
  }
  if (out.error === null && !out.upgraded && eof) {
    const f = p.finish()
    if (f instanceof Error) out.error = (f as Error & { code?: string }).code ?? 'error'
  }
  if (out.error === null && !out.upgraded) out.incomplete = cur !== null || pendingHeaders.length > 0
  p.close()
  return out
}

/** The value of header `name` (case-insensitive) in raw pairs, all of them. */
export function values(headers: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === name) out.push(headers[i + 1])
  return out
}

/**
 * `methods` is indexed by llhttp's method numbers up to SOURCE (33); past it Node's list skips the
 * RTSP methods, so a later number (QUERY, 46) has no name here: "method:N".
 */
function methodName(n: number): string {
  return n < methods.length - 1 ? methods[n] : `method:${n}`
}

/** Node's parser read a method this harness cannot name (see methodName). */
export function unnamed(method: string): boolean {
  return method.startsWith('method:')
}
