/**
 * The soak's clients: loops of one kind of traffic each, paced so the run loads the proxy without
 * taking the shared machine, each request judged as it ends. What a client may get besides success:
 * - `/reset` (the peer destroys the socket before answering): 502; `/reset?late` (after the head):
 *   a cut connection, or 502 when the head had not reached the proxy yet;
 * - any request in flight while a peer is being killed or coming back (from the kill to 5 s after
 *   the restart): 502, 503, 504, or a cut connection;
 * anything else (another status, a socket error, a body not whole or not the one sent) is an
 * unexpected error, and fails the soak.
 */
import { request as httpRequest, Agent, IncomingMessage } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import { createHash } from 'node:crypto'

export interface Target { port: number; tlsPort: number; ca: string }

export interface Outcome { status: number; body: Buffer; error: string | null }

/** Time windows in which a peer was down or coming back (ms since the epoch); `end` 0: still open. */
export class Windows {
  readonly list: { start: number; end: number }[] = []
  open(): { start: number; end: number } {
    const w = { start: Date.now(), end: 0 }
    this.list.push(w)
    return w
  }
  overlaps(start: number, end: number): boolean {
    return this.list.some((w) => start <= (w.end === 0 ? Infinity : w.end) && end >= w.start)
  }
}

export class Traffic {
  readonly counts = new Map<string, number>()
  readonly unexpected: string[] = []
  unexpectedCount = 0
  answered = 0
  #stopAt = 0
  readonly #plain = new Agent({ keepAlive: true, maxSockets: 4 })
  readonly #tls: HttpsAgent

  constructor(readonly target: Target, readonly windows: Windows) {
    this.#tls = new HttpsAgent({ keepAlive: true, maxSockets: 4, ca: target.ca })
  }

