/**
 * The campaign's two peers. The echo peer is node:http (the independent parser on the peer side):
 * it answers every request it parsed with what it parsed, and counts them; what it refuses to parse
 * is recorded (the proxy forwarded bytes a second parser rejects). The raw peer writes, for each
 * request `/res/ID`, the bytes the response campaign chose for ID, mutated or not.
 */
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http'
import { createServer, AddressInfo, Server, Socket } from 'node:net'
import { sha1, type Echo } from './expected.js'

export interface Orphan { n: number; client: string; head: string; echo: Echo }

export class EchoPeer {
  readonly server = createHttpServer({ maxHeaderSize: 256 * 1024, keepAliveTimeout: 30_000, requireHostHeader: false })
  port = 0
  /** Requests parsed and answered. */
  count = 0
  /** What the peer parsed, by serial number, until a client reports it received the answer. */
  readonly open = new Map<number, Orphan>()
  /** What node:http refused, with the bytes it saw. */
  readonly refused: { code: string; bytes: string }[] = []
  readonly #sockets = new Set<Socket>()

  constructor() {
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#answer(req, res))
    this.server.on('connection', (s: Socket) => { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)) })
    this.server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, s: Socket) => {
      // A request cut short (the proxy closes the peer socket when its client stops mid-body) is no fault.
      if (err.code !== 'ECONNRESET' && err.code !== 'HPE_INVALID_EOF_STATE') {
        this.refused.push({ code: err.code ?? err.message, bytes: (err.rawPacket ?? Buffer.alloc(0)).toString('latin1').slice(0, 2000) })
      }
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nX-Fuzz-Peer-Refused: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      else s.destroy()
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.port = (this.server.address() as AddressInfo).port
    return this.port
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('error', () => {})
    req.on('end', () => {
      const body = Buffer.concat(parts)
      const n = ++this.count
      const e: Echo = { n, m: req.method!, u: req.url!, v: req.httpVersion, h: req.rawHeaders, t: req.rawTrailers, bl: body.length, bh: sha1(body) }
      const xff = req.headers['x-forwarded-for']
      this.open.set(n, { n, client: String(xff), head: `${req.method} ${req.url} ${JSON.stringify(req.rawHeaders).slice(0, 500)}`, echo: e })
      // The answer names the serial; the client (in this process) takes the echo from `open`.
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2, 'X-Fuzz-Echo': String(n) })
      res.end('ok')
    })
  }

  /** A client got the answer to request `n`: what the peer parsed of it (undefined: seen twice). */
  take(n: number): Echo | undefined {
    const o = this.open.get(n)
    this.open.delete(n)
    return o?.echo
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((r) => this.server.close(() => r()))
  }
}

export interface Planned { bytes: Buffer; closes: boolean }

/** The raw peer of the response campaign: `plan(id)` gives the bytes to write for `/res/ID`. */
export class RawPeer {
  readonly server: Server
  port = 0
  readonly #sockets = new Set<Socket>()

  constructor(plan: (id: number) => Planned | undefined) {
    this.server = createServer((s) => {
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
      s.on('error', () => {})
      let buf = ''
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1')
        // The proxy sends bodiless GET and HEAD requests: each ends at its blank line.
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end)
          buf = buf.slice(end + 4)
          const m = /^[A-Z]+ \/res\/(\d+) /.exec(head)
          const p = m === null ? undefined : plan(Number(m[1]))
          if (p === undefined) { s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'); return }
          if (p.closes) { s.end(p.bytes); return }
          s.write(p.bytes)
        }
      })
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.port = (this.server.address() as AddressInfo).port
    return this.port
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((r) => this.server.close(() => r()))
  }
}
