// A real origin for the cache specs (node:http, on 127.0.0.1 port 0) whose answer per path a test
// sets, counting what reaches it; and a client that keeps the response's raw header lines.
import { createServer, request, IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Answer {
  status?: number
  /** Header lines in order (a name may repeat). */
  headers?: [string, string][]
  body?: string | Buffer
  /** Sent in these pieces, this many ms apart (chunked, no Content-Length). */
  pieces?: string[]
  gap?: number
  /** Waits this long before the head. */
  delay?: number
  /** Sends the head and this much of the body, then resets the connection. */
  dieAfter?: string
  /** No Date field (node:http adds one otherwise). */
  noDate?: boolean
}

export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
}

export class Origin {
  server!: Server
  port = 0
  readonly seen: Seen[] = []
  readonly #answers = new Map<string, (n: number, req: IncomingMessage) => Answer>()

  static async start(): Promise<Origin> {
    const o = new Origin()
    o.server = createServer((req, res) => {
      const path = req.url!.split('?')[0]
      req.resume()
      req.on('end', () => {
        o.seen.push({ method: req.method!, url: req.url!, headers: req.headers })
        const fn = o.#answers.get(path)
        const a = fn === undefined ? { status: 404 } : fn(o.count(path), req)
        const go = (): void => {
          if (a.noDate === true) res.sendDate = false
          const flat: string[] = []
          for (const [n, v] of a.headers ?? []) flat.push(n, v)
          if (a.dieAfter !== undefined) {
            flat.push('Content-Length', '100000')
            res.writeHead(a.status ?? 200, flat)
            res.write(a.dieAfter)
            setTimeout(() => res.destroy(), 50)
            return
          }
          if (a.pieces !== undefined) {
            res.writeHead(a.status ?? 200, flat)
            let i = 0
            const next = (): void => {
              if (i === a.pieces!.length) { res.end(); return }
              res.write(a.pieces![i++])
              setTimeout(next, a.gap ?? 20)
            }
            next()
            return
          }
          const body = req.method === 'HEAD' || a.status === 304 || a.status === 204 ? '' : a.body ?? `body of ${path} #${o.count(path)}`
          if (a.status !== 304 && a.status !== 204) flat.push('Content-Length', String(Buffer.byteLength(body)))
          res.writeHead(a.status ?? 200, flat)
          res.end(body)
        }
        if (a.delay !== undefined) setTimeout(go, a.delay)
        else go()
      })
    })
    await new Promise<void>((r) => o.server.listen(0, '127.0.0.1', r))
    o.port = (o.server.address() as AddressInfo).port
    return o
  }

  /** How `path` is answered: `fn(n)` gets how many requests for it arrived (this one included). */
  on(path: string, fn: (n: number, req: IncomingMessage) => Answer): void {
    this.#answers.set(path, fn)
  }

  count(path: string): number {
    return this.seen.filter((s) => s.url.split('?')[0] === path).length
  }

  last(path: string): Seen {
    return this.seen.filter((s) => s.url.split('?')[0] === path).at(-1)!
  }

  close(): Promise<void> {
    return new Promise((r) => { this.server.closeAllConnections(); this.server.close(() => r()) })
  }
}

export interface Got {
  status: number
  /** Lower-case name → the values of its lines joined with ", ". */
  h: Record<string, string>
  body: string
}

/** One request on a new connection; `headers` as lines. */
export function get(port: number, path: string, headers: [string, string][] = [], method = 'GET', body?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    // Given as an array, headers go as they are: Node adds no Host of its own.
    const flat: string[] = headers.some(([n]) => n.toLowerCase() === 'host') ? [] : ['Host', `127.0.0.1:${port}`]
    for (const [n, v] of headers) flat.push(n, v)
    const req = request({ host: '127.0.0.1', port, path, method, headers: flat, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => {
        const h: Record<string, string> = {}
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const k = res.rawHeaders[i].toLowerCase()
          h[k] = h[k] === undefined ? res.rawHeaders[i + 1] : `${h[k]}, ${res.rawHeaders[i + 1]}`
        }
        resolve({ status: res.statusCode!, h, body: Buffer.concat(parts).toString('latin1') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
