/**
 * The admin API's router: method and path to a handler, and the checks every call passes first.
 *
 * - An unknown path is 404; a known path with another method 405 with Allow (RFC 9110 §15.5.6).
 * - With `admin.token` or `admin.htpasswd` set, every call but /live and /ready needs credentials:
 *   `Authorization: Bearer TOKEN` (RFC 6750 §2.1) or Basic ones from the htpasswd file; else 401.
 * - A state change (POST) needs credentials always (a token or a password must be configured), and
 *   is refused (403) when a browser says it comes from another site: an `Origin` other than the API's
 *   own, or `Sec-Fetch-Site: cross-site`/`same-site` (Fetch Metadata). A page the operator visits
 *   cannot make their browser reload the proxy or drain a peer.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AdminConfig } from '../config/schema.js'
import { decoy, parseHash, type Credential } from '../config/htpasswd.js'
import { decodeBasic } from '../filters/auth/basic.js'
import type { Verifier, VerifyResult } from '../filters/auth/verify.js'
import type { AdminAnswer, AdminRequest } from './http.js'

/** Who may call: anyone (probes), a reader (credentials when configured), a writer (credentials always). */
export type Access = 'open' | 'read' | 'write'

export type Call = (r: AdminRequest, params: readonly string[]) => AdminAnswer | Promise<AdminAnswer>

interface Entry {
  readonly method: 'GET' | 'POST'
  /** The path; `{name}` segments match one segment each and are passed in order as params. */
  readonly pattern: RegExp
  readonly access: Access
  readonly call: Call
}

const REALM = 'rawproxy admin'

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

export function plain(status: number, body: string, fields = ''): AdminAnswer {
  return { status, body, fields }
}

/** A Host that names this machine by address or as localhost (with any port). */
const LOCAL_HOST = /^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(?::\d+)?$/i

export class Router {
  readonly #entries: Entry[] = []
  #token: Buffer | null = null
  #users = new Map<string, Credential>()
  readonly #verifier: Verifier

  constructor(verifier: Verifier) {
    this.#verifier = verifier
  }

  /** The credentials of a (re)loaded config. */
  configure(cfg: AdminConfig): void {
    this.#token = cfg.token === null ? null : digest(cfg.token)
    this.#users = new Map(cfg.users.map(([u, h]) => [u, parseHash(h, 'admin.htpasswd')]))
  }

  add(method: 'GET' | 'POST', path: string, access: Access, call: Call): void {
    const re = path.split('/').map((seg) => (/^\{\w+\}$/.test(seg) ? '([^/]+)' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')
    this.#entries.push({ method, pattern: new RegExp(`^${re}$`), access, call })
  }

  handle(r: AdminRequest): AdminAnswer | Promise<AdminAnswer> {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed.
    if (r.host === undefined || r.host === '') return plain(400, 'missing Host field\n')
    // Without credentials (loopback only), a page whose name was rebound to 127.0.0.1 (DNS
    // rebinding) could read the API: only an address or localhost is taken as the Host then.
    if (this.#token === null && this.#users.size === 0 && !LOCAL_HOST.test(r.host)) return plain(403, `Host ${r.host} is not this machine's address\n`)
    const matches = this.#entries.filter((e) => e.pattern.test(r.path))
    if (matches.length === 0) return plain(404, `no such admin endpoint: ${r.path}\n`)
    const e = matches.find((m) => m.method === r.method || (r.method === 'HEAD' && m.method === 'GET'))
    if (e === undefined) return plain(405, `${r.method} is not allowed here\n`, `Allow: ${[...new Set(matches.map((m) => m.method))].join(', ')}\r\n`)
    let params: string[]
    try { params = e.pattern.exec(r.path)!.slice(1).map((p) => decodeURIComponent(p)) } catch { return plain(400, 'bad percent-encoding in the path\n') }
    if (e.access === 'open') return e.call(r, params)
    if (e.access === 'write') {
      const refusal = this.#crossSite(r)
      if (refusal !== null) return refusal
      if (this.#token === null && this.#users.size === 0) return plain(403, 'state changes need admin.token or admin.htpasswd in the config\n')
    }
    const ok = this.#authorized(r)
    const go = (v: VerifyResult): AdminAnswer | Promise<AdminAnswer> =>
      v === 'ok' ? e.call(r, params) : v === 'busy' ? plain(503, 'busy, try again\n', 'Retry-After: 1\r\n') : this.#challenge()
    return ok instanceof Promise ? ok.then(go) : go(ok)
  }

  #challenge(): AdminAnswer {
    const schemes = [`Bearer realm="${REALM}"`, ...(this.#users.size > 0 ? [`Basic realm="${REALM}", charset="UTF-8"`] : [])]
    return plain(401, 'credentials required\n', schemes.map((s) => `WWW-Authenticate: ${s}\r\n`).join(''))
  }

  /** 'ok' when no credentials are configured, or the request has valid ones. */
  #authorized(r: AdminRequest): VerifyResult | Promise<VerifyResult> {
    if (this.#token === null && this.#users.size === 0) return 'ok'
    const a = r.authorization
    if (a === undefined) return 'bad'
    if (this.#token !== null && /^bearer /i.test(a)) {
      // Compared as digests: equal lengths for timingSafeEqual, and no timing leak of the length.
      return timingSafeEqual(digest(a.slice(7).trim()), this.#token) ? 'ok' : 'bad'
    }
    const basic = decodeBasic(a)
    const cred = basic === null ? undefined : this.#users.get(basic.user.normalize('NFC'))
    if (basic === null) return 'bad'
    // An unknown user costs as much as a wrong password (no user enumeration by timing).
    if (cred === undefined) return this.#verifier.verifyUnknown(basic.password, decoy(this.#users))
    return this.#verifier.verify(basic.password, cred)
  }

  /** A browser's request from another site (CSRF), refused before anything else. */
  #crossSite(r: AdminRequest): AdminAnswer | null {
    if (r.fetchSite !== undefined && r.fetchSite !== 'same-origin' && r.fetchSite !== 'none') return plain(403, `cross-site request refused (Sec-Fetch-Site: ${r.fetchSite})\n`)
    if (r.origin === undefined) return null
    let host = ''
    try { host = new URL(r.origin).host } catch { /* "null" or garbage: not ours */ }
    if (host === '' || host !== r.host) return plain(403, `cross-site request refused (Origin: ${r.origin})\n`)
    return null
  }
}
