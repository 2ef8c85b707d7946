/**
 * One stored response (RFC 9111 §3): its head, its content (whole, or still arriving), the clock
 * readings its age is computed from (§4.2.3), its freshness lifetime (§4.2.1, §4.2.2), the request
 * fields it was selected by (§4.1), and the links of its store's recently-used list.
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import { ABSENT, Directives, INVALID, directives } from './directives.js'
import { parseDate } from './dates.js'
import type { Fill } from './fill.js'

const DATE = name('date')
const EXPIRES = name('expires')
const LAST_MODIFIED = name('last-modified')
const ETAG = name('etag')

/** RFC 9110 §15.1: the statuses a cache may give a heuristic lifetime (RFC 9111 §4.2.2). */
export const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

export interface Heuristic {
  readonly percent: number
  readonly max: number
}

export class Entry {
  /** The primary key: scheme, host, path and query (§2). */
  readonly key: string
  head: Head
  readonly status: number
  /** Request fields the response varies on (§4.1, plus the configured key fields), lower-case; ["*"] never matches. */
  readonly vary: readonly string[]
  /** The selecting request's values of those fields, normalised (vary.ts); "" stands for absent. */
  readonly variant: string
  /** When the request went out and the response came (ms): §4.2.3's request_time and response_time. */
  requestTime: number
  responseTime: number
  /** Date of the response (ms), or response_time when it had none (RFC 9110 §6.6.1). */
  dateValue: number
  /** The Age it came with, in seconds (§5.1). */
  ageValue: number
  /** Freshness lifetime in ms (§4.2.1). */
  lifetime: number
  cc: Directives
  etag: string | null
  lastModified: string | null
  /** The content, once complete (a memory entry, or a disk entry read in). */
  body: Buffer | null = null
  /** Content length: known from the start (Content-Length) or at the end; -1 until then. */
  length: number
  /** Bytes counted against the store's budget: head, content and bookkeeping. */
  size = 0
  /** The fill writing this entry's content, until it is complete. */
  fill: Fill | null = null
  /** Taken out of its store (replaced, purged, invalidated, evicted): readers in progress keep it. */
  gone = false
  /** Marked invalid (§4.4): usable only after validation. */
  invalid = false
  prev: Entry | null = null
  next: Entry | null = null

  /** `ageValue`: the Age the response came with (§5.1; never stored in the head, we send our own). */
  constructor(key: string, head: Head, vary: readonly string[], variant: string, requestTime: number, responseTime: number, h: Heuristic, length: number, ageValue: number) {
    this.key = key
    this.head = head
    this.status = head.status
    this.vary = vary
    this.variant = variant
    this.requestTime = requestTime
    this.responseTime = responseTime
    this.length = length
    this.cc = directives(head, false)
    this.dateValue = 0
    this.ageValue = ageValue
    this.lifetime = 0
    this.etag = null
    this.lastModified = null
    this.#read(h)
  }

  /** Reads the timing fields and validators of the head (again after a 304 updated it, §4.3.4). */
  #read(h: Heuristic): void {
    const head = this.head
    this.cc = directives(head, false)
    const date = parseDate(head.get(DATE))
    this.dateValue = date < 0 ? this.responseTime : date
    this.etag = head.get(ETAG) ?? null
    this.lastModified = head.get(LAST_MODIFIED) ?? null
    this.lifetime = lifetime(head, this.cc, this.dateValue, this.status, h)
  }

  /** §3.2, §4.3.4: the head was updated by a 304 received at `responseTime`. */
  refresh(head: Head, requestTime: number, responseTime: number, ageValue: number, h: Heuristic): void {
    this.head = head
    this.requestTime = requestTime
    this.responseTime = responseTime
    this.#read(h)
    this.ageValue = ageValue
    this.invalid = false
  }

  /** §4.2.3: the current age in ms. */
  age(now: number): number {
    const apparent = Math.max(0, this.responseTime - this.dateValue)
    const delay = this.responseTime - this.requestTime
    const corrected = Math.max(apparent, this.ageValue * 1000 + delay)
    return corrected + (now - this.responseTime)
  }

  /** Remaining freshness in ms (negative: stale by that much). */
  ttl(now: number): number {
    return this.invalid ? -1 - this.age(now) : this.lifetime - this.age(now)
  }

  /** §4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10: a shared cache may never serve it stale without validating. */
  get mustRevalidate(): boolean {
    const c = this.cc
    return c.mustRevalidate || c.proxyRevalidate || c.sMaxage !== ABSENT || c.noCache
  }

  get complete(): boolean {
    return this.fill === null
  }
}

/**
 * §4.2.1: s-maxage (a shared cache), then max-age, then Expires minus Date; an invalid one means
 * stale. Without any, §4.2.2: a share of the time since Last-Modified, for the statuses that allow
 * it or a response marked public.
 */
export function lifetime(head: Head, cc: Directives, dateValue: number, status: number, h: Heuristic): number {
  if (cc.sMaxage !== ABSENT) return cc.sMaxage === INVALID ? 0 : cc.sMaxage * 1000
  if (cc.maxAge !== ABSENT) return cc.maxAge === INVALID ? 0 : cc.maxAge * 1000
  // RFC 9213 §2.2: a targeted field stands alone: Expires is ignored with it.
  const i = cc.targeted ? -1 : head.find(EXPIRES)
  if (i >= 0) {
    // §5.3: an invalid date, "0" included, means already expired; so do two Expires (§4.2.1).
    const t = head.find(EXPIRES, i + 1) >= 0 ? -1 : parseDate(head.value(i))
    return t < 0 ? 0 : Math.max(0, t - dateValue)
  }
  if (!HEURISTIC.has(status) && !cc.public) return 0
  const lm = parseDate(head.get(LAST_MODIFIED))
  if (lm < 0 || lm > dateValue) return 0
  return Math.min(Math.floor((dateValue - lm) * h.percent / 100), h.max)
}

/**
 * §5.1: Age is delta-seconds; of a list, or of several lines, the first member counts. A value that
 * is not digits (negative, decimal) is ignored; one too large to hold is 2^31 (§1.2.2).
 */
export function ageOf(v: string | undefined): number {
  if (v === undefined) return 0
  let end = 0
  while (end < v.length && v[end] !== ',' && v[end] !== ';') end++
  const m = v.slice(0, end).trim()
  return /^\d+$/.test(m) ? Math.min(Number(m), 2147483648) : 0
}
