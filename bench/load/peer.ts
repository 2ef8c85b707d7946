/**
 * The benchmark's peer: a raw `net` server that answers every complete request head with the same
 * 12-byte-body response. It reads no body (the load is GETs), keeps every connection alive, and
 * answers pipelined heads in one write, so it costs far less per request than any proxy in front
 * of it (the "straight" row checks that).
 *
 *   node dist/bench/load/peer.js PORT [PORT...]
 */
import { createServer, Socket } from 'node:net'

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n', 'latin1')
/** RESPONSE repeated n times, for n heads in one read (built on first use). */
const batches: Buffer[] = [Buffer.alloc(0), RESPONSE]

function responses(n: number): Buffer {
  return (batches[n] ??= Buffer.concat(new Array<Buffer>(n).fill(RESPONSE)))
}

function serve(socket: Socket): void {
  socket.setNoDelay(true)
  // How much of CR LF CR LF (the end of a head) the bytes so far end with; survives split reads.
  let matched = 0
  socket.on('data', (chunk: Buffer) => {
    let heads = 0
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]
      if (c === (matched === 0 || matched === 2 ? 13 : 10)) {
        if (++matched === 4) { heads++; matched = 0 }
      } else {
        matched = c === 13 ? 1 : 0
      }
    }
    if (heads > 0) socket.write(responses(heads))
  })
  socket.on('error', () => socket.destroy())
}

// More ports, one process: the 3-peer row of the load bench balances over three "peers" that cost
// together what one costs, so that the row measures the proxy's balancing and pools, not the peer.
for (const port of process.argv.slice(2).map(Number)) createServer({ noDelay: true }, serve).listen({ host: '127.0.0.1', port, backlog: 1024 })
process.on('SIGTERM', () => process.exit(0))
