/**
 * The bad-password flood of `bash bench/run.sh auth-flood`: RATE requests a second with a wrong
 * password, for SECONDS, over CONC keep-alive connections, sent on time whether or not the earlier
 * ones were answered (pipelined, as an attacker would: a flood that waits for its answers slows down
 * with the server and measures nothing). A connection with MAX_PENDING unanswered requests skips its
 * turn. Prints one JSON line: { sent, statuses: { "401": n, "503": n, "skipped": n }, seconds }.
 *
 *   node dist/bench/load/flood.js PORT SECONDS RATE CONC PATH
 */
import { connect, Socket } from 'node:net'

const [port, seconds, rate, conc] = process.argv.slice(2, 6).map(Number)
const path = process.argv[6] ?? '/auth'
/** Each guess is another password, as in a real brute force (one value again would be one check: auth/admission.ts). */
function guess(n: number): Buffer {
  const wrong = `Basic ${Buffer.from(`bench:guess-${n}`).toString('base64')}`
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: bench\r\nAuthorization: ${wrong}\r\n\r\n`, 'latin1')
}

interface Conn { s: Socket; pending: number; got: string }
const MAX_PENDING = 64
const statuses: Record<string, number> = {}
let sent = 0

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const c: Conn = { s: connect(port, '127.0.0.1'), pending: 0, got: '' }
    c.s.setNoDelay(true)
    c.s.on('data', (d: Buffer) => {
      c.got += d.toString('latin1')
      // The answers are short local replies with a Content-Length: one ends with its body line.
      for (let m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n[^\n]*\n/.exec(c.got); m !== null; m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n[^\n]*\n/.exec(c.got)) {
        statuses[m[1]] = (statuses[m[1]] ?? 0) + 1
        c.got = c.got.slice(m[0].length)
        c.pending--
      }
    })
    c.s.once('connect', () => resolve(c))
    c.s.once('error', reject)
  })
}

const conns = await Promise.all(Array.from({ length: conc }, open))
const t0 = performance.now()
let next = 0
await new Promise<void>((done) => {
  const tick = setInterval(() => {
    // Sends due by now at RATE per second; each goes to the next idle connection.
    const due = Math.floor(((performance.now() - t0) / 1000) * rate)
    while (sent < due) {
      const c = conns[next++ % conc]
      if (c.pending >= MAX_PENDING) { sent++; statuses.skipped = (statuses.skipped ?? 0) + 1; continue }
      c.pending++
      c.s.write(guess(sent))
      sent++
    }
    if (performance.now() - t0 >= seconds * 1000) { clearInterval(tick); done() }
  }, 5)
})
for (const c of conns) c.s.destroy()
process.stdout.write(JSON.stringify({ sent, statuses, seconds: (performance.now() - t0) / 1000 }) + '\n')
