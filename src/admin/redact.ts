/**
 * GET /config: the running config as JSON, its secrets replaced: the admin token, password hashes
 * (admin and auth users), private keys (PEM text read from key files; the files' paths stay), and the
 * password of a URL (a Redis store's, in its userinfo or its query), and the values of header rules and
 * matches on credential-like fields (Authorization, *-Key, *Token*, Cookie...). Certificates are public but long: shown as their file names.
 */
import type { Config } from '../config/schema.js'
import { redact as redactUrl } from '../filters/rate-limit/redis-store.js'

const HIDDEN = '<redacted>'
/** Field names whose values are credentials (a header rule that sets `Authorization`, matches an API key...). */
const SENSITIVE = /auth|key|token|secret|cookie|pass|session|signature/i

function walk(v: unknown, key: string): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, walk(x, String(k))]))
  if (Array.isArray(v)) {
    // users: [[name, hash], ...]: the names stay.
    if (key === 'users') return v.map((u) => (Array.isArray(u) ? [u[0], HIDDEN] : HIDDEN))
    // [name, value] pairs (header rules, matches): the value of a credential-like field is hidden.
    return v.map((x) => (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && SENSITIVE.test(x[0]) ? [x[0], HIDDEN] : walk(x, key)))
  }
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]))
  if (typeof v !== 'string') return v
  if (key === 'token' || key === 'key' || key === 'password') return HIDDEN
  if (key === 'url') return redactUrl(v)
  if (v.startsWith('-----BEGIN')) return v.includes('PRIVATE KEY') ? HIDDEN : `<PEM, ${v.length} bytes>`
  return v
}

export function redacted(c: Config): unknown {
  return walk(c, '')
}
