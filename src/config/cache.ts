/**
 * The `cache` key of a route or of `defaults`: an RFC 9111 shared cache in front of the route's
 * upstream (src/filters/cache/). Validated into plain data (it crosses the cluster channel whole).
 *
 *   cache:
 *     zone: main                  # routes naming one zone share its store (default "default")
 *     store: { memory: { max_size: 256m } }        # or { disk: { path: /var/cache/rawproxy, max_size: 10g } }
 *     max_object_size: 8m
 *     key: { headers: [X-Tenant], cookies: [lang] } # added to scheme, host, path and query
 *     heuristic: { percent: 10, max: 1d }           # RFC 9111 §4.2.2, only with Last-Modified
 *     lock_timeout: 5s             # collapsed requests wait this long for the first one's head
 *     stale_if_down: 1h            # serve stale up to this old when no peer can answer
 *     purge: { allow: [127.0.0.1/32] }              # the PURGE method, from these clients only
 */
import { parseCidr } from './cidr.js'
import { duration, fail, int, join, list, object, size, str } from './validate.js'

export type CacheStoreConfig =
  | { readonly memory: { readonly max_size: number } }
  | { readonly disk: { readonly path: string; readonly max_size: number } }

export interface CacheConfig {
  /** The store's name: routes with the same zone share one store (and must agree on it). */
  readonly zone: string
  /** Left out: memory, 256m (a disk store's max_size: 1g); either at least a max_object_size written. */
  readonly store: CacheStoreConfig
  /** A response longer than this is not stored (dropped as soon as it crosses it). Left out: 8m, at most the store's max_size. */
  readonly max_object_size: number
  /** Request fields (lower-case) and cookies added to the key (scheme, host, path and query). */
  readonly key_headers: readonly string[]
  readonly key_cookies: readonly string[]
  /** RFC 9111 §4.2.2: a fraction of the time since Last-Modified, in percent, and its cap in ms. */
  readonly heuristic_percent: number
  readonly heuristic_max: number
  /** Collapsed requests wait this long (ms) for the first one's response head; 0: no collapsing. */
  readonly lock_timeout: number
  /** Serve a stale entry up to this many ms past its freshness when no peer can answer; 0: never. */
  readonly stale_if_down: number
  /** CIDRs allowed to send PURGE; null: the method is not handled (forwarded like any other). */
  readonly purge_allow: readonly string[] | null
}

const DAY = 86_400_000
export const CACHE_DEFAULTS = {
  max_size: 256 * 1024 * 1024,
  disk_max_size: 1024 ** 3,
  max_object_size: 8 * 1024 * 1024,
  heuristic_percent: 10,
  heuristic_max: DAY,
  lock_timeout: 5000,
}

