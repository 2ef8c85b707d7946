/**
 * GET /config: the running config as JSON, its secrets replaced: the admin token, password hashes
 * (admin and auth users), private keys (PEM text read from key files; the files' paths stay), and the
 * password of a URL (a Redis store's). Certificates are public but long: shown as their file names.
 */
import type { Config } from '../config/schema.js'
import { redact as redactUrl } from '../filters/rate-limit/redis-store.js'

const HIDDEN = '<redacted>'

function walk(v: unknown, key: string): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, walk(x, String(k))]))
  if (Array.isArray(v)) {
    // users: [[name, hash], ...]: the names stay.
    if (key === 'users') return v.map((u) => (Array.isArray(u) ? [u[0], HIDDEN] : HIDDEN))
    return v.map((x) => walk(x, key))
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
