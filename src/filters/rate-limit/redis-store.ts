/**
 * The Redis store: the counters in a Redis server, so a fleet of proxies keeps one limit. Each take
 * is one Lua call (redis-script.ts, the twin of gcra.ts) on the server's clock. ioredis sends it as
 * EVALSHA, falling back to EVAL when the server forgot the script (NOSCRIPT, after a restart), and
 * auto-pipelining puts the calls of one event-loop turn in one write.
 *
 * When Redis cannot answer, the store answers by `on_error` (store.ts, Verdicts) and never rejects:
 * - a call not answered within `timeout` ms, or failed (connection lost), opens the breaker;
 * - while it is open, takes answer `on_error` at once, without a call: a dead Redis costs a request
 *   nothing, and a slow one is not buried under more calls;
 * - a PING every second (and at once when the client reconnects) closes it when Redis answers within
 *   `timeout` again. One warn line per outage, one info line when it ends, never one per request.
 * Until the first connection is ready (a few ms after start), takes answer `on_error` too.
 *
 * A call that times out may still run on the server later: its rate spend stands (a TAT cannot be
 * given back), its inflight places are given back as soon as its late reply arrives.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { RedisConfig } from '../../config/rate-limit.js'
import type { EventLog } from '../../log/events.js'
import { REPLY_INTS, TAKE_LUA, scriptArgs } from './redis-script.js'
import type { Ask, Store, Verdict, Verdicts } from './store.js'

/**
 * How long an inflight place lasts if never released: a proxy that dies (or loses Redis) while its
 * requests are in progress must not hold their places forever. Longer than any sane request.
 */
const LEASE_MS = 300_000
/** How often an open breaker asks Redis whether it is back. */
const PROBE_MS = 1000
/** A connect (TCP, and TLS for rediss://) slower than this is a dead host: try again later. */
const CONNECT_MS = 1000

export interface RedisStoreOptions {
  /** The lifetime of an inflight lease, ms (LEASE_MS); specs shorten it. */
  readonly leaseMs?: number
}

const ADMIT: Verdict = Object.freeze({ ok: true, wait: 0, remaining: 0, reset: 0 })
const REFUSE: Verdict = Object.freeze({ ok: false, wait: 1000, remaining: 0, reset: 0 })

/** The client with the script defined on it (defineCommand adds the method at run time). */
type Client = Redis & { rateLimitTake(keys: number, ...args: (string | number)[]): Promise<unknown> }

/** Reconnect forever: 100 ms doubling to 2 s, ±10% so a fleet that lost Redis does not come back in step. */
export function backoff(times: number): number {
  return Math.round(Math.min(2000, 50 * 2 ** Math.min(times, 6)) * (0.9 + Math.random() * 0.2))
}

/** The URL for logs: the password replaced. */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}

export class RedisStore implements Store {
  readonly #cfg: RedisConfig
  readonly #events: EventLog | null
  readonly #client: Client
  readonly #leaseMs: number
  readonly #url: string
  /** This store's part of lease tokens: unique among the processes that share the Redis. */
  readonly #id = randomBytes(6).toString('base64url')
  #seq = 0
  /** Key → the tokens of the leases this store holds; `release` gives back one. */
  readonly #leases = new Map<string, string[]>()
  /** Key → places admitted by `on_error`, which hold no lease: their release frees nothing. */
  readonly #unleased = new Map<string, number>()
  /** The breaker: true while Redis answers (closed), false while takes answer `on_error` (open). */
  #up = false
  /** When the logged outage began (performance.now), or null when none is. */
  #downSince: number | null = null
  #probe: NodeJS.Timeout | null = null
  #probing = false
  #closing = false
  #faults = 0
  #outages = 0
  #releaseErrors = 0
  /** One function for every release's failure, not a closure per release. */
  readonly #lost = (): void => { this.#releaseErrors++ }

