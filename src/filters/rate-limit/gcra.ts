/**
 * The arithmetic of the limits, shared by the memory store and the cluster primary (the Redis store
 * runs the same steps in Lua). A rate limit is a generic cell rate algorithm (GCRA, ITU-T I.371):
 * its whole state is one number, the theoretical arrival time (TAT) of the next request, so it is
 * exact to the millisecond and costs one Map entry per key. With an emission interval T (ms per
 * request) and a tolerance τ = burst × T:
 *
 * - reject: a request at `now` conforms when now ≥ max(TAT, now) − τ (equivalently TAT − τ ≤ now);
 *   admitted, TAT becomes max(TAT, now) + T. Refused, the next one conforms at TAT − τ.
 * - delay: the request's turn is s = max(TAT, now); it waits s − now when that is at most τ (at most
 *   `burst` requests wait before it), and TAT becomes s + T; a longer wait is refused.
 *
 * An inflight limit is a count of requests in progress.
 */
import type { Ask, Policy, Verdict } from './store.js'

/** Where the counters live: the memory store's Maps, or the primary's. */
export interface Cells {
  /** The TAT of a rate key (ms on the store's clock), or undefined for a key at rest. */
  tat(key: string): number | undefined
  setTat(key: string, tat: number): void
  /** A refused key was asked again: it counts as used, so a client refused on and on keeps its debt. */
  touch?(key: string): void
  inflight(key: string): number
  setInflight(key: string, n: number): void
}

/** The state judge() would leave for its ask (NaN: no change): a TAT, or an inflight count. */
let nextState = NaN

/** The verdict of one ask at `now`; the state it would leave in `nextState` (no tuple per ask). */
function judge(c: Cells, a: Ask, now: number): Verdict {
  const p = a.policy
  nextState = NaN
  if (p.kind === 'inflight') {
    const n = c.inflight(a.key)
    if (n >= p.max) return { ok: false, wait: 1000, remaining: 0, reset: 0 }
    nextState = n + 1
    return { ok: true, wait: 0, remaining: p.max - n - 1, reset: 0 }
  }
  const T = p.interval
  if (a.refund === true) {
    const tat = c.tat(a.key)
    if (tat !== undefined && tat > now) nextState = Math.max(now, tat - T)
    return { ok: true, wait: 0, remaining: 0, reset: 0 }
  }
  const tau = T * p.burst
  // Relative to now: the clock's fractional ms would otherwise turn (now + 1000) − now into 1000.0001,
  // and a reset of 1 s into 2 (the Lua twin works the same way).
  const ahead = Math.max((c.tat(a.key) ?? now) - now, 0)
  // Reject and delay refuse on the same condition: TAT − τ > now, i.e. more than `burst` ahead.
  if (ahead > tau) {
    c.touch?.(a.key)
    return { ok: false, wait: Math.ceil(ahead - tau), remaining: 0, reset: Math.ceil(ahead) }
  }
  const after = ahead + T
  nextState = now + after
  return { ok: true, wait: p.delay ? ahead : 0, remaining: remaining(p, after), reset: Math.ceil(after) }
}

/** Requests that would conform now after one that put the TAT `after` ms ahead of now. */
function remaining(p: Policy & { kind: 'rate' }, after: number): number {
  // + 1e-9: an interval such as 1000/3 must not lose a whole request to its last bit.
  return Math.max(0, Math.floor((p.interval * p.burst - after) / p.interval + 1e-9) + 1)
}

/**
 * Decides a request's asks at `now` (ms), atomically (store.ts), and writes what it admitted into `c`.
 * An inflight ask's place is taken here and given back by `release`.
 */
export function take(c: Cells, asks: readonly Ask[], now: number): Verdict[] {
  if (asks.length === 1) {
    // One limit (the usual route): no arrays beyond the answer.
    const a = asks[0]
    const v = judge(c, a, now)
    if (!Number.isNaN(nextState) && a.peek !== true) commit(c, a, nextState)
    return [v]
  }
  const out: Verdict[] = new Array(asks.length)
  const next: number[] = new Array(asks.length)
  let refused = false
  for (let i = 0; i < asks.length; i++) {
    out[i] = judge(c, asks[i], now)
    next[i] = nextState
    if (!out[i].ok && !asks[i].dry) refused = true
  }
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i]
    if (Number.isNaN(next[i]) || a.peek === true) continue
    if (refused && !a.dry) {
      // Admitted by its own limit but refused by another: nothing of it is spent.
      out[i] = { ...out[i], remaining: out[i].remaining + 1 }
      continue
    }
    commit(c, a, next[i])
  }
  return out
}

function commit(c: Cells, a: Ask, state: number): void {
  if (a.policy.kind === 'inflight') c.setInflight(a.key, state)
  else c.setTat(a.key, state)
}

/** Gives back one place of an inflight key. */
export function release(c: Cells, key: string): void {
  const n = c.inflight(key)
  if (n > 0) c.setInflight(key, n - 1)
}
