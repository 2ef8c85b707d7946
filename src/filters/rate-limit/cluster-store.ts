/**
 * The cluster store, worker side: with `workers: N`, every worker's memory-store limits are kept by
 * ONE owner, the primary's memory store (cluster/rate-limits.ts), over the IPC channel, so a limit of
 * 100/s admits 100/s in all, not N × 100/s.
 *
 * - Batching: the takes and releases of one event-loop turn go to the primary as ONE message, and it
 *   answers every take of it in ONE message, in order. The flush runs on setImmediate, after the poll
 *   phase has run every socket callback of the turn; queueMicrotask would flush after each callback,
 *   so one message per request under load. Measured (bench/micro/rate-limit-ipc.ts: 2 workers, 64
 *   busy connections each, all processes on 2 shared cores; medians of 9 rounds): setImmediate 46.9k
 *   takes/s at 6.8 takes per message and 5.2 µs of the primary's CPU per take; queueMicrotask 35.9k/s
 *   at 1.0 and 10.5 µs (slower in 8 rounds of 9). A lone take costs about the same either way
 *   (median ~130 µs round trip there, +5 µs on setImmediate, within the noise).
 * - Refusal cache: a GCRA's TAT never moves back, so when the primary refuses an enforced rate ask
 *   (reject mode) with a wait of w ms, the key stays refused for w ms whatever any worker does. The
 *   worker remembers it and refuses later takes that include that key at once, without IPC: a flood
 *   costs the primary a message per key and worker per refusal period, not one per request. (Only a
 *   key the primary evicts for room, max_keys, stays refused here a little longer than there.)
 * - Fail open: a batch the primary has not answered within `timeout` (it is busy or gone) resolves
 *   its takes as admitted, marked `fault` (store.ts, Verdicts) and counted in `faults`. A take never
 *   rejects, and no pending entry outlives its timeout. An inflight place admitted so holds none of
 *   the primary's: its release frees nobody else's (as the Redis store's `on_error` places), and if
 *   the primary's answer comes late, the places it took for that batch are given back then.
 *
 * The wire format, both ends of it, is in cluster-wire.ts; the message types are part of
 * cluster/messages.ts.
 */
import { Pending, UNJUDGED, type Ask, type Policy, type Store, type Verdict, type Verdicts } from './store.js'
import { AskBatch, VERDICT_STRIDE, VerdictBatch, encodeAsks, holdsPlace, refusedTake } from './cluster-wire.js'

const TIMEOUT_MS = 1000
/** A batch failed open waits this long for its late answer, to give back the places it took. */
const LATE_MS = 60_000
/** How often a batch is checked for its timeout: it fails open between `timeout` and 1.25 × it. */
const TICKS_PER_TIMEOUT = 4
/** Keys refused at once at most; past it the oldest entry goes (the cache only saves messages). */
const MAX_REFUSALS = 10_000

/** Sends a batch to the primary; false when the channel is closed (the takes then fail open). */
export type Send = (m: AskBatch) => boolean

const clock = (): number => performance.now()
const ignore = (): void => {}

/** This process's channel: a write error reaches `ignore`, not an 'error' event (the batch times out). */
function toPrimary(m: AskBatch): boolean {
  if (process.send === undefined || !process.connected) return false
  process.send(m, undefined, undefined, ignore)
  return true
}


class Batch {
  readonly sentAt: number
  readonly takes: Pending[]

  constructor(sentAt: number, takes: Pending[]) {
    this.sentAt = sentAt
    this.takes = takes
  }
}

/** A key the primary refused: which policy, until when surely, and the Retry-After and reset it said. */
class Refusal {
  readonly interval: number
  readonly burst: number
  readonly until: number
  readonly retryAt: number
  readonly resetAt: number

  constructor(p: Policy & { kind: 'rate' }, until: number, retryAt: number, resetAt: number) {
    this.interval = p.interval
    this.burst = p.burst
    this.until = until
    this.retryAt = retryAt
    this.resetAt = resetAt
  }
}

/** The store on this process's channel (stores.ts makes one per worker): where fromPrimary delivers. */
let onChannel: ClusterStore | null = null

/** A verdict message from the primary (cluster/worker.ts routes `rl-v` here). */
export function fromPrimary(m: VerdictBatch): void {
  onChannel?.answer(m)
}

