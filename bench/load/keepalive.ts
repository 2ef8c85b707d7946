/**
 * A light keep-alive client for the TLS bench: CONC connections, each sending the next GET as soon as
 * the last response has arrived (the bench peer's responses fit one read), for SECONDS. Lighter per
 * request than wrk over TLS, so on two CPUs the proxy, not the load side, sets the rate. Prints one
 * JSON line: { requests, seconds, errors }.
 *
 *   node dist/bench/load/keepalive.js PORT SECONDS CONC plain|tls
 */
import { connect as tcp, Socket } from 'node:net'
import { connect as tls } from 'node:tls'

const [port, seconds, conc] = process.argv.slice(2, 5).map(Number)
const secure = process.argv[5] === 'tls'
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', 'latin1')
let requests = 0
let errors = 0

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = secure ? tls({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false }) : tcp(port, '127.0.0.1')
    s.setNoDelay(true)
    s.once(secure ? 'secureConnect' : 'connect', () => resolve(s))
    s.once('error', reject)
  })
}

const sockets = await Promise.all(Array.from({ length: conc }, open))
const t0 = performance.now()
const end = t0 + seconds * 1000
await Promise.all(sockets.map((s) => new Promise<void>((done) => {
  s.on('error', () => { errors++; done() })
  s.on('data', () => {
    requests++
    if (performance.now() >= end) { s.destroy(); done() } else s.write(REQUEST)
  })
  s.write(REQUEST)
})))
process.stdout.write(JSON.stringify({ requests, seconds: (performance.now() - t0) / 1000, errors }) + '\n')
