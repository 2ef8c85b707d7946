/**
 * The cluster store's wire format (cluster-store.ts, worker side; cluster/rate-limits.ts, primary
 * side): a request's asks and verdicts as flat arrays of numbers, no field names, since one goes
 * over IPC per request. Both ends live here so the format changes in one file.
 */
import type { Ask, Policy, Verdict } from './store.js'

/** Worker → primary: the takes and the releases of one turn. */
export interface AskBatch {
  readonly type: 'rl'
  /** Numbers a batch with takes, for its answer; 0: releases only, no answer. */
  readonly n: number
  /** Each take's asks, flattened by ASK_STRIDE (encodeAsks). */
  readonly t: (string | number)[][]
  /** Keys of inflight places given back. */
  readonly r: string[]
}

/** Primary → worker: the verdicts of batch `n`, every ask of every take in order, by VERDICT_STRIDE. */
export interface VerdictBatch {
  readonly type: 'rl-v'
  readonly n: number
  /** Per ask: ok (1 or 0), wait, remaining, reset. */
  readonly v: number[]
}

/** Per ask: key, flags, then a and b (rate: interval and burst; inflight: max and 0). */
const ASK_STRIDE = 4
export const VERDICT_STRIDE = 4
const DRY = 1
const PEEK = 2
const DELAY = 4
const INFLIGHT = 8
const REFUND = 16

/** A take's asks as the wire carries them: arrays of numbers, no field names (sent per request). */
export function encodeAsks(asks: readonly Ask[]): (string | number)[] {
  const out: (string | number)[] = new Array(asks.length * ASK_STRIDE)
  for (let i = 0, j = 0; i < asks.length; i++, j += ASK_STRIDE) {
    const a = asks[i]
    const p = a.policy
    const flags = (a.dry ? DRY : 0) | (a.peek === true ? PEEK : 0) | (a.refund === true ? REFUND : 0)
    out[j] = a.key
    if (p.kind === 'rate') {
      out[j + 1] = flags | (p.delay ? DELAY : 0)
      out[j + 2] = p.interval
      out[j + 3] = p.burst
    } else {
      out[j + 1] = flags | INFLIGHT
      out[j + 2] = p.max
      out[j + 3] = 0
    }
  }
  return out
}

export function decodeAsks(t: readonly (string | number)[]): Ask[] {
  const out: Ask[] = new Array(t.length / ASK_STRIDE)
  for (let i = 0, j = 0; j < t.length; i++, j += ASK_STRIDE) {
    const f = t[j + 1] as number
    const policy: Policy = (f & INFLIGHT) !== 0
      ? { kind: 'inflight', max: t[j + 2] as number }
      : { kind: 'rate', interval: t[j + 2] as number, burst: t[j + 3] as number, delay: (f & DELAY) !== 0 }
    out[i] = { key: t[j] as string, policy, dry: (f & DRY) !== 0, peek: (f & PEEK) !== 0, refund: (f & REFUND) !== 0 }
  }
  return out
}

export function encodeVerdicts(vs: readonly Verdict[], into: number[]): void {
  for (const v of vs) into.push(v.ok ? 1 : 0, v.wait, v.remaining, v.reset)
}

/** A take another of its enforced asks refused: it spent nothing of its enforced asks (gcra.ts). */
export function refusedTake(asks: readonly Ask[], out: readonly Verdict[]): boolean {
  for (let i = 0; i < asks.length; i++) if (!asks[i].dry && !out[i].ok) return true
  return false
}

/** Whether an ask holds an inflight place after its take: admitted, not a peek, and dry or in a take not refused. */
export function holdsPlace(a: Ask, v: Verdict, refused: boolean): boolean {
  return a.policy.kind === 'inflight' && v.ok && a.peek !== true && (a.dry || !refused)
}

