/**
 * The peer of the comparison: a raw `net` server whose response body size is the request path,
 * `GET /65536` -> 65,536 bytes, so that one peer serves every body size of the matrix. It keeps
 * connections alive unless the request says `Connection: close` (RFC 9112 §9.6), in which case it
 * says so too and closes after the response: wrk, sent straight here with that header, must see the
 * server close, as it would behind a proxy. It reads no request body (the load is GETs).
 *
 * The cache rows ask for the same bodies under two prefixes: `GET /cache/SIZE` answers
 * `Cache-Control: public, max-age=3600`, a strong ETag and a Date (a response every shared cache may
 * store and serve for an hour, RFC 9111 §3, §4.2.1); `GET /nostore/SIZE` answers
 * `Cache-Control: no-store` (§5.2.2.5: looked up, forwarded, never stored), for the miss path.
 *
 *   node dist/bench/peers/peer.js PORT
 */
import { createServer, Socket } from 'node:net'

/** Bodies larger than this are refused, so a typo cannot make the peer allocate gigabytes. */
const MAX_BODY = 64 * 1024 * 1024
const CRLF2 = Buffer.from('\r\n\r\n', 'latin1')
const CLOSE = /\r\nconnection:[^\r]*\bclose\b/i

/** What a path prefix adds to the head: nothing, or the cache rows' fields (see above). */
type Kind = '' | 'cache' | 'nostore'

/** Whole responses (head + body) by "kind/size/close", built once: a request costs one write of a shared buffer. */
const responses = new Map<string, Buffer>()
/** The same for the cache kinds, whose head holds a Date: emptied when the second changes. */
let dated = new Map<string, Buffer>()
let date = ''
/** When `date` goes stale (ms since the epoch): Date.now() per request, a string only once a second. */
let nextSecond = 0

function response(kind: Kind, size: number, close: boolean): Buffer {
  const key = `${kind}/${size}/${close ? 1 : 0}`
  let map = responses
  let extra = ''
  if (kind !== '') {
    const now = Date.now()
    if (now >= nextSecond) {
      nextSecond = now - (now % 1000) + 1000
      date = new Date(now).toUTCString()
      dated = new Map()
    }
    map = dated
    extra = kind === 'cache' ? `Date: ${date}\r\nCache-Control: public, max-age=3600\r\nETag: "${size}"\r\n`
      : `Date: ${date}\r\nCache-Control: no-store\r\n`
  }
  let r = map.get(key)
  if (r === undefined) {
    const head = `HTTP/1.1 200 OK\r\n${extra}Content-Type: application/octet-stream\r\nContent-Length: ${size}\r\n` +
      (close ? 'Connection: close\r\n' : '') + '\r\n'
    r = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(size, 'x')])
    map.set(key, r)
  }
  return r
}

/** What a request line asks for: a prefix (`/cache/`, `/nostore/` or none), then the body size in digits; anything else (e.g. `/`) is 0 bytes. */
function parse(head: string): { kind: Kind; size: number } {
  const m = /^[A-Z]+ \/(?:(cache|nostore)\/)?(\d+)[ ?]/.exec(head)
  const n = m === null ? 0 : Number(m[2])
  return { kind: (m?.[1] ?? '') as Kind, size: n <= MAX_BODY ? n : 0 }
}

function serve(socket: Socket): void {
  socket.setNoDelay(true)
  // Bytes of a head split across reads; empty between requests (the usual case: one read, one head).
  let pending: Buffer | null = null
  socket.on('data', (chunk: Buffer) => {
    let buf = pending === null ? chunk : Buffer.concat([pending, chunk])
    pending = null
    for (;;) {
      const end = buf.indexOf(CRLF2)
      if (end < 0) {
        if (buf.length > 65536) { socket.destroy(); return } // no head is this long
        if (buf.length > 0) pending = Buffer.from(buf)
        return
      }
      const head = buf.toString('latin1', 0, end + 2)
      const close = CLOSE.test(head)
      const { kind, size } = parse(head)
      if (close) { socket.end(response(kind, size, true)); return }
      socket.write(response(kind, size, false))
      buf = buf.subarray(end + 4)
    }
  })
  socket.on('error', () => socket.destroy())
}

const port = Number(process.argv[2])
createServer({ noDelay: true }, serve).listen({ host: '127.0.0.1', port, backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
