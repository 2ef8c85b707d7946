/**
 * The handshake client of the TLS bench: CONC loops, each opening a TLS connection to 127.0.0.1:PORT,
 * waiting for the handshake to complete, and closing it, for SECONDS. With `resume`, each loop offers
 * the last session it got (a ticket), so the server does an abbreviated handshake. Prints one JSON
 * line: { handshakes, resumed, seconds, errors }.
 *
 *   node dist/bench/load/handshakes.js PORT SECONDS CONC full|resume
 */
import { connect } from 'node:tls'

const [port, seconds, conc] = process.argv.slice(2, 5).map(Number)
const resume = process.argv[5] === 'resume'
const end = Date.now() + seconds * 1000
let handshakes = 0
let resumed = 0
let errors = 0

function loop(session: Buffer | undefined): Promise<void> {
  return new Promise((done) => {
    const next = (s: Buffer | undefined): void => {
      if (Date.now() >= end) { done(); return }
      let last = s
      // The certificate is the test PKI's; the bench measures the server's handshake, not our checks.
      const c = connect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false, session: resume ? last : undefined })
      c.on('session', (b: Buffer) => { last = b })
      c.once('secureConnect', () => {
        handshakes++
        if (c.isSessionReused()) resumed++
        // TLS 1.3 sends the ticket just after the handshake: wait for it on a full one, when resuming.
        if (resume && last === undefined) c.once('session', () => { c.destroy(); next(last) })
        else { c.destroy(); next(last) }
      })
      c.once('error', () => { errors++; c.destroy(); next(undefined) })
    }
    next(session)
  })
}

const t0 = performance.now()
await Promise.all(Array.from({ length: conc }, () => loop(undefined)))
const elapsed = (performance.now() - t0) / 1000
process.stdout.write(JSON.stringify({ handshakes, resumed, seconds: elapsed, errors }) + '\n')