const KEYS = ['zone', 'store', 'max_object_size', 'key', 'heuristic', 'lock_timeout', 'stale_if_down', 'purge']
/** RFC 9110 §5.1: a field name is a token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function cache(v: unknown, path: string): CacheConfig {
  const o = object(v === true ? {} : v, path, KEYS)
  const at = (k: string): string => join(path, k)
  const wantObject = o.max_object_size === undefined ? null : size(o.max_object_size, at('max_object_size'))
  // Each size left out yields to the one written: the store's default grows to hold the largest object,
  // the object's default shrinks to the store.
  const store = storeOf(o.store, at('store'), wantObject ?? 0)
  const budget = 'memory' in store ? store.memory.max_size : store.disk.max_size
  const maxObject = wantObject ?? Math.min(CACHE_DEFAULTS.max_object_size, budget)
  if (maxObject < 1) fail(at('max_object_size'), 'must be at least 1 byte (leave the cache off instead)')
  if (maxObject > budget) fail(at('max_object_size'), `must not be larger than the store's max_size (${budget})`)
  const key = o.key === undefined ? {} : object(o.key, at('key'), ['headers', 'cookies'])
  const names = (k: 'headers' | 'cookies', re: RegExp): string[] => key[k] === undefined ? [] : list(key[k], join(at('key'), k)).map((n, i) => {
    const s = str(n, join(join(at('key'), k), i))
    if (!re.test(s)) fail(join(join(at('key'), k), i), 'must be a field or cookie name (an RFC 9110 token)')
    return k === 'headers' ? s.toLowerCase() : s
  })
  const h = o.heuristic === undefined ? {} : object(o.heuristic, at('heuristic'), ['percent', 'max'])
  const purge = o.purge === undefined ? null : object(o.purge, at('purge'), ['allow'])
  return {
    zone: o.zone === undefined ? 'default' : str(o.zone, at('zone')),
    store,
    max_object_size: maxObject,
    key_headers: names('headers', TOKEN),
    key_cookies: names('cookies', TOKEN),
    heuristic_percent: h.percent === undefined ? CACHE_DEFAULTS.heuristic_percent : int(h.percent, join(at('heuristic'), 'percent'), 0, 100),
    heuristic_max: h.max === undefined ? CACHE_DEFAULTS.heuristic_max : days(h.max, join(at('heuristic'), 'max')),
    lock_timeout: o.lock_timeout === undefined ? CACHE_DEFAULTS.lock_timeout : zero(o.lock_timeout) ? 0 : duration(o.lock_timeout, at('lock_timeout')),
    stale_if_down: o.stale_if_down === undefined || zero(o.stale_if_down) ? 0 : days(o.stale_if_down, at('stale_if_down')),
    purge_allow: purge === null ? null : list(purge.allow ?? [], join(at('purge'), 'allow')).map((c, i) => {
      const p = join(join(at('purge'), 'allow'), i)
      if (parseCidr(str(c, p)) === null) fail(p, 'must be an address or CIDR such as 10.0.0.0/8')
      return c as string
    }),
  }
}

/** `largest`: the max_object_size written (0: none), which a default max_size is never below. */
function storeOf(v: unknown, path: string, largest: number): CacheStoreConfig {
  const memory = Math.max(CACHE_DEFAULTS.max_size, largest)
  if (v === undefined || v === 'memory') return { memory: { max_size: memory } }
  const o = object(v, path, ['memory', 'disk'])
  if ((o.memory === undefined) === (o.disk === undefined)) fail(path, 'must name one store: memory or disk')
  if (o.memory !== undefined) {
    const m = object(o.memory ?? {}, join(path, 'memory'), ['max_size'])
    return { memory: { max_size: m.max_size === undefined ? memory : positive(m.max_size, join(join(path, 'memory'), 'max_size')) } }
  }
  const d = object(o.disk, join(path, 'disk'), ['path', 'max_size'])
  const p = str(d.path, join(join(path, 'disk'), 'path'))
  if (!p.startsWith('/')) fail(join(join(path, 'disk'), 'path'), 'must be an absolute path')
  const disk = Math.max(CACHE_DEFAULTS.disk_max_size, largest)
  return { disk: { path: p, max_size: d.max_size === undefined ? disk : positive(d.max_size, join(join(path, 'disk'), 'max_size')) } }
}

/** 0, "0", "0s", "0ms": off. */
function zero(v: unknown): boolean {
  return v === 0 || (typeof v === 'string' && /^0+(ms|s|m|h|d)?$/.test(v.trim()))
}

function positive(v: unknown, path: string): number {
  const n = size(v, path)
  if (n < 1024) fail(path, 'must be at least 1k')
  return n
}

/** A duration that may run to days: "30d", or what config durations take (up to 24h). */
function days(v: unknown, path: string): number {
  const m = typeof v === 'string' ? /^(\d+)d$/.exec(v.trim()) : null
  if (m === null) return duration(v, path)
  const n = Number(m[1])
  if (n < 1 || n > 3650) fail(path, 'must be from 1d to 3650d')
  return n * 86_400_000
}
