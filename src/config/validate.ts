/**
 * Turns the parsed YAML into a Config, or refuses it with the field path and the reason, e.g.
 * `routes[1].upstream: unknown upstream "api2"`. Runs at start and on reload, never during a request.
 */
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { Config, DEFAULTS, Address, Route, Upstream, LogTarget, Timeouts, Limits, PeerConfig, Balance, HashKey, HealthCheck, Passive } from './schema.js'
import { parseCidr } from './cidr.js'
import { listener, upstreamTls } from './tls.js'
import { FEATURE_KEYS, Features, defaults as featureDefaults, features } from './features.js'
import { cache, type CacheConfig } from './cache.js'
import { admin } from './admin.js'
import { trace } from './trace.js'

export class ConfigError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`)
    this.name = 'ConfigError'
  }
}

type Obj = Record<string, unknown>

export function fail(path: string, reason: string): never {
  throw new ConfigError(path, reason)
}

export function object(v: unknown, path: string, keys: readonly string[]): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'must be a mapping')
  for (const k of Object.keys(v)) if (!keys.includes(k)) fail(join(path, k), `unknown field (expected one of: ${keys.join(', ')})`)
  return v as Obj
}

export function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`
}

export function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be a list')
  return v
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'must be a non-empty string')
  return v
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be an integer from ${min} to ${max}`)
  return v
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** A byte size: a number, or "64k", "10m", "1g" (binary units). */
export function size(v: unknown, path: string): number {
  if (typeof v === 'number') return int(v, path, 0, Number.MAX_SAFE_INTEGER)
  const m = typeof v === 'string' ? /^(\d+)\s*([kmg]?)i?b?$/i.exec(v.trim()) : null
  if (m === null) fail(path, 'must be a size in bytes such as 1048576, 512k, 10m or 1g')
  const n = Number(m[1]) * 1024 ** ' kmg'.indexOf(m[2].toLowerCase() || ' ')
  if (!Number.isSafeInteger(n)) fail(path, 'is too large (at most 8 PiB)')
  return n
}

/** A duration: a number of milliseconds, or "250ms", "10s", "2m", "1h". */
export function duration(v: unknown, path: string): number {
  if (typeof v === 'number') return int(v, path, 1, 86_400_000)
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim()) : null
  if (m === null) fail(path, 'must be a duration such as 500ms, 10s or 2m')
  const ms = Math.round(Number(m[1]) * UNITS[m[2]])
  if (ms < 1 || ms > 86_400_000) fail(path, 'must be from 1ms to 24h')
  return ms
}

/** "host:port", "[v6]:port" or ":port" (every address). */
export function address(v: unknown, path: string, defaultHost: string): Address {
  if (typeof v === 'number') return { host: defaultHost, port: int(v, path, 0, 65535) }
  const s = str(v, path)
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(s)
  if (m === null) fail(path, `"${s}" is not host:port`)
  const host = m[1] ?? m[2]
  if (m[1] !== undefined && isIP(m[1]) !== 6) fail(path, `"${m[1]}" is not an IPv6 address`)
  if (host !== '' && m[1] === undefined && !/^[A-Za-z0-9.-]+$/.test(host)) fail(path, `"${host}" is not a host name or address`)
  return { host: host === '' ? defaultHost : host, port: int(Number(m[3]), path, 0, 65535) }
}

function timeouts(v: unknown, path: string): Timeouts {
  const keys = Object.keys(DEFAULTS.timeouts)
  const o = v === undefined ? {} : object(v, path, keys)
  const out: Record<string, number> = {}
  for (const k of keys) out[k] = o[k] === undefined ? DEFAULTS.timeouts[k as keyof Timeouts] : duration(o[k], join(path, k))
  return out as unknown as Timeouts
}

function limits(v: unknown, path: string): Limits {
  const o = v === undefined ? {} : object(v, path, Object.keys(DEFAULTS.limits))
  const d = DEFAULTS.limits
  // The target is part of the head, so the one left out follows the one written: a larger max_target
  // alone gets a head cap with the default's room for the fields beside it, a smaller max_head alone
  // a target cap within it (else 431 would answer what should be 414).
  const wantHead = o.max_head === undefined ? null : int(o.max_head, join(path, 'max_head'), 256, 1 << 20)
  const wantTarget = o.max_target === undefined ? null : int(o.max_target, join(path, 'max_target'), 16, 1 << 20)
  // Both written: a target cap above the head cap could never apply (431 would come first).
  if (wantHead !== null && wantTarget !== null && wantTarget > wantHead) fail(join(path, 'max_target'), `must not be larger than max_head (${wantHead}): a longer target is refused by max_head first, with 431 instead of 414`)
  return {
    max_head: wantHead ?? Math.max(d.max_head, (wantTarget ?? 0) + d.max_head - d.max_target),
    max_target: wantTarget ?? Math.min(d.max_target, wantHead ?? Infinity),
    max_connections: o.max_connections === undefined ? d.max_connections : int(o.max_connections, join(path, 'max_connections'), 1, 1_000_000),
  }
}

function fraction(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(path, `must be a number from ${min} to ${max}`)
  return v
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false')
  return v
}

/** `host:port`, or `{ address, weight, backup }`. */
function peer(v: unknown, path: string): PeerConfig {
  const o = typeof v === 'object' && v !== null ? object(v, path, ['address', 'weight', 'backup']) : { address: v }
  if (o.address === undefined) fail(join(path, 'address'), 'is required (host:port)')
  const a = address(o.address, typeof v === 'object' ? join(path, 'address') : path, '127.0.0.1')
  if (a.port === 0) fail(path, 'port 0 is not a peer port')
  return {
    ...a,
    weight: o.weight === undefined ? 1 : int(o.weight, join(path, 'weight'), 1, 1000),
    backup: o.backup === undefined ? false : bool(o.backup, join(path, 'backup')),
  }
}

const BALANCERS: readonly Balance[] = ['round_robin', 'least_conn', 'random_two', 'hash']

/** "client_ip", "path", "header:NAME" or "cookie:NAME". */
function hashKey(v: unknown, path: string): HashKey {
  const s = str(v, path)
  if (s === 'client_ip' || s === 'path') return { from: s }
  const m = /^(header|cookie):([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(s)
  if (m === null) fail(path, `"${s}" must be client_ip, path, header:NAME or cookie:NAME`)
  return { from: m[1] as 'header' | 'cookie', name: m[1] === 'header' ? m[2].toLowerCase() : m[2] }
}

function health(v: unknown, path: string): HealthCheck | null {
  if (v === undefined || v === false) return null
  const d = DEFAULTS.health
  const o = object(v, path, Object.keys(d))
  const at = (k: string): string => join(path, k)
  const type = o.type === undefined ? d.type : o.type
  if (type !== 'http' && type !== 'tcp') fail(at('type'), 'must be "http" or "tcp"')
  let status: [number, number] = [...d.status]
  if (o.status !== undefined) {
    const m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(String(o.status))
    if (m === null) fail(at('status'), 'must be a status or a range such as 200-399')
    status = [Number(m[1]), Number(m[2] ?? m[1])]
    if (status[1] < status[0]) fail(at('status'), 'the range ends before it starts')
  }
  const method = o.method === undefined ? d.method : str(o.method, at('method'))
  if (!/^[A-Z]+$/.test(method)) fail(at('method'), 'must be an upper-case method token')
  const probePath = o.path === undefined ? d.path : str(o.path, at('path'))
  if (!/^\/[\x21-\x7e]*$/.test(probePath)) fail(at('path'), 'must start with "/" and hold no spaces or controls')
  const host = o.host === undefined ? null : str(o.host, at('host'))
  if (host !== null && !/^[\x21-\x7e]+$/.test(host)) fail(at('host'), 'must hold no spaces or controls')
  // A default never makes a setting written beside it invalid: each one left out yields to the other
  // (`interval: 500ms` alone probes with a 500 ms timeout, `timeout: 3s` alone every 3 s).
  const given = (k: 'interval' | 'timeout'): number | null => o[k] === undefined ? null : duration(o[k], at(k))
  const wantInterval = given('interval')
  const wantTimeout = given('timeout')
  const interval = wantInterval ?? Math.max(d.interval, wantTimeout ?? 0)
  const timeout = wantTimeout ?? Math.min(d.timeout, interval)
  if (timeout > interval) fail(at('timeout'), 'must not be longer than interval')
  return {
    type,
    method,
    path: probePath,
    host,
    status,
    body: o.body === undefined ? null : str(o.body, at('body')),
    interval,
    jitter: o.jitter === undefined ? d.jitter : fraction(o.jitter, at('jitter'), 0, 0.5),
    timeout,
    rise: o.rise === undefined ? d.rise : int(o.rise, at('rise'), 1, 100),
    fall: o.fall === undefined ? d.fall : int(o.fall, at('fall'), 1, 100),
  }
}

function passive(v: unknown, path: string): Passive {
  const d = DEFAULTS.passive
  if (v === false) return { ...d, failures: 0, errors_5xx: 0 }
  const o = v === undefined ? {} : object(v, path, Object.keys(d))
  const at = (k: string): string => join(path, k)
  // As with health: the one left out yields to the one written (`ejection: 10m` alone caps at 10m).
  const wantEjection = o.ejection === undefined ? null : duration(o.ejection, at('ejection'))
  const wantMax = o.max_ejection === undefined ? null : duration(o.max_ejection, at('max_ejection'))
  const ejection = wantEjection ?? Math.min(d.ejection, wantMax ?? Infinity)
  const out: Passive = {
    failures: o.failures === undefined ? d.failures : int(o.failures, at('failures'), 0, 1000),
    errors_5xx: o.errors_5xx === undefined ? d.errors_5xx : int(o.errors_5xx, at('errors_5xx'), 0, 1000),
    ejection,
    max_ejection: wantMax ?? Math.max(d.max_ejection, ejection),
    max_ejected_percent: o.max_ejected_percent === undefined ? d.max_ejected_percent : int(o.max_ejected_percent, at('max_ejected_percent'), 0, 100),
  }
  if (out.max_ejection < out.ejection) fail(at('max_ejection'), 'must not be shorter than ejection')
  return out
}

const UPSTREAM_KEYS = ['peers', 'keepalive', 'balance', 'hash_key', 'health', 'slow_start', 'passive', 'retries', 'retry_budget', 'seed', 'tls']

function upstream(name: string, v: unknown, path: string): Upstream {
  const o = object(v, path, UPSTREAM_KEYS)
  const at = (k: string): string => join(path, k)
  if (o.peers === undefined) fail(at('peers'), 'is required (a list of host:port)')
  const peers = list(o.peers, at('peers')).map((p, i) => peer(p, join(at('peers'), i)))
  // One address, one peer: its health and its share are one thing (use `weight` for a larger share).
  peers.forEach((p, i) => {
    const j = peers.findIndex((q) => q.host === p.host && q.port === p.port)
    if (j < i) fail(join(at('peers'), i), `repeats peers[${j}]; give that one a weight instead`)
  })
  const k = o.keepalive === undefined ? {} : object(o.keepalive, at('keepalive'), ['max_idle', 'idle_timeout'])
  const kp = at('keepalive')
  const d = DEFAULTS.upstream
  const balance = (o.balance === undefined ? d.balance : o.balance) as Balance
  if (!BALANCERS.includes(balance)) fail(at('balance'), `must be one of: ${BALANCERS.join(', ')}`)
  if (o.hash_key !== undefined && balance !== 'hash') fail(at('hash_key'), 'is only for balance: hash')
  if (o.seed !== undefined && balance !== 'random_two') fail(at('seed'), 'is only for balance: random_two')
  return {
    name,
    peers,
    keepalive: {
      max_idle: k.max_idle === undefined ? DEFAULTS.keepalive.max_idle : int(k.max_idle, join(kp, 'max_idle'), 0, 100_000),
      idle_timeout: k.idle_timeout === undefined ? DEFAULTS.keepalive.idle_timeout : duration(k.idle_timeout, join(kp, 'idle_timeout')),
    },
    balance,
    hash_key: o.hash_key === undefined ? d.hash_key : hashKey(o.hash_key, at('hash_key')),
    health: health(o.health, at('health')),
    slow_start: o.slow_start === undefined || o.slow_start === 0 ? d.slow_start : duration(o.slow_start, at('slow_start')),
    passive: passive(o.passive, at('passive')),
    retries: o.retries === undefined ? d.retries : int(o.retries, at('retries'), 0, 10),
    retry_budget: o.retry_budget === undefined ? d.retry_budget : fraction(o.retry_budget, at('retry_budget'), 0, 1),
    seed: o.seed === undefined ? null : int(o.seed, at('seed'), 1, 0xffffffff),
    ...(o.tls === undefined || o.tls === false ? {} : { tls: upstreamTls(o.tls, join(path, 'tls')) }),
  }
}

function route(v: unknown, path: string, upstreams: ReadonlyMap<string, Upstream>): Route {
  const o = object(v, path, ['host', 'path', 'upstream', 'ignore_case', ...FEATURE_KEYS])
  let host: string | null = null
  if (o.host !== undefined && o.host !== '*') {
    host = str(o.host, join(path, 'host')).toLowerCase()
    if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(host)) fail(join(path, 'host'), `"${host}" must be a host name, "*.suffix" or "*"`)
  }
  const p = o.path === undefined ? '/' : str(o.path, join(path, 'path'))
  if (!p.startsWith('/')) fail(join(path, 'path'), 'must start with "/"')
  const up = str(o.upstream, join(path, 'upstream'))
  if (!upstreams.has(up)) fail(join(path, 'upstream'), `unknown upstream "${up}"`)
  return { host, path: p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p, upstream: up, ignore_case: o.ignore_case === undefined ? false : bool(o.ignore_case, join(path, 'ignore_case')), features: features(o, path, `${host ?? '*'}${p}`) }
}

function logTarget(v: unknown, path: string, d: LogTarget): LogTarget {
  if (v === undefined) return d
  if (v === 'off' || v === false) return { path: 'off', format: d.format }
  const o = object(v, path, ['path', 'format'])
  const format = o.format === undefined ? d.format : o.format
  if (format !== 'json' && format !== 'text') fail(join(path, 'format'), 'must be "json" or "text"')
  return { path: o.path === undefined ? d.path : str(o.path, join(path, 'path')), format }
}

/** `workers`: a count, or "auto" for one per core. */
function workers(v: unknown): number {
  if (v === undefined) return DEFAULTS.workers
  if (v === 'auto') return availableParallelism()
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 256) fail('workers', 'must be "auto" or an integer from 1 to 256')
  return v
}

/** Most specific route first, so the first match wins (see Route). */
function specificity(r: Route): number {
  const hostRank = r.host === null ? 0 : r.host.startsWith('*.') ? 1 + r.host.length : 1000 + r.host.length
  return hostRank * 100_000 + r.path.length
}

const ZONE_SETTINGS = ['store', 'max_object_size'] as const

/**
 * Routes that name one cache zone share its store: a route (or `defaults`) that leaves the zone's
 * `store` or `max_object_size` unwritten takes what another wrote for that zone, as nginx's
 * locations name a `proxy_cache_path` set up once. Without this, one route's default would make
 * another's written setting a conflict (issue 15: a default never makes a valid setting invalid).
 * Each written value is checked where it is written first, so a refusal names the field the user
 * wrote, not a route it was copied to; and a store and an object size written on two routes must fit
 * together, checked at the object size. Returns a function that gives a raw route (or `defaults`,
 * with its path) with the settings filled in, a copy (the caller's objects are not changed); values
 * written differently are refused by cacheZones.
 */
function zoneSettings(raws: readonly [unknown, string][]): (raw: unknown) => unknown {
  const cacheOf = (raw: unknown): Obj | null => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null
    const c = (raw as Obj).cache
    if (c === true) return {}
    return c !== null && typeof c === 'object' && !Array.isArray(c) ? c as Obj : null
  }
  const zoneOf = (c: Obj): unknown => c.zone ?? 'default'
  // Per zone: the first value written of each setting, and where.
  const written = new Map<unknown, { values: Obj; at: Record<string, string> }>()
  for (const [raw, path] of raws) {
    const c = cacheOf(raw)
    if (c === null || ZONE_SETTINGS.every((k) => c[k] === undefined)) continue
    cache(c, join(path, 'cache'))
    const w = written.get(zoneOf(c)) ?? { values: {}, at: {} }
    for (const k of ZONE_SETTINGS) if (c[k] !== undefined && w.values[k] === undefined) { w.values[k] = c[k]; w.at[k] = path }
    written.set(zoneOf(c), w)
  }
  for (const w of written.values()) if (w.at.store !== undefined && w.at.max_object_size !== undefined && w.at.store !== w.at.max_object_size) cache(w.values, join(w.at.max_object_size, 'cache'))
  return (raw) => {
    const c = cacheOf(raw)
    const w = c === null ? undefined : written.get(zoneOf(c))?.values
    if (c === null || w === undefined || ZONE_SETTINGS.every((k) => c[k] !== undefined || w[k] === undefined)) return raw
    return { ...(raw as Obj), cache: { ...w, ...c } }
  }
}

/** Routes that name one cache zone share its store, so they must agree on how it is kept. */
function cacheZones(base: Features, routes: readonly Route[]): void {
  const seen = new Map<string, string>()
  const see = (c: CacheConfig | null | undefined, path: string): void => {
    if (c == null) return
    const settings = JSON.stringify([c.store, c.max_object_size])
    const before = seen.get(c.zone)
    if (before !== undefined && before !== settings) fail(`${path}.cache.store`, `zone "${c.zone}" is set up differently elsewhere (routes sharing a zone share its store and max_object_size)`)
    seen.set(c.zone, settings)
  }
  see(base.cache, 'defaults')
  routes.forEach((r, i) => see(r.features.cache, `routes[${i}]`))
}

export function validate(raw: unknown): Config {
  const o = object(raw ?? {}, '', ['listen', 'trusted_proxies', 'via', 'timeouts', 'limits', 'upstreams', 'routes', 'defaults', 'access_log', 'event_log', 'workers', 'admin', 'trace'])
  const listenRaw = o.listen === undefined ? DEFAULTS.listen : Array.isArray(o.listen) ? o.listen : [o.listen]
  if (listenRaw.length === 0) fail('listen', 'needs at least one address')
  const trusted = o.trusted_proxies === undefined ? [] : list(o.trusted_proxies, 'trusted_proxies').map((c, i) => {
    const s = str(c, `trusted_proxies[${i}]`)
    if (parseCidr(s) === null) fail(`trusted_proxies[${i}]`, `"${s}" is not an IP address or CIDR`)
    return s
  })
  const listen = listenRaw.map((a, i) => listener(a, `listen[${i}]`, trusted))
  const via = o.via === undefined ? DEFAULTS.via : str(o.via, 'via')
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(via)) fail('via', 'must be a token (RFC 9110 §5.6.2)')
  const upstreams = new Map<string, Upstream>()
  if (o.upstreams === undefined) fail('upstreams', 'is required (a mapping of name to peers)')
  const ups = object(o.upstreams, 'upstreams', Object.keys(o.upstreams as Obj ?? {}))
  for (const [name, u] of Object.entries(ups)) upstreams.set(name, upstream(name, u, `upstreams.${name}`))
  if (upstreams.size === 0) fail('upstreams', 'needs at least one upstream')
  const shared = zoneSettings([[o.defaults, 'defaults'], ...(Array.isArray(o.routes) ? o.routes : []).map((r, i): [unknown, string] => [r, `routes[${i}]`])])
  const base = featureDefaults(shared(o.defaults))
  let routes: Route[]
  if (o.routes === undefined) {
    if (upstreams.size !== 1) fail('routes', 'is required when there is more than one upstream')
    routes = [{ host: null, path: '/', upstream: [...upstreams.keys()][0], ignore_case: false, features: {} }]
  } else {
    routes = list(o.routes, 'routes').map((r, i) => route(shared(r), `routes[${i}]`, upstreams))
  }
  cacheZones(base, routes)
  routes.sort((a, b) => specificity(b) - specificity(a))
  return {
    listen,
    trusted_proxies: trusted,
    via,
    timeouts: timeouts(o.timeouts, 'timeouts'),
    limits: limits(o.limits, 'limits'),
    upstreams,
    routes,
    defaults: base,
    access_log: logTarget(o.access_log, 'access_log', DEFAULTS.access_log),
    event_log: logTarget(o.event_log, 'event_log', DEFAULTS.event_log),
    workers: workers(o.workers),
    admin: admin(o.admin),
    trace: trace(o.trace),
  }
}
