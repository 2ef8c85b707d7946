/**
 * The peer of bench/peers/compress-p99.ts: `GET /big` is 50 MB of JSON-like text (the 64 KiB body of
 * json-peer.ts, repeated), written with backpressure; any other path gets 1 KiB of it. Kept alive.
 *
 *   node dist/bench/peers/big-peer.js PORT
 */
import { createServer } from 'node:http'
import { jsonBody } from './json-peer.js'

const BIG = 50 * 1000 * 1000
const piece = jsonBody()
const small = piece.subarray(0, 1024)

createServer((req, res) => {
  req.resume()
  if (req.url !== '/big') { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': small.length }).end(small); return }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': BIG })
  let sent = 0
  const pump = (): void => {
    while (sent < BIG) {
      const b = piece.subarray(0, Math.min(piece.length, BIG - sent))
      sent += b.length
      if (!res.write(b)) { res.once('drain', pump); return }
    }
    res.end()
  }
  pump()
}).listen(Number(process.argv[2]), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
