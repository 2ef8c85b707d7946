/**
 * The `rate_limit` key of a route or of `defaults`: limits on the rate (a GCRA, filters/rate-limit/
 * gcra.ts) or on the requests in progress, each under a key taken from the request, kept in memory,
 * in the cluster primary, or in Redis. Validated into plain data (it crosses the cluster channel).
 *
 *   rate_limit:
 *     limits:
 *       - { name: per-client, key: client_ip, rate: 100/s, burst: 50 }
 *       - { name: per-key, key: [header:X-Api-Key, route], rate: 6000/m, mode: delay, burst: 20 }
 *       - { name: uploads, key: user, max_inflight: 4 }
 *     headers: true          # RateLimit and RateLimit-Policy on every response (always on refusals)
 *     status: 429
 *     store: { redis: { url: redis://10.0.0.5:6379, prefix: "rl:", timeout: 50ms, on_error: allow } }
 */
import { fail, int, join, list, object, str, duration } from './validate.js'

/** One part of a limit's key. */
export type KeyPart =
  | { readonly from: 'client_ip' | 'user' | 'route' | 'global' }
  | { readonly from: 'header' | 'cookie'; readonly name: string }

export interface LimitConfig {
  /** Names the limit in the RateLimit fields, the access log and the store's keys. */
  readonly name: string
  readonly key: readonly KeyPart[]
  /** A rate limit: `count` requests per `per` ms, with `burst` more at once; or null for max_inflight. */
  readonly rate: { readonly count: number; readonly per: number } | null
  readonly burst: number
  /** delay: wait in turn (at most `burst` waiting), as nginx limit_req without nodelay. */
  readonly mode: 'reject' | 'delay'
  /** Requests in progress under one key (a concurrency limit); 0 for a rate limit. */
  readonly max_inflight: number
  /** Count, log and send the fields, but never refuse or delay. */
  readonly dry_run: boolean
  /** A request without the key: `skip` this limit, or count it under its `client_ip`. */
  readonly missing: 'skip' | 'client_ip'
}

export type StoreConfig =
  | { readonly memory: { readonly max_keys: number } }
  | { readonly redis: RedisConfig }

export interface RedisConfig {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). */
  readonly url: string
  /** Put before every key this proxy writes, so fleets can share one Redis. */
  readonly prefix: string
  /** A call not answered in this long follows `on_error`. */
  readonly timeout: number
  /** While Redis cannot answer: admit (fail open, the default) or refuse with 503. */
  readonly on_error: 'allow' | 'deny'
}

export interface RateLimitConfig {
  /** The counters' namespace: "defaults" (shared by every route that inherits them) or the route. */
  readonly scope: string
  readonly limits: readonly LimitConfig[]
  /** RateLimit and RateLimit-Policy on every response; refusals carry them always. */
  readonly headers: boolean
  /** The status of a refusal (RFC 6585 §4: 429; nginx's default is 503). */
  readonly status: number
  readonly store: StoreConfig
}

export const RATE_LIMIT_DEFAULTS = { status: 429, max_keys: 100_000, redis: { prefix: 'rawproxy:', timeout: 50, on_error: 'allow' } } as const

const PERIODS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "100/s", "6000/m", "100000/h", "5/10s". */
export function rate(v: unknown, path: string): { count: number; per: number } {
  const m = typeof v === 'string' ? /^\s*(\d+)\s*\/\s*(\d*)\s*(s|m|h|d)\s*$/.exec(v) : null
  if (m === null) fail(path, 'must be a rate such as 100/s, 6000/m, 100000/h or 5/10s')
  const count = int(Number(m[1]), path, 1, 1_000_000_000)
  const per = (m[2] === '' ? 1 : int(Number(m[2]), path, 1, 1_000_000)) * PERIODS[m[3]]
  return { count, per }
}

function keyPart(v: unknown, path: string): KeyPart {
  const s = str(v, path)
  if (s === 'client_ip' || s === 'user' || s === 'route' || s === 'global') return { from: s }
  const m = /^(header|cookie):(.+)$/.exec(s)
  if (m === null) fail(path, 'must be client_ip, user, route, global, header:NAME or cookie:NAME')
  // A field name is a token (RFC 9110 §5.1), and so is a cookie name (RFC 6265 §4.1.1): another name never matches.
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m[2])) fail(path, `"${m[2]}" is not a ${m[1] === 'header' ? 'field name (RFC 9110 §5.1)' : 'cookie name (RFC 6265 §4.1.1)'}`)
  return m[1] === 'header' ? { from: 'header', name: m[2].toLowerCase() } : { from: 'cookie', name: m[2] }
}

/**
 * What the rate lets through in 100 ms (200/s: 20; 10/s: 1; 1/s and slower: 0). With no tolerance at
 * all a GCRA spaces requests exactly, and a request that arrives 1 ms after its slot opened loses that
 * millisecond for good: measured, 200/s offered 2000/s in clumps (a worker's turn, a sender's timer)
 * admitted 1751 in 10 s, not 2000. 100 ms of tolerance keeps the slots of late arrivals (2017 of
 * 2021). `burst: 0` asks for strict spacing, as nginx's default does.
 */
function defaultBurst(r: { count: number; per: number } | null, mode: 'reject' | 'delay'): number {
  if (r === null) return 0
  // `mode: delay` with a burst of 0 would let no request wait: it would be `reject` by another name.
  // Left out, the burst lets at least one wait (nginx limit_req needs a burst to delay at all, too).
  return Math.min(1_000_000, Math.max(mode === 'delay' ? 1 : 0, Math.floor(r.count * 100 / r.per)))
}

