/**
 * The peer of the comparison: a raw `net` server whose response body size is the request path,
 * `GET /65536` -> 65,536 bytes, so that one peer serves every body size of the matrix. It keeps
 * connections alive unless the request says `Connection: close` (RFC 9112 §9.6), in which case it
 * says so too and closes after the response: wrk, sent straight here with that header, must see the
 * server close, as it would behind a proxy. It reads no request body (the load is GETs).
 *
 *   node dist/bench/peers/peer.js PORT
 */
import { createServer, Socket } from 'node:net'

/** Bodies larger than this are refused, so a typo cannot make the peer allocate gigabytes. */
const MAX_BODY = 64 * 1024 * 1024
const CRLF2 = Buffer.from('\r\n\r\n', 'latin1')
const CLOSE = /\r\nconnection:[^\r]*\bclose\b/i

/** Whole responses (head + body) by "size/close", built once: a request costs one write of a shared buffer. */
const responses = new Map<string, Buffer>()

function response(size: number, close: boolean): Buffer {
  const key = `${size}/${close ? 1 : 0}`
  let r = responses.get(key)
  if (r === undefined) {
    const head = `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n` +
      (close ? 'Connection: close\r\n' : '') + '\r\n'
    r = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(size, 'x')])
    responses.set(key, r)
  }
  return r
}

/** The body size a request line asks for: the path's digits; anything else (e.g. `/`) is 0. */
function sizeOf(head: string): number {
  const m = /^[A-Z]+ \/(\d+)[ ?]/.exec(head)
  const n = m === null ? 0 : Number(m[1])
  return n <= MAX_BODY ? n : 0
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
      if (close) { socket.end(response(sizeOf(head), true)); return }
      socket.write(response(sizeOf(head), false))
      buf = buf.subarray(end + 4)
    }
  })
  socket.on('error', () => socket.destroy())
}

const port = Number(process.argv[2])
createServer({ noDelay: true }, serve).listen({ host: '127.0.0.1', port, backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
