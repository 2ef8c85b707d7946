/**
 * The `admin` key: the admin API's own listener (src/admin/), off unless set.
 *
 *   admin: { listen: "127.0.0.1:9901", token: "...", htpasswd: /etc/rawproxy/admin.htpasswd }
 *
 * A listener on an address other than loopback must have a token or an htpasswd file: the API can
 * reload the config and take peers out of service, and shows the config (issue 13).
 */
import { isIP } from 'node:net'
import type { AdminConfig } from './schema.js'
import { address, fail, join, object, str } from './validate.js'
import { readHtpasswd } from './htpasswd.js'

/** Loopback only: 127.0.0.0/8, ::1, or the name localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

export function admin(v: unknown): AdminConfig | null {
  if (v === undefined || v === false) return null
  const path = 'admin'
  const o = object(v, path, ['listen', 'token', 'htpasswd'])
  if (o.listen === undefined) fail(join(path, 'listen'), 'is required (host:port)')
  const listen = address(o.listen, join(path, 'listen'), '0.0.0.0')
  const token = o.token === undefined ? null : str(o.token, join(path, 'token'))
  // RFC 6750 §2.1: a bearer token is b64token characters; 16 at least, so it cannot be guessed.
  if (token !== null && !/^[A-Za-z0-9\-._~+/]{16,}=*$/.test(token)) fail(join(path, 'token'), 'must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (RFC 6750 §2.1)')
  const htpasswd = o.htpasswd === undefined ? null : str(o.htpasswd, join(path, 'htpasswd'))
  const users = htpasswd === null ? [] : [...readHtpasswd(htpasswd, join(path, 'htpasswd'))].map(([u, c]): [string, string] => [u, c.hash])
  // A file without a user would stand for a password and check none: the API would be open.
  if (htpasswd !== null && users.length === 0) fail(join(path, 'htpasswd'), 'has no user (an empty file would leave the API open)')
  if (!isLoopback(listen.host) && token === null && htpasswd === null) {
    fail(join(path, 'listen'), `${listen.host} is not a loopback address: set admin.token or admin.htpasswd`)
  }
  return { listen, token, htpasswd, users }
}
