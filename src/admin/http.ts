/**
 * The admin API's listener: raw TCP and the same llhttp parser as the proxy (http/llhttp.ts), no
 * node:http. One request per connection: the answer says `Connection: close` (the API is called
 * now and then, by curl, Prometheus or an orchestrator: keep-alive would buy nothing and cost a state
 * machine). A malformed request gets 400 (RFC 9112 §2.2), a head not complete in time 408.
 * An event stream (GET /events) keeps its connection until the client leaves.
 */
import { createServer, Server as NetServer, Socket } from 'node:net'
import { Kind, Parser, Step, methodName } from '../http/llhttp.js'
import { name } from '../http/head.js'
import { httpDate, statusText } from '../http/status.js'
import { statusFor } from '../errors.js'

/** The parts of a request the router reads. */
export interface AdminRequest {
  readonly method: string
  /** The path, without the query. */
  readonly path: string
  readonly query: URLSearchParams
  readonly authorization: string | undefined
  readonly origin: string | undefined
  readonly host: string | undefined
  readonly fetchSite: string | undefined
  readonly ifNoneMatch: string | undefined
}

/**
 * A whole answer, or a stream that takes the socket over (server-sent events). `cache` is the
 * Cache-Control value (default no-store: only the dashboard's files may be kept, and revalidated).
 */
export type AdminAnswer =
  | { readonly status: number; readonly type?: string; readonly body: string | Buffer; readonly fields?: string; readonly cache?: string }
  | { readonly stream: (s: Socket) => void }

export type Handler = (r: AdminRequest) => AdminAnswer | Promise<AdminAnswer>

const AUTHORIZATION = name('authorization')
const ORIGIN = name('origin')
const HOST = name('host')
const FETCH_SITE = name('sec-fetch-site')
const IF_NONE_MATCH = name('if-none-match')

/** A request head must be complete within this (slowloris); then 408. */
const HEAD_MS = 10_000
/** Admin requests carry no body of note: more than this is refused (413) and the connection closed. */
const MAX_BODY = 65_536
/** Admin connections open at once (event streams included); more are closed at accept. */
const MAX_CONNECTIONS = 64
const LIMITS = { maxHead: 16_384, maxTarget: 4_096 }

/** The bytes of a whole answer; always `Connection: close`. */
export function answerBytes(status: number, type: string, body: string | Buffer, fields = '', cache = 'no-store'): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  // RFC 9110 §15.4.5: a 304 has no content; its fields are those a 200 would have had, less the framing.
  const content = status === 304 ? '' : `Content-Type: ${type}\r\nContent-Length: ${b.length}\r\n`
  return Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${statusText(status)}\r\nDate: ${httpDate()}\r\n${content}` +
    `Cache-Control: ${cache}\r\nX-Content-Type-Options: nosniff\r\n${fields}Connection: close\r\n\r\n`, 'latin1'), status === 304 ? Buffer.alloc(0) : b])
}

function text(status: number, body: string, fields = ''): Buffer {
  return answerBytes(status, 'text/plain; charset=utf-8', body, fields)
}

/** One admin connection: parse one request, answer it, close. */
class AdminConn {
  readonly #s: Socket
  readonly #p = new Parser(Kind.REQUEST, LIMITS)
  readonly #handle: Handler
  #req: AdminRequest | null = null
  #done = false

  #timer: NodeJS.Timeout | null
  constructor(s: Socket, handle: Handler) {
    this.#s = s
    this.#handle = handle
    // A deadline for the whole request from the connection on, not an idle timeout (which each byte
    // would push back: a slowloris client would hold the connection for ever).
    this.#timer = setTimeout(() => this.#end(text(408, 'request not complete in time\n')), HEAD_MS)
    s.on('data', (chunk: Buffer) => this.#onData(chunk))
    s.on('error', () => {})
    s.on('close', () => { this.#clear(); this.#p.destroy() })
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return
    const p = this.#p
    let from = 0
    for (;;) {
      const step = p.execute(chunk, from)
      if (step === Step.ERROR) { this.#end(text(statusFor(p.error!), `${p.error!.message}\n`)); return }
      if (p.headDone && this.#req === null) this.#req = this.#request()
      if (p.bodyBytes > MAX_BODY) { this.#end(text(413, 'admin requests carry no large body\n')); return }
      if (step === Step.MORE) return
      if (step === Step.HEAD) { from = p.pos; p.resume(); continue }
      // Step.END (or UPGRADE, which the API does not do: answered as a plain request).
      this.#done = true
      this.#clear()
      this.#s.pause()
      this.#dispatch(this.#req!)
      return
    }
  }

  #request(): AdminRequest {
    const h = this.#p.head
    let target = h.line()
    let host = h.get(HOST)
    // RFC 9112 §3.2.2: an absolute-form target is taken whole; its authority stands for Host.
    const abs = /^https?:\/\/([^/?#]*)/i.exec(target)
    if (abs !== null) {
      host = abs[1]
      target = target.slice(abs[0].length)
      if (!target.startsWith('/')) target = `/${target}`
    }
    const q = target.indexOf('?')
    return {
      method: methodName(h.method),
      path: q < 0 ? target : target.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
      authorization: h.get(AUTHORIZATION),
      origin: h.get(ORIGIN),
      host,
      fetchSite: h.get(FETCH_SITE),
      ifNoneMatch: h.get(IF_NONE_MATCH),
    }
  }

  #dispatch(r: AdminRequest): void {
    let a: AdminAnswer | Promise<AdminAnswer>
    try { a = this.#handle(r) } catch (err) { a = { status: 500, body: `${(err as Error).message}\n` } }
    if (a instanceof Promise) a.then((x) => this.#answer(x), (err: Error) => this.#answer({ status: 500, body: `${err.message}\n` }))
    else this.#answer(a)
  }

  #answer(a: AdminAnswer): void {
    if ('stream' in a) {
      // RFC 9110 §9.3.2: HEAD of a stream is its head only (an event stream's own, then the end).
      if (this.#req?.method === 'HEAD') { this.#end(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`)); return }
      a.stream(this.#s)
      return
    }
    const b = answerBytes(a.status, a.type ?? 'text/plain; charset=utf-8', a.body, a.fields, a.cache)
    // RFC 9110 §9.3.2: the answer to HEAD is the head of the GET answer, without its content.
    this.#end(this.#req?.method === 'HEAD' ? b.subarray(0, b.indexOf('\r\n\r\n') + 4) : b)
  }

  #end(b: Buffer): void {
    this.#done = true
    this.#clear()
    if (!this.#s.destroyed) this.#s.end(b)
  }

  #clear(): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
  }
}

/** The admin listener. */
export class AdminListener {
  readonly server: NetServer
  readonly #sockets = new Set<Socket>()

  constructor(handle: Handler) {
    this.server = createServer({ allowHalfOpen: false, noDelay: true }, (s) => {
      // An operator's API: a few connections at once, never enough to take the proxy's descriptors.
      if (this.#sockets.size >= MAX_CONNECTIONS) { s.destroy(); return }
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
      new AdminConn(s, handle)
    })
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject)
        resolve((this.server.address() as { port: number }).port)
      })
    })
  }

  /** Stops listening and closes every open connection (event streams included). */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
