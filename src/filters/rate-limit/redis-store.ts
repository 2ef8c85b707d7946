/**
 * The Redis store: the counters in a Redis server, so a fleet of proxies keeps one limit. The takes
 * of one event-loop turn go as ONE Lua call (redis-script.ts, the twin of gcra.ts) on the server's
 * clock, which decides each in order and answers their verdicts flat. As the cluster store's IPC
 * (cluster-store.ts), the call goes on setImmediate, after the poll phase has run every socket
 * callback of the turn: one command (with its promise) and one reply parse per turn, not per request.
 * ioredis sends it as EVALSHA, falling back to EVAL when the server forgot the script (NOSCRIPT,
 * after a restart). A turn's takes beyond MAX_TAKES takes or MAX_KEYS keys go in further calls.
 *
 * When Redis cannot answer, the store answers by `on_error` (store.ts, Verdicts) and never rejects:
 * - a call not answered within `timeout` ms, or failed (connection lost), opens the breaker, and
 *   every take of the call answers `on_error`;
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
import { CallArgs, REPLY_INTS, TAKE_LUA } from './redis-script.js'
import { Pending, type Ask, type Store, type Verdict, type Verdicts } from './store.js'

/**
 * How long an inflight place lasts if never released: a proxy that dies (or loses Redis) while its
 * requests are in progress must not hold their places forever. Longer than any sane request.
 */
const LEASE_MS = 300_000
/** How often an open breaker asks Redis whether it is back. */
const PROBE_MS = 1000
/** A connect (TCP, and TLS for rediss://) slower than this is a dead host: try again later. */
const CONNECT_MS = 1000
/**
 * The most takes, and keys, in one call. Redis runs a script alone, so a call holds every other
 * client of the server while it runs. Measured on Redis 7.0 (INFO commandstats): 256 one-key takes in
 * 0.45 ms (one key) to 0.92 ms (256 keys), 42 takes of 12 keys in 1.1 ms: about a millisecond at the
 * bound, 2 to 4 µs a key, where one call per one-key take cost the server 11 to 13 µs.
 */
const MAX_TAKES = 256
const MAX_KEYS = 512

export interface RedisStoreOptions {
  /** The lifetime of an inflight lease, ms (LEASE_MS); specs shorten it. */
  readonly leaseMs?: number
}

const ADMIT: Verdict = Object.freeze({ ok: true, wait: 0, remaining: 0, reset: 0 })
const REFUSE: Verdict = Object.freeze({ ok: false, wait: 1000, remaining: 0, reset: 0 })

/** The client with the script defined on it (defineCommand adds the method at run time). */
/** Its arrays are flattened into the command's arguments (ioredis flattens every array argument). */
type Client = Redis & { rateLimitTake(keys: number, ...args: (string | number)[][]): Promise<unknown> }


/** Reconnect forever: 100 ms doubling to 2 s, ±10% so a fleet that lost Redis does not come back in step. */
export function backoff(times: number): number {
  return Math.round(Math.min(2000, 50 * 2 ** Math.min(times, 6)) * (0.9 + Math.random() * 0.2))
}