export class ClusterStore implements Store {
  readonly #send: Send
  readonly #timeout: number
  readonly #defer: (fn: () => void) => void
  #takes: Pending[] = []
  #released: string[] = []
  #scheduled = false
  #n = 0
  /** Batches sent and not answered yet, oldest first (Map order is the order of `n`). */
  readonly #pending = new Map<number, Batch>()
  readonly #refused = new Map<string, Refusal>()
  /** Batches failed open that asked for inflight places, until their late answer (or LATE_MS). */
  readonly #late = new Map<number, Batch>()
  /** Key → inflight places admitted blind (fail open): their releases stay here. */
  readonly #blind = new Map<string, number>()
  #timer: NodeJS.Timeout | null = null
  #armed = false
  readonly #flush: () => void
  readonly #expire: () => void
  /** Takes admitted because the primary did not answer in time (or the channel was closed). */
  faults = 0
  /** Takes refused from the refusal cache, without a message. */
  cached = 0

  /**
   * `send`: the channel (default: this process's, answered through fromPrimary). `timeout`: ms before
   * a batch fails open. `defer`: when a turn's batch goes (setImmediate; the bench also measures
   * queueMicrotask).
   */
  constructor(send?: Send, timeout = TIMEOUT_MS, defer: (fn: () => void) => void = setImmediate) {
    this.#send = send ?? toPrimary
    if (send === undefined) onChannel = this
    this.#timeout = timeout
    this.#defer = defer
    this.#flush = () => this.#sendTurn()
    this.#expire = () => this.#expireOld()
  }

  /** Synchronous when a cached refusal decides; else a Promise of the primary's verdicts. */
  take(asks: readonly Ask[]): Verdicts | Promise<Verdicts> {
    if (this.#refused.size > 0) {
      const v = this.#fromCache(asks, clock())
      if (v !== null) return v
    }
    return new Promise<Verdicts>((resolve) => {
      this.#takes.push(new Pending(asks, resolve))
      this.#schedule()
    })
  }

  /** Fire-and-forget, in the turn's batch; a place admitted blind was never the primary's. */
  release(key: string): void {
    const blind = this.#blind.get(key)
    if (blind === undefined) this.#giveBack(key)
    else if (blind === 1) this.#blind.delete(key)
    else this.#blind.set(key, blind - 1)
  }

  /** The primary's verdicts for batch `m.n`. */
  answer(m: VerdictBatch): void {
    const b = this.#pending.get(m.n)
    if (b === undefined) {
      this.#lateAnswer(m)
      return
    }
    this.#pending.delete(m.n)
    const v = m.v
    const now = clock()
    let j = 0
    for (const p of b.takes) {
      const out: Verdict[] = new Array(p.asks.length)
      for (let i = 0; i < out.length; i++, j += VERDICT_STRIDE) {
        const verdict: Verdict = { ok: v[j] === 1, wait: v[j + 1], remaining: v[j + 2], reset: v[j + 3] }
        out[i] = verdict
        if (!verdict.ok) this.#remember(p.asks[i], verdict, b.sentAt, now)
      }
      p.resolve(out)
    }
  }

