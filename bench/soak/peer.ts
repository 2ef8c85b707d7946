/**
 * A soak peer, run as its own process (so the soak can kill it and start it again):
 *   node dist/bench/soak/peer.js PORT NAME
 * GET /small: a short body; GET /big?n=BYTES: that many bytes, written as the reader takes them;
 * POST /upload: the length and SHA-1 of the body it read; GET /reset: the socket destroyed before
 * any response byte (a peer fault the proxy must answer with 502), or after the head (`?late`: the
 * client's connection must be cut).
 */
import { createServer } from 'node:http'
import { createHash } from 'node:crypto'

const port = Number(process.argv[2])
const name = process.argv[3] ?? 'peer'
const CHUNK = Buffer.alloc(64 * 1024, 'x')

const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
  const url = new URL(req.url!, 'http://x')
  if (req.method === 'POST') {
    const h = createHash('sha1')
    let len = 0
    req.on('data', (d: Buffer) => { h.update(d); len += d.length })
    req.on('end', () => {
      const body = JSON.stringify({ len, sha1: h.digest('hex'), peer: name })
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    })
    return
  }
  if (url.pathname === '/reset') {
    if (url.searchParams.has('late')) {
      res.writeHead(200, { 'Content-Length': 100_000 })
      res.write(CHUNK.subarray(0, 1000), () => req.socket.destroy())
    } else {
      req.socket.destroy()
    }
    return
  }
  if (url.pathname === '/big') {
    let left = Number(url.searchParams.get('n') ?? 1_000_000)
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': left })
    const more = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length)
        left -= n
        if (!res.write(CHUNK.subarray(0, n))) { res.once('drain', more); return }
      }
      res.end()
    }
    more()
    return
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Peer': name })
  res.end(`ok from ${name}\n`)
})
server.listen(port, '127.0.0.1', () => console.log(`${name} listening on ${port}`))
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