/** The URL for logs: the password replaced. */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    // ioredis also takes the password from the query (?password=): hidden too.
    for (const k of [...u.searchParams.keys()]) if (/pass|auth|secret|token/i.test(k)) u.searchParams.set(k, '***')
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
  /** The takes of this turn, and whether their call is scheduled. */
  #queue: Pending[] = []
  #scheduled = false
  readonly #flush = (): void => this.#sendTurn()
  #calls = 0
  #faults = 0
  #outages = 0
  #releaseErrors = 0
  /** One function for every release's failure, not a closure per release. */
  readonly #lost = (): void => { this.#releaseErrors++ }
  /** A new lease's token: this store's id and a sequence number. */
  readonly #newToken = (): string => `${this.#id}:${(++this.#seq).toString(36)}`

  constructor(cfg: RedisConfig, events: EventLog | null, opts: RedisStoreOptions = {}) {
    this.#cfg = cfg
    this.#events = events
    this.#leaseMs = Math.ceil(opts.leaseMs ?? LEASE_MS)
    this.#url = redact(cfg.url)
    this.#client = new Redis(cfg.url, {
      // Releases (ZREM) of one turn go in one write. Not the script: its calls are this store's own
      // batches, and auto-pipelining would hold each for one more loop turn (its own setImmediate) and
      // keep one in flight at a time. Measured (takes alone, CPU per take): 67 to 96 µs → 31 for a
      // lone take, 7.2 to 7.9 → 4.5 at 12 takes a turn.
      enableAutoPipelining: true,
      autoPipeliningIgnoredCommands: ['rateLimitTake'],
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

  /** The server's URL without its password (logs, metrics). */
  get url(): string { return this.#url }
  /** Script calls sent, since start (each carries the takes of one turn, up to MAX_TAKES). */
  get calls(): number { return this.#calls }
  /** Takes decided by `on_error` (a fault), since start. */
  get faults(): number { return this.#faults }
  /** Outages (each logged once), since start. */
  get outages(): number { return this.#outages }
  /** Releases whose ZREM failed: those places stay held until their lease expires. */
  get releaseErrors(): number { return this.#releaseErrors }
  /** Redis answers: takes go to it (the breaker is closed). */
  get up(): boolean { return this.#up }

  /** At once when the breaker is open; else a Promise of the turn's call, which never rejects. */
  take(asks: readonly Ask[]): Verdicts | Promise<Verdicts> {
    if (!this.#up) return this.#onError(asks)
    return new Promise((resolve) => {
      this.#queue.push(new Pending(asks, resolve))
      if (this.#scheduled) return
      this.#scheduled = true
      setImmediate(this.#flush)
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
    // The takes of this turn go now, while the client may still answer them (or on_error does).
    if (this.#scheduled) this.#sendTurn()
    this.#closing = true
    this.#up = false
    this.#stopProbe()
    // QUIT lets replies in flight arrive; a Redis that does not answer it is dropped after `timeout`.
    if (this.#client.status === 'ready') await this.#within(this.#client.quit().then(() => true, () => false), () => false)
    this.#client.disconnect()
  }

  /** The turn's takes, in calls of at most MAX_TAKES takes and MAX_KEYS keys (a bigger take goes alone). */
  #sendTurn(): void {
    this.#scheduled = false
    const q = this.#queue
    this.#queue = []
    // The breaker opened during the turn (a call of an earlier turn timed out): no call now.
    if (!this.#up) {
      for (const p of q) p.resolve(this.#onError(p.asks))
      return
    }
    let from = 0
    let keys = 0
    for (let i = 0; i < q.length; i++) {
      const n = q[i].asks.length
      if (i > from && (i - from === MAX_TAKES || keys + n > MAX_KEYS)) {
        this.#call(q.slice(from, i), keys)
        from = i
        keys = 0
      }
      keys += n
    }
    if (from < q.length) this.#call(from === 0 ? q : q.slice(from), keys)
  }

  /** One script call for `takes`, whose asks number `n`; each take resolves by its verdicts or by `on_error`. */
  #call(takes: readonly Pending[], n: number): void {
    const args = new CallArgs(this.#leaseMs, this.#cfg.prefix, this.#newToken)
    for (const p of takes) args.add(p.asks)
    const { keys, tokens } = args
    this.#calls++
    const call = this.#client.rateLimitTake(n, keys, args.done())
    let late = false
    // One timer per call (per turn) is cheap: Node keeps the timers of one duration in one list.
    const timer = setTimeout(() => {
      late = true
      this.#fail(`no answer within ${this.#cfg.timeout} ms`)
      for (const p of takes) p.resolve(this.#onError(p.asks))
    }, this.#cfg.timeout)
    call.then((reply) => {
      if (late) return this.#giveBack(keys, tokens, reply)
      clearTimeout(timer)
      if (!Array.isArray(reply) || reply.length !== n * REPLY_INTS) {
        this.#fail('unexpected reply from the script')
        for (const p of takes) p.resolve(this.#onError(p.asks))
        return
      }
      let r = 0
      for (const p of takes) {
        p.resolve(this.#verdicts(p.asks, tokens, reply as number[], r))
        r += p.asks.length
      }
    }, (err: Error) => {
      if (late) return
      clearTimeout(timer)
      this.#fail(err.message)
      for (const p of takes) p.resolve(this.#onError(p.asks))
    })
  }

  /** The verdicts of one take, its asks from index `from` of the call's; the leases it took remembered. */
  #verdicts(asks: readonly Ask[], tokens: readonly string[], reply: readonly number[], from: number): Verdicts {
    const out: Verdict[] = new Array(asks.length)
    for (let i = 0; i < asks.length; i++) {
      const r = (from + i) * REPLY_INTS
      out[i] = { ok: reply[r] === 1, wait: reply[r + 1], remaining: reply[r + 2], reset: reply[r + 3] }
      if (reply[r + 4] !== 1) continue
      const held = this.#leases.get(asks[i].key)
      if (held === undefined) this.#leases.set(asks[i].key, [tokens[from + i]])
      else held.push(tokens[from + i])
    }
    return out
  }

  /** A reply that came after its timeout: its takes were answered by on_error, so its leases go back. */
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
