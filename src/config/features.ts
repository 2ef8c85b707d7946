/**
 * The features a route (or `defaults:`) may turn on, each a key of the route: `headers`, `access`,
 * `auth`, `rules`, `rate_limit`, `cache`, `compress`, and the request limits `methods`, `max_body`, `max_headers`. Validated here into
 * plain data (it crosses the cluster's JSON channel whole); src/filters/ compiles each into a filter.
 *
 * A route's key replaces the default's key whole (`auth: false` turns a default off on one route).
 * Every key is present on a validated route: null means "off", so the object keeps one shape.
 */
import { fail, int, join, list, object, size, str } from './validate.js'
import { headers } from './headers.js'
import { access } from './access.js'
import { auth } from './auth.js'
import { rules } from './rules.js'
import { Template, method } from './template.js'
import { RateLimitConfig, rateLimit } from './rate-limit.js'
import { CacheConfig, cache } from './cache.js'
import { CompressConfig, compress } from './compress.js'

/** `set`, `add` and `remove` of one side (request or response). Values are templates (config/template.ts). */
export interface HeaderOps {
  /** [name as written, value template]: fields of that name are removed, then this one added. */
  readonly set: readonly (readonly [string, Template])[]
  /** [name as written, value template]: added after the received fields. */
  readonly add: readonly (readonly [string, Template])[]
  /** Lower-case names removed. */
  readonly remove: readonly string[]
}

export interface HeadersConfig {
  readonly request: HeaderOps
  readonly response: HeaderOps
  /** The request ID field's name (`request_id: true` is X-Request-ID), or null: no request IDs. */
  readonly request_id: string | null
}

export interface AccessConfig {
  /** CIDRs, inline and from `allow_file` (read at load and on each reload). */
  readonly allow: readonly string[]
  readonly deny: readonly string[]
  /** For an address no entry covers. Default: deny when there is an allow list, else allow. */
  readonly default: 'allow' | 'deny'
}

export interface AuthConfig {
  /** RFC 7617 §2: the protection space named in WWW-Authenticate. */
  readonly realm: string
  /** [user, stored hash], from `users:` and the `htpasswd` file (checked at load: config/auth.ts). */
  readonly users: readonly (readonly [string, string])[]
  /** Keep Authorization on the request to the peer (default: removed). */
  readonly forward_credentials: boolean
  /** Failed attempts allowed per client address (brute force), or null: not limited. */
  readonly failures: AuthFailures | null
}

/** `count` failures per `per` ms, with `burst` more at once (filters/auth/failures.ts). */
export interface AuthFailures {
  readonly count: number
  readonly per: number
  readonly burst: number
}

/** How a header or query parameter is matched: present (true), absent (false), equal, or a regex. */
export type ValueMatch = boolean | { readonly equals: string } | { readonly regex: string }

export interface RuleMatch {
  readonly methods: readonly string[] | null
  /** path, path_glob and path_regex without regard to case (for peers that route so, like Express). */
  readonly ignore_case: boolean
  /** Prefix on whole segments, as routes; all three path forms match the normalised path. */
  readonly path: string | null
  /** `*` within a segment, `**` across, `?` one character (filters/glob.ts). */
  readonly path_glob: string | null
  readonly path_regex: string | null
  /** Exact or "*.suffix", lower-case; any of them. */
  readonly host: readonly string[] | null
  /** Lower-case field name → match; all of them. */
  readonly headers: readonly (readonly [string, ValueMatch])[] | null
  readonly query: readonly (readonly [string, ValueMatch])[] | null
  /** CIDRs of the real client address; any of them. */
  readonly client: readonly string[] | null
}

export interface Rule {
  readonly match: RuleMatch
  readonly action: 'deny' | 'allow' | 'redirect' | 'respond'
  /** deny: 4xx/5xx; redirect: 301, 302, 303, 307 or 308; respond: 200-599. 0 for allow. */
  readonly status: number
  /** redirect: the Location template. */
  readonly location: Template | null
  /** deny and respond: the body (text/plain); null: the status line's text. */
  readonly body: string | null
}

export interface Features {
  readonly headers: HeadersConfig | null
  readonly access: AccessConfig | null
  readonly auth: AuthConfig | null
  readonly rules: readonly Rule[] | null
  /** Limits on the rate and on requests in progress (config/rate-limit.ts). */
  readonly rate_limit: RateLimitConfig | null
  /** An RFC 9111 shared cache (config/cache.ts). */
  readonly cache: CacheConfig | null
  /** Response compression, RFC 9110 §12.5.3 negotiation (config/compress.ts). */
  readonly compress: CompressConfig | null
  /** Methods served; others get 405 with Allow (RFC 9110 §15.5.6). */
  readonly methods: readonly string[] | null
  /** Bytes of request content; more gets 413 (RFC 9110 §15.5.14). */
  readonly max_body: number | null
  /** Header fields in a request; more gets 431 (RFC 6585 §5). */
  readonly max_headers: number | null
}

export const FEATURE_KEYS = ['headers', 'access', 'auth', 'rules', 'rate_limit', 'cache', 'compress', 'methods', 'max_body', 'max_headers'] as const

export const NO_FEATURES: Features = {
  headers: null, access: null, auth: null, rules: null, rate_limit: null, cache: null, compress: null, methods: null, max_body: null, max_headers: null,
}

function methods(v: unknown, path: string): string[] {
  const out = list(v, path).map((m, i) => method(str(m, join(path, i)), join(path, i)))
  if (out.length === 0) fail(path, 'needs at least one method')
  // RFC 9110 §9.3.2: a server that serves GET serves HEAD too, with the same head.
  if (out.includes('GET') && !out.includes('HEAD')) out.push('HEAD')
  return [...new Set(out)]
}

/** The feature keys a route sets itself (null: turned off there); the others come from `defaults`. */
export type OwnFeatures = { -readonly [K in keyof Features]?: Features[K] }

/**
 * Validates the feature keys present in `o` (a route, or `defaults`). `scope` names the route (its
 * host and path) or "defaults": the namespace of its rate-limit counters.
 */
export function features(o: Record<string, unknown>, path: string, scope = path): OwnFeatures {
  const out: OwnFeatures = {}
  const read = <K extends keyof Features>(k: K, fn: (v: unknown, p: string) => NonNullable<Features[K]>): void => {
    if (o[k] !== undefined) out[k] = o[k] === false || o[k] === 'off' ? null : fn(o[k], join(path, k))
  }
  read('headers', headers)
  read('access', access)
  read('auth', auth)
  read('rules', rules)
  read('rate_limit', (v, p) => rateLimit(v, p, scope))
  read('cache', cache)
  read('compress', compress)
  read('methods', methods)
  read('max_body', size)
  read('max_headers', (v, p) => int(v, p, 1, 10_000))
  return out
}

/** The top-level `defaults:` mapping: the same keys, for every route that does not set its own. */
export function defaults(v: unknown): Features {
  if (v === undefined) return NO_FEATURES
  return merge(NO_FEATURES, features(object(v, 'defaults', FEATURE_KEYS), 'defaults'))
}

/** A route's features: its own keys, each replacing the default's whole, and the defaults' others. */
export function merge(base: Features, own: OwnFeatures): Features {
  return { ...base, ...own }
}