  #giveBack(key: string): void {
    this.#released.push(key)
    this.#schedule()
  }

  /**
   * Too late: its takes were admitted blind already. The places the primary took for them are no
   * request's now: given back (the requests' own releases stay in #blind).
   */
  #lateAnswer(m: VerdictBatch): void {
    const b = this.#late.get(m.n)
    if (b === undefined) return
    this.#late.delete(m.n)
    let j = 0
    for (const p of b.takes) {
      const out: Verdict[] = new Array(p.asks.length)
      for (let i = 0; i < out.length; i++, j += VERDICT_STRIDE) out[i] = { ok: m.v[j] === 1, wait: 0, remaining: 0, reset: 0 }
      const refused = refusedTake(p.asks, out)
      for (let i = 0; i < out.length; i++) if (holdsPlace(p.asks[i], out[i], refused)) this.#giveBack(p.asks[i].key)
    }
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.#defer(this.#flush)
  }

  #sendTurn(): void {
    this.#scheduled = false
    const takes = this.#takes
    const r = this.#released
    this.#takes = []
    this.#released = []
    const t: (string | number)[][] = new Array(takes.length)
    for (let i = 0; i < takes.length; i++) t[i] = encodeAsks(takes[i].asks)
    const n = takes.length === 0 ? 0 : ++this.#n
    const sentAt = clock()
    if (!this.#send({ type: 'rl', n, t, r })) {
      for (const p of takes) this.#failOpen(p)
      return
    }
    if (n === 0) return
    this.#pending.set(n, new Batch(sentAt, takes))
    this.#arm()
  }

  /**
   * A refusal of an enforced rate ask in reject mode holds until TAT − τ on the primary's clock. The
   * primary judged after `sentAt` and rounded its wait up by less than 1 ms, so `sentAt + wait − 1`
   * is never later than that: until then the primary refuses the key too. The Retry-After and reset
   * count from `now`, after the primary judged, so they are never less than the truth (store.ts).
   * Delay mode is left to the primary, as are dry-run asks (never refused); a refused peek is as
   * exact as a take (auth/failures.ts checks so before each password).
   */
  #remember(a: Ask, v: Verdict, sentAt: number, now: number): void {
    const p = a.policy
    if (p.kind !== 'rate' || p.delay || a.dry) return
    const until = sentAt + v.wait - 1
    if (until <= now) return
    const old = this.#refused.get(a.key)
    if (old !== undefined) {
      if (old.until >= until && old.interval === p.interval && old.burst === p.burst) return
      this.#refused.delete(a.key)
    } else if (this.#refused.size >= MAX_REFUSALS) {
      this.#refused.delete(this.#refused.keys().next().value!)
    }
    this.#refused.set(a.key, new Refusal(p, until, now + v.wait, now + v.reset))
  }

  /**
   * The answer of a take one of whose enforced keys is surely refused: that key refused (remaining 0,
   * the time left), the others not judged (UNJUDGED: as the primary would, it spends nothing of
   * them). A refusal kept for another policy of the key (a reload changed the limit) does not count.
   * A take with a dry-run ask goes to the primary, which counts that ask even when others refuse.
   */
  #fromCache(asks: readonly Ask[], now: number): Verdict[] | null {
    let hit = false
    for (const a of asks) {
      // A dry run is counted by the primary; a refund must reach it (auth's right password).
      if (a.dry || a.refund === true) return null
      const r = this.#refused.get(a.key)
      if (r === undefined) continue
      if (r.until <= now) this.#refused.delete(a.key)
      else if (matches(a.policy, r)) hit = true
    }
    if (!hit) return null
    this.cached++
    const out: Verdict[] = new Array(asks.length)
    for (let i = 0; i < asks.length; i++) {
      const r = this.#refused.get(asks[i].key)
      out[i] = r === undefined || !matches(asks[i].policy, r) ? UNJUDGED
        : { ok: false, wait: Math.ceil(r.retryAt - now), remaining: 0, reset: Math.max(0, Math.ceil(r.resetAt - now)) }
    }
    return out
  }

  /** Admitted blind: every ask ok, `fault` marked; its inflight places are counted here, apart. */
  #failOpen(p: Pending): boolean {
    this.faults++
    let places = false
    for (const a of p.asks) {
      if (a.policy.kind !== 'inflight' || a.peek === true) continue
      this.#blind.set(a.key, (this.#blind.get(a.key) ?? 0) + 1)
      places = true
    }
    p.resolve(Object.assign(new Array<Verdict>(p.asks.length).fill(UNJUDGED), { fault: true }))
    return places
  }

  /** One Timeout, re-armed with refresh() while batches wait: it ticks a few times per timeout. */
  #arm(): void {
    if (this.#armed) return
    this.#armed = true
    if (this.#timer === null) this.#timer = setTimeout(this.#expire, this.#timeout / TICKS_PER_TIMEOUT).unref()
    else this.#timer.refresh()
  }

  #expireOld(): void {
    this.#armed = false
    const now = clock()
    for (const [n, b] of this.#pending) {
      if (b.sentAt > now - this.#timeout) break
      this.#pending.delete(n)
      let places = false
      for (const p of b.takes) places = this.#failOpen(p) || places
      if (places) this.#late.set(n, b)
    }
    // A primary that has not answered in a minute is gone: its worker will be too.
    for (const [n, b] of this.#late) {
      if (b.sentAt > now - LATE_MS) break
      this.#late.delete(n)
    }
    if (this.#pending.size > 0 || this.#late.size > 0) this.#arm()
  }
}

function matches(p: Policy, r: Refusal): boolean {
  return p.kind === 'rate' && !p.delay && p.interval === r.interval && p.burst === r.burst
}