  constructor(cfg: RedisConfig, events: EventLog | null, opts: RedisStoreOptions = {}) {
    this.#cfg = cfg
    this.#events = events
    this.#leaseMs = Math.ceil(opts.leaseMs ?? LEASE_MS)
    this.#url = redact(cfg.url)
    this.#client = new Redis(cfg.url, {
      enableAutoPipelining: true,
      // Fail fast while disconnected: a call made then is rejected at once (no offline queue), one in
      // flight when the connection drops is rejected at the drop (no retries), and none is sent again
      // after a reconnect: its request was answered by on_error long ago and must not spend twice.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: backoff,
      connectTimeout: CONNECT_MS,
      // The replies are flat integer arrays: RESP2 carries them and every Redis speaks it.
      protocol: 2,
    }) as Client
    this.#client.defineCommand('rateLimitTake', { lua: TAKE_LUA })
    // ioredis emits 'error' for every failed (re)connect: without a listener it would print each.
    this.#client.on('error', (err: Error) => this.#fail(err.message))
    this.#client.on('close', () => this.#fail('connection closed'))
    this.#client.on('ready', () => this.#ping())
  }

  /** Requests decided by `on_error` (a fault), since start. */
  get faults(): number { return this.#faults }
  /** Outages (each logged once), since start. */
  get outages(): number { return this.#outages }
  /** Releases whose ZREM failed: those places stay held until their lease expires. */
  get releaseErrors(): number { return this.#releaseErrors }
  /** Redis answers: takes go to it (the breaker is closed). */
  get up(): boolean { return this.#up }

  take(asks: readonly Ask[]): Verdicts | Promise<Verdicts> {
    if (!this.#up) return this.#onError(asks)
    const keys: string[] = new Array(asks.length)
    const tokens: string[] = new Array(asks.length)
    for (let i = 0; i < asks.length; i++) {
      const a = asks[i]
      keys[i] = this.#cfg.prefix + a.key
      tokens[i] = a.policy.kind === 'inflight' && a.peek !== true ? `${this.#id}:${(++this.#seq).toString(36)}` : ''
    }
    const call = this.#client.rateLimitTake(asks.length, ...keys, ...scriptArgs(asks, tokens, this.#leaseMs))
    return new Promise((resolve) => {
      let late = false
      // One timer per call is cheap: Node keeps the timers of one duration in one list, one OS timer.
      const timer = setTimeout(() => {
        late = true
        this.#fail(`no answer within ${this.#cfg.timeout} ms`)
        resolve(this.#onError(asks))
      }, this.#cfg.timeout)
      call.then((reply) => {
        if (late) return this.#giveBack(keys, tokens, reply)
        clearTimeout(timer)
        const v = this.#verdicts(asks, tokens, reply)
        if (v === null) this.#fail('unexpected reply from the script')
        resolve(v ?? this.#onError(asks))
      }, (err: Error) => {
        if (late) return
        clearTimeout(timer)
        this.#fail(err.message)
        resolve(this.#onError(asks))
      })
    })
  }

  release(key: string): void {
    const debt = this.#unleased.get(key)
    if (debt !== undefined) {
      if (debt === 1) this.#unleased.delete(key)
      else this.#unleased.set(key, debt - 1)
      return
    }
    const held = this.#leases.get(key)
    if (held === undefined) return
    const token = held.pop()!
    if (held.length === 0) this.#leases.delete(key)
    // Fire and forget: a ZREM that fails leaves the place held until its lease expires.
    this.#client.zrem(this.#cfg.prefix + key, token).catch(this.#lost)
  }

  async close(): Promise<void> {
    this.#closing = true
    this.#up = false
    this.#stopProbe()
    // QUIT lets replies in flight arrive; a Redis that does not answer it is dropped after `timeout`.
    if (this.#client.status === 'ready') await this.#within(this.#client.quit().then(() => true, () => false), () => false)
    this.#client.disconnect()
  }

  /** The verdicts of a reply, the leases it took remembered; null for a reply of the wrong shape. */
  #verdicts(asks: readonly Ask[], tokens: readonly string[], reply: unknown): Verdicts | null {
    if (!Array.isArray(reply) || reply.length !== asks.length * REPLY_INTS) return null
    const out: Verdict[] = new Array(asks.length)
    for (let i = 0; i < asks.length; i++) {
      const r = i * REPLY_INTS
      out[i] = { ok: reply[r] === 1, wait: reply[r + 1], remaining: reply[r + 2], reset: reply[r + 3] }
      if (reply[r + 4] !== 1) continue
      const held = this.#leases.get(asks[i].key)
      if (held === undefined) this.#leases.set(asks[i].key, [tokens[i]])
      else held.push(tokens[i])
    }
    return out
  }

  /** A reply that came after its timeout: its request was answered by on_error, so its leases go back. */
  #giveBack(keys: readonly string[], tokens: readonly string[], reply: unknown): void {
    if (!Array.isArray(reply)) return
    for (let i = 0; i < keys.length; i++) {
      if (reply[i * REPLY_INTS + 4] === 1) this.#client.zrem(keys[i], tokens[i]).catch(this.#lost)
    }
  }

  /** The verdicts of `on_error` (store.ts, Verdicts), counted; inflight places admitted so are owed a free release. */
  #onError(asks: readonly Ask[]): Verdicts {
    this.#faults++
    const allow = this.#cfg.on_error === 'allow'
    const out: Verdict[] = []
    for (const a of asks) {
      const v = allow || a.dry ? ADMIT : REFUSE
      out.push(v)
      if (v.ok && a.policy.kind === 'inflight' && a.peek !== true) this.#unleased.set(a.key, (this.#unleased.get(a.key) ?? 0) + 1)
    }
    return Object.assign(out, { fault: true })
  }

  /** A failure seen: open the breaker; the first of an outage is logged. */
  #fail(error: string): void {
    if (this.#closing) return
    this.#up = false
    this.#probe ??= setInterval(() => this.#ping(), PROBE_MS).unref()
    if (this.#downSince !== null) return
    this.#downSince = performance.now()
    this.#outages++
    this.#events?.log('warn', 'rate limit store down', { url: this.#url, error })
  }

  /** Asks Redis whether it answers; it closes the breaker if it does within `timeout`. */
  #ping(): void {
    if (this.#probing || this.#closing) return
    this.#probing = true
    void this.#within(this.#client.ping().then(() => true, (err: Error) => { this.#fail(err.message); return false }), () => false).then((ok) => {
      this.#probing = false
      if (ok) this.#back()
    })
  }

  #back(): void {
    if (this.#closing) return
    this.#up = true
    this.#stopProbe()
    if (this.#downSince === null) return
    const down = Math.round(performance.now() - this.#downSince)
    this.#downSince = null
    this.#events?.log('info', 'rate limit store back', { url: this.#url, down_ms: down })
  }

  #stopProbe(): void {
    if (this.#probe !== null) clearInterval(this.#probe)
    this.#probe = null
  }

  /** `p`, or `late()` when it does not settle within `timeout`. */
  #within<T>(p: Promise<T>, late: () => T): Promise<T> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(late()), this.#cfg.timeout)
      void p.then((v) => { clearTimeout(timer); resolve(v) })
    })
  }
}
