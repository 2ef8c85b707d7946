/**
 * The `auth` key: HTTP Basic authentication (RFC 7617) against users from an htpasswd file (read at
 * load and again on each reload) and/or inline `users: {NAME: HASH}`. Every stored hash is checked
 * here: bcrypt, Apache `$apr1$`, `{SHA}` and `{SSHA}` are accepted; anything else (DES crypt, plain
 * text, SHA-crypt) refuses the config with the reason (config/htpasswd.ts).
 */
import type { AuthConfig, AuthFailures } from './features.js'
import { DEFAULTS } from './schema.js'
import { fail, int, join, object, str } from './validate.js'
import { parseHash, readHtpasswd } from './htpasswd.js'
import { rate } from './rate-limit.js'

export function auth(v: unknown, path: string): AuthConfig {
  const o = object(v, path, ['realm', 'htpasswd', 'users', 'forward_credentials', 'failures'])
  const at = (k: string): string => join(path, k)
  const realm = o.realm === undefined ? DEFAULTS.auth.realm : str(o.realm, at('realm'))
  // RFC 7617 §2 / RFC 9110 §11.2: the realm is a quoted-string; we keep it to text that needs no escaping.
  if (!/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(realm)) fail(at('realm'), 'must be visible ASCII without " or \\')
  const users = new Map<string, string>()
  if (o.htpasswd !== undefined) {
    // User names in NFC, as the Basic credentials are read (filters/auth/basic.ts, RFC 8265 §3.3).
    for (const [user, cred] of readHtpasswd(str(o.htpasswd, at('htpasswd')), at('htpasswd'))) users.set(user.normalize('NFC'), cred.hash)
  }
  if (o.users !== undefined) {
    const u = object(o.users, at('users'), Object.keys((o.users ?? {}) as object))
    for (const [user, hash] of Object.entries(u)) {
      // RFC 7617 §2: the user-id cannot contain a colon, nor a control character.
      if (user === '' || user.includes(':') || /[\x00-\x1f\x7f]/.test(user)) fail(join(at('users'), JSON.stringify(user).slice(1, -1)), 'a user name must be non-empty and hold no ":" or control character (RFC 7617 §2)')
      users.set(user.normalize('NFC'), parseHash(str(hash, join(at('users'), user)), join(at('users'), user)).hash)
    }
  }
  if (users.size === 0) fail(path, 'needs users: an htpasswd file or a users mapping')
  if (o.forward_credentials !== undefined && typeof o.forward_credentials !== 'boolean') fail(at('forward_credentials'), 'must be true or false')
  return { realm, users: [...users], forward_credentials: o.forward_credentials === true, failures: failures(o.failures, at('failures')) }
}

/** `failures: { rate: 10/m, burst: 9 }` (the default: ten at once, then one every 6 s), or false. */
function failures(v: unknown, path: string): AuthFailures | null {
  if (v === false || v === 'off') return null
  const d = DEFAULTS.auth.failures
  const o = v === undefined ? {} : object(v, path, ['rate', 'burst'])
  const r = o.rate === undefined ? d.rate : rate(o.rate, join(path, 'rate'))
  return { count: r.count, per: r.per, burst: o.burst === undefined ? d.burst : int(o.burst, join(path, 'burst'), 0, 1_000_000) }
}
