/**
 * End to end: with `workers: 4`, a limit of 200/s admits 200/s in all, not 4 × 200/s. The CLI runs
 * routes with one global limit; several keep-alive raw clients offer ~2000 requests/s between them,
 * each on a schedule, and count the statuses (200 admitted, 429 refused).
 *
 * With a burst of 0 the count is below rate × time by the GCRA itself, in any store: τ = 0 admits a
 * request only once TAT ≤ now, and sets TAT = now + T, so each admission loses the time between its
 * slot and the first request after it (gcra.ts). At 2000/s offered that is ~0.5 ms of every 5 ms:
 * measured here, 176 to 179 admitted/s for 200/s (one process's memory store fares worse: fewer
 * requests reach it). A burst keeps TAT ahead of now under a flood, so nothing is lost as long as
 * some request reaches the primary within τ: 2003 of 2006 in 10 s with burst 5, on an idle machine.
 * But 7 busy processes on 2 cores (and a suite running beside) stall for tens of ms, and a stall
 * longer than τ loses the rest (burst 5, τ = 25 ms: 360 to 400 of 406 then). Hence the default burst
 * is what the rate lets through in 100 ms (config/rate-limit.ts): 20 here. Two routes: the issue's
 * limit as written (`rate: 200/s`, the default burst), held to ±5%; an explicit `burst: 0` (strict
 * spacing) to "never more than the limit" (+5%), and at least half of it.
 *
 * RL_ACCURACY_SECONDS sets how long (default 2, so the suite stays quick; 10 is the full run):
 *   npx tsc -p tsconfig.json && RL_ACCURACY_SECONDS=10 node dist/spec/cluster/rate-limit-accuracy.spec.js
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, Socket } from 'node:net'
import { httpUpstream, HttpUpstream, sleep } from '../support/harness.js'
import { Started } from '../support/cluster.js'

const SECONDS = Number(process.env.RL_ACCURACY_SECONDS ?? 2)
const LIMIT = 200 // per second
const OFFERED = 2000 // per second, all clients together
const CLIENTS = 16
const BURST = 20

const t = suite('cluster: rate-limit accuracy with 4 workers')
const started = new Started()
let up: HttpUpstream

/** One keep-alive connection that sends a GET at each tick of its schedule and counts the statuses. */
class Offerer {
  readonly #sock: Socket
  readonly #request: string
  #buf = ''
  #waiting: ((status: number) => void) | null = null
  readonly statuses = new Map<number, number>()
  sent = 0
  /** performance.now() of the latest request sent. */
  lastSent = 0

  private constructor(sock: Socket, path: string) {
    this.#sock = sock
    this.#request = `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`
    sock.setEncoding('latin1')
    sock.setNoDelay(true)
    sock.on('data', (d: string) => { this.#buf += d; this.#parse() })
  }

  static open(port: number, path: string): Promise<Offerer> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1')
      s.once('error', reject)
      s.once('connect', () => { s.off('error', reject); s.on('error', () => {}); resolve(new Offerer(s, path)) })
    })
  }

  /** Requests at `start`, `start + every`, ... until `end` (performance.now() ms); late ones go at once. */
  async run(start: number, every: number, end: number): Promise<void> {
    for (let at = start; at < end; at += every) {
      const ahead = at - performance.now()
      if (ahead >= 1) await sleep(ahead)
      const status = await this.#get()
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
    }
  }

  close(): void { this.#sock.destroy() }

  #get(): Promise<number> {
    this.sent++
    this.lastSent = performance.now()
    return new Promise((resolve) => {
      this.#waiting = resolve
      this.#sock.write(this.#request)
    })
  }

  /** One response: the status line, the head, a Content-Length body (the peer and the proxy's replies frame so). */
  #parse(): void {
    const end = this.#buf.indexOf('\r\n\r\n')
    if (end < 0) return
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.#buf.slice(0, end))?.[1] ?? 0)
    if (this.#buf.length < end + 4 + length) return
    const status = Number(this.#buf.slice(9, 12))
    this.#buf = this.#buf.slice(end + 4 + length)
    const w = this.#waiting
    this.#waiting = null
    w?.(status)
  }
}

let port = 0

t.before(async () => {
  up = await httpUpstream((_req, res) => res.end('ok'))
  const limit = (burst: string): string => `{ limits: [{ name: all, key: global, rate: ${LIMIT}/s${burst} }] }`
  port = await started.config(`workers: 4\nlisten: ["127.0.0.1:0"]\nupstreams:\n  main: { peers: ["127.0.0.1:${up.port}"] }\naccess_log: off\n` +
    `routes:\n  - { path: /, upstream: main, rate_limit: ${limit(', burst: 0')} }\n  - { path: /default, upstream: main, rate_limit: ${limit('')} }\n`).started()
})
t.after(async () => { await started.stopAll(); await up.close() })

/**
 * Offers OFFERED/s on `path` for SECONDS from CLIENTS connections: the statuses seen, and the seconds
 * from the first request to the last (more than SECONDS when a loaded machine kept the clients late).
 */
async function offer(path: string): Promise<{ sent: number; admitted: number; refused: number; seconds: number }> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Offerer.open(port, path)))
  await sleep(200) // every connection accepted by its worker before the clock starts
  const every = (1000 * CLIENTS) / OFFERED
  const start = performance.now() + 10
  const end = start + SECONDS * 1000
  await Promise.all(clients.map((c, i) => c.run(start + (i * every) / CLIENTS, every, end)))
  const seconds = (Math.max(...clients.map((c) => c.lastSent)) - start) / 1000
  for (const c of clients) c.close()
  const count = (status: number): number => clients.reduce((n, c) => n + (c.statuses.get(status) ?? 0), 0)
  const r = { sent: clients.reduce((n, c) => n + c.sent, 0), admitted: count(200), refused: count(429), seconds }
  console.log(`  ${path}: offered ${r.sent} in ${seconds.toFixed(2)} s (${Math.round(r.sent / seconds)}/s): ${r.admitted} admitted, ${r.refused} refused`)
  assert.is(r.admitted + r.refused, r.sent, 'every response is a 200 or a 429')
  assert.ok(r.sent >= OFFERED * SECONDS * 0.9, `the clients kept up the offered rate (${r.sent})`)
  return r
}

t(`rate: ${LIMIT}/s as written (default burst ${BURST}): ${OFFERED}/s offered for ${SECONDS} s: admitted within ±5% of ${LIMIT * SECONDS} + the burst`, async () => {
  const { admitted, seconds } = await offer('/default')
  const expected = Math.round(LIMIT * seconds) + BURST + 1 // the burst and the first request at once, then one every 5 ms
  assert.ok(Math.abs(admitted - expected) <= expected * 0.05, `admitted ${admitted}, expected ${expected} ±5%`)
})

t(`burst 0: never more than ${LIMIT}/s in all (+5%), whatever the 4 workers`, async () => {
  const { admitted, seconds } = await offer('/')
  const expected = Math.round(LIMIT * seconds) + 1
  assert.ok(admitted <= expected * 1.05, `admitted ${admitted}, at most ${expected} +5%`)
  assert.ok(admitted >= expected * 0.5, `admitted ${admitted}: the limit is reached, less what τ = 0 loses`)
})

t.run()
