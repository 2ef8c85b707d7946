/**
 * The RateLimit and RateLimit-Policy fields of draft-ietf-httpapi-ratelimit-headers (-10): Structured
 * Fields Lists (RFC 9651 §3.1) of one Item per limit, the limit's name as a String with parameters.
 *
 *   RateLimit-Policy: "per-client";q=100;w=60, "uploads";q=4;qu="concurrent-requests"
 *   RateLimit: "per-client";r=42;t=17, "uploads";r=3
 *
 * q: the quota per window; w: the window in seconds; r: what remains now; t: seconds until the quota
 * is whole again. An upstream's own fields are kept as they are: ours are further list members
 * (field lines of a List combine, RFC 9110 §5.3), so nothing an intermediary adds can make the
 * origin's policy read as more permissive (the draft's rule for intermediaries).
 */
import type { LimitConfig } from '../../config/rate-limit.js'
import type { Verdict } from './store.js'

/** One limit's RateLimit-Policy member, fixed by the config. */
export function policyItem(l: LimitConfig): string {
  if (l.rate === null) return `"${l.name}";q=${l.max_inflight};qu="concurrent-requests"`
  return `"${l.name}";q=${l.rate.count};w=${l.rate.per / 1000}`
}

/** One limit's RateLimit member now. */
export function stateItem(l: LimitConfig, v: Verdict): string {
  if (l.rate === null) return `"${l.name}";r=${v.remaining}`
  // An sf-integer has at most 15 digits (RFC 9651 §3.3.1): a limit of days under a huge burst could pass it.
  return `"${l.name}";r=${v.remaining};t=${Math.min(Math.ceil(v.reset / 1000), 999_999_999_999_999)}`
}

/** Retry-After in whole seconds (RFC 9110 §10.2.3), rounded up: never before a request could pass. */
export function retryAfter(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000))
}
