/**
 * The peer of the compression rows (bench/peers/compress.ts): every GET gets the same 64 KiB of API-like
 * JSON (ids, names, e-mails, numbers, dates from a fixed pseudo-random sequence: it compresses as real
 * API responses do, about 7:1 with gzip 6, not as the main peer's run of "x"), with Content-Length, kept alive.
 *
 *   node dist/bench/peers/json-peer.js PORT
 */
import { createServer } from 'node:http'

const SIZE = 64 * 1024

/** `size` bytes of JSON, the same every run (a linear congruential sequence, not Math.random). */
export function jsonBody(size = SIZE): Buffer {
  let seed = 12345
  const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'north', 'south', 'blue', 'green', 'admin', 'guest', 'beta-tester']
  const items: string[] = []
  let total = 2
  for (let i = 0; ; i++) {
    const user = `${words[next(words.length)]}_${next(100000)}`
    const s = JSON.stringify({
      id: 100000 + i, user, email: `${user}@example.com`, score: next(10000) / 10000, active: next(2) === 1,
      tags: [words[next(words.length)], words[next(words.length)]], created: new Date(1.7e12 + next(1e9) * 1000).toISOString(),
    })
    if (total + s.length + 1 > size) break
    items.push(s)
    total += s.length + 1
  }
  // Exactly `size` bytes: white space after the array is still the same JSON (RFC 8259 §2).
  return Buffer.from(`[${items.join(',')}]`.padEnd(size, ' '))
}

if (process.argv[1]?.endsWith('json-peer.js')) {
  const body = jsonBody()
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length }).end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(Number(process.argv[2]), '127.0.0.1')
  process.on('SIGTERM', () => process.exit(0))
}