  #count(k: string): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1)
  }

  /** One request; `body`: sent in pieces `gapMs` apart; `slowRead`: paused `slowRead` ms per 64 KiB. */
  send(o: { tls: boolean; keepAlive: boolean; method?: string; path: string; body?: Buffer[]; gapMs?: number; slowRead?: number }): Promise<Outcome> {
    return new Promise((resolve) => {
      const req = (o.tls ? httpsRequest : httpRequest)({
        host: '127.0.0.1', port: o.tls ? this.target.tlsPort : this.target.port, method: o.method ?? 'GET', path: o.path,
        agent: o.keepAlive ? (o.tls ? this.#tls : this.#plain) : false, ca: this.target.ca, timeout: 30_000,
        headers: o.body !== undefined && o.body.length === 1 ? { 'Content-Length': o.body[0].length } : {},
      })
      let done = false
      const finish = (x: Outcome): void => { if (!done) { done = true; this.answered++; resolve(x) } }
      req.on('timeout', () => req.destroy(new Error('client timeout (30 s)')))
      req.on('error', (e: NodeJS.ErrnoException) => finish({ status: 0, body: Buffer.alloc(0), error: e.code ?? e.message }))
      req.on('response', (res: IncomingMessage) => {
        const parts: Buffer[] = []
        let got = 0
        res.on('data', (d: Buffer) => {
          parts.push(d)
          got += d.length
          if (o.slowRead !== undefined && got >= 64 * 1024) { got = 0; res.pause(); setTimeout(() => res.resume(), o.slowRead) }
        })
        res.on('end', () => finish({ status: res.statusCode!, body: Buffer.concat(parts), error: res.complete ? null : 'cut' }))
        res.on('error', (e: NodeJS.ErrnoException) => finish({ status: res.statusCode!, body: Buffer.concat(parts), error: e.code ?? 'cut' }))
        res.on('aborted', () => finish({ status: res.statusCode!, body: Buffer.concat(parts), error: 'cut' }))
      })
      void (async () => {
        for (const [i, piece] of (o.body ?? []).entries()) {
          if (i > 0 && o.gapMs !== undefined) await new Promise((r) => setTimeout(r, o.gapMs))
          req.write(piece)
        }
        req.end()
      })()
    })
  }

  /** Judges one outcome: `ok` is what success means for this request; `late`: the /reset?late case. */
  judge(kind: string, start: number, x: Outcome, ok: (x: Outcome) => boolean, allowed: (x: Outcome) => boolean = () => false): void {
    if (x.error === null && ok(x)) { this.#count(`${kind} ok`); return }
    const peerTrouble = this.windows.overlaps(start, Date.now()) && (x.error !== null || [502, 503, 504].includes(x.status))
    if (allowed(x) || peerTrouble) { this.#count(`${kind} ${x.error ?? x.status} (expected)`); return }
    this.#count(`${kind} ${x.error ?? x.status} (UNEXPECTED)`)
    this.unexpectedCount++
    if (this.unexpected.length < 30) this.unexpected.push(`${new Date(start).toISOString()} ${kind}: ${x.error ?? `status ${x.status}`} ${x.body.toString('latin1').slice(0, 120)}`)
  }

  /** Runs `one` in a loop, `pauseMs` apart, until the stop time. */
  async #loop(pauseMs: number, one: () => Promise<void>): Promise<void> {
    while (Date.now() < this.#stopAt) {
      await one()
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  }

  /** Every kind of traffic at once until `ms` from now; `scale` multiplies the pauses (a lighter load). */
  run(ms: number, scale = 1): Promise<void[]> {
    this.#stopAt = Date.now() + ms
    const p = (n: number): number => n * scale
    const small = (tls: boolean, keepAlive: boolean, kind: string) => async (): Promise<void> => {
      const start = Date.now()
      this.judge(kind, start, await this.send({ tls, keepAlive, path: '/small' }), (x) => x.status === 200 && x.body.toString().startsWith('ok from'))
    }
    // One piece goes with Content-Length, several chunked (node:http's choice).
    const upload = (tls: boolean, kb: number, pieces: number, gapMs: number, kind: string) => async (): Promise<void> => {
      const body = Buffer.alloc(kb * 1024, Math.floor(Math.random() * 256))
      const size = body.length / pieces
      const parts = Array.from({ length: pieces }, (_, i) => body.subarray(i * size, (i + 1) * size))
      const sha1 = createHash('sha1').update(body).digest('hex')
      const start = Date.now()
      this.judge(kind, start, await this.send({ tls, keepAlive: true, method: 'POST', path: '/upload', body: parts, gapMs }), (x) => {
        if (x.status !== 200) return false
        const r = JSON.parse(x.body.toString()) as { len: number; sha1: string }
        return r.len === body.length && r.sha1 === sha1
      })
    }
    const slowReader = (tls: boolean) => async (): Promise<void> => {
      const start = Date.now()
      this.judge('slow reader', start, await this.send({ tls, keepAlive: true, path: '/big?n=2000000', slowRead: 60 }), (x) => x.status === 200 && x.body.length === 2_000_000)
    }
    const reset = (late: boolean) => async (): Promise<void> => {
      const start = Date.now()
      const x = await this.send({ tls: false, keepAlive: true, path: late ? '/reset?late' : '/reset' })
      this.judge(late ? 'reset late' : 'reset', start, x, () => false, (y) => y.status === 502 || (late && y.error !== null))
    }
    return Promise.all([
      this.#loop(p(4), small(false, true, 'keep-alive')),
      this.#loop(p(4), small(false, true, 'keep-alive')),
      this.#loop(p(8), small(true, true, 'keep-alive tls')),
      this.#loop(p(15), small(false, false, 'churn')),
      this.#loop(p(60), small(true, false, 'churn tls')),
      this.#loop(p(100), upload(false, 256, 1, 0, 'upload')),
      this.#loop(p(150), upload(true, 256, 16, 0, 'upload tls')),
      this.#loop(p(200), upload(false, 128, 8, 150, 'slow writer')),
      this.#loop(p(300), slowReader(false)),
      this.#loop(p(600), slowReader(true)),
      this.#loop(p(400), reset(false)),
      this.#loop(p(700), reset(true)),
    ])
  }

  close(): void {
    this.#plain.destroy()
    this.#tls.destroy()
  }
}