function limit(v: unknown, path: string): LimitConfig {
  const o = object(v, path, ['name', 'key', 'rate', 'burst', 'mode', 'max_inflight', 'dry_run', 'missing'])
  const at = (k: string): string => join(path, k)
  const name = str(o.name, at('name'))
  // The name is a Structured Fields String in the RateLimit fields (RFC 9651 §3.3.3): printable ASCII, no quote or backslash.
  if (!/^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(name)) fail(at('name'), 'must be 1 to 64 visible ASCII characters without " or \\')
  const keys = o.key === undefined ? fail(at('key'), 'is required (client_ip, user, route, global, header:NAME, cookie:NAME or a list)') : Array.isArray(o.key) ? o.key : [o.key]
  if (keys.length === 0) fail(at('key'), 'needs at least one part')
  const key = keys.map((k, i) => keyPart(k, Array.isArray(o.key) ? join(at('key'), i) : at('key')))
  if ((o.rate === undefined) === (o.max_inflight === undefined)) fail(path, 'needs exactly one of rate (e.g. 100/s) and max_inflight')
  const r = o.rate === undefined ? null : rate(o.rate, at('rate'))
  if (r !== null && r.per / r.count < 0.001) fail(at('rate'), 'is more than one request per microsecond')
  if (r === null && (o.burst !== undefined || o.mode !== undefined)) fail(o.burst !== undefined ? at('burst') : at('mode'), 'applies to a rate, not to max_inflight')
  const mode = o.mode === undefined ? 'reject' : o.mode
  if (mode !== 'reject' && mode !== 'delay') fail(at('mode'), 'must be "reject" or "delay"')
  const missing = o.missing === undefined ? 'client_ip' : o.missing
  if (missing !== 'skip' && missing !== 'client_ip') fail(at('missing'), 'must be "skip" or "client_ip"')
  if (o.dry_run !== undefined && typeof o.dry_run !== 'boolean') fail(at('dry_run'), 'must be true or false')
  return {
    name,
    key,
    rate: r,
    burst: o.burst === undefined ? defaultBurst(r, mode) : int(o.burst, at('burst'), 0, 1_000_000),
    mode,
    max_inflight: o.max_inflight === undefined ? 0 : int(o.max_inflight, at('max_inflight'), 1, 1_000_000),
    dry_run: o.dry_run === true,
    missing,
  }
}

function store(v: unknown, path: string): StoreConfig {
  const d = RATE_LIMIT_DEFAULTS
  if (v === undefined || v === 'memory') return { memory: { max_keys: d.max_keys } }
  const o = object(v, path, ['memory', 'redis'])
  if ((o.memory === undefined) === (o.redis === undefined)) fail(path, 'must be memory or { redis: {...} }')
  if (o.memory !== undefined) {
    const m = object(o.memory ?? {}, join(path, 'memory'), ['max_keys'])
    return { memory: { max_keys: m.max_keys === undefined ? d.max_keys : int(m.max_keys, join(path, 'memory.max_keys'), 1, 100_000_000) } }
  }
  const at = (k: string): string => join(path, `redis.${k}`)
  const r = object(o.redis, join(path, 'redis'), ['url', 'prefix', 'timeout', 'on_error'])
  const url = str(r.url, at('url'))
  let u: URL
  try { u = new URL(url) } catch { fail(at('url'), 'must be a URL such as redis://127.0.0.1:6379') }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') fail(at('url'), 'must start with redis:// or rediss://')
  // The path is the database number (redis://host:port/2); anything else would quietly mean db 0.
  if (!/^\/?(\d{1,5})?$/.test(u.pathname)) fail(at('url'), `"${u.pathname}" is not a database number (redis://host:port/0)`)
  const onError = r.on_error === undefined ? d.redis.on_error : r.on_error
  if (onError !== 'allow' && onError !== 'deny') fail(at('on_error'), 'must be "allow" or "deny"')
  return {
    redis: {
      url,
      prefix: r.prefix === undefined ? d.redis.prefix : typeof r.prefix === 'string' ? r.prefix : fail(at('prefix'), 'must be a string'),
      timeout: r.timeout === undefined ? d.redis.timeout : duration(r.timeout, at('timeout')),
      on_error: onError,
    },
  }
}

/** `scope`: "defaults", or the route's host and path (stable when routes are reordered). */
export function rateLimit(v: unknown, path: string, scope: string): RateLimitConfig {
  const o = object(v, path, ['limits', 'headers', 'status', 'store'])
  const limits = list(o.limits, join(path, 'limits')).map((l, i) => limit(l, join(join(path, 'limits'), i)))
  if (limits.length === 0) fail(join(path, 'limits'), 'needs at least one limit')
  const seen = new Set<string>()
  limits.forEach((l, i) => {
    if (seen.has(l.name)) fail(join(join(path, 'limits'), i), `a second limit named "${l.name}"`)
    seen.add(l.name)
  })
  if (o.headers !== undefined && typeof o.headers !== 'boolean') fail(join(path, 'headers'), 'must be true or false')
  const status = o.status === undefined ? RATE_LIMIT_DEFAULTS.status : int(o.status, join(path, 'status'), 400, 599)
  // A 401 or 407 must carry a challenge (RFC 9110 §15.5.2, §15.5.8), which a limit has not to give.
  if (status === 401 || status === 407) fail(join(path, 'status'), 'cannot be 401 or 407 (they need an authentication challenge); 429 or 503')
  return { scope, limits, headers: o.headers === true, status, store: store(o.store, join(path, 'store')) }
}
