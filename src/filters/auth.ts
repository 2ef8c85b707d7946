/**
 * `auth`: HTTP Basic authentication (RFC 7617). A request without valid credentials gets 401 with
 * `WWW-Authenticate: Basic realm="...", charset="UTF-8"` (§2, §2.1); a malformed Authorization is
 * the same 401, never a fault. The user is `x.user`, for `{user}`, later filters and the access log;
 * Authorization is removed before forwarding unless `forward_credentials`.
 *
 * The cost stays off the event loop (auth/verify.ts: bcrypt and apr1 in one worker thread, a bounded
 * queue whose overflow answers 503); a client that sends the same credentials again hits the cache of
 * verified ones (auth/cache.ts: a keyed SHA-256 and a Map lookup, under 1 µs). An unknown user is verified against
 * a decoy credential, so it costs what a wrong password costs.
 *
 * Order 40: after access, the limits and the rules (a redirect or a health answer asks no password).
 */
import type { AuthConfig } from '../config/features.js'
import { Credential, decoy, parseHash } from '../config/htpasswd.js'
import { NameSet, name } from '../http/head.js'
import type { EventLog } from '../log/events.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import type { HeadEdit } from '../proxy/head-edit.js'
import { Reply } from '../proxy/reply.js'
import { decodeBasic } from './auth/basic.js'
import { CredentialCache } from './auth/cache.js'
import { Verifier, VerifyResult } from './auth/verify.js'

const AUTHORIZATION = name('authorization')
const DROP = new NameSet(['authorization'])
/** Not checked now (the verifier's queue is full): a fault of ours, so not a 401 (RFC 9110 §15.6.4). */
const BUSY = new Reply(503, 'Retry-After: 1\r\n', null, 'PA')
/** RFC 6585 §4: this client has PER_CLIENT checks waiting already. */
const TOO_MANY = new Reply(429, 'Retry-After: 1\r\n', null, 'PA')
/**
 * Password checks one client address may have waiting at once. The verifier's queue is shared by
 * everyone: without a bound per client, one client guessing in parallel would fill it, and every new
 * login of everybody else would get 503 (found in review).
 */
const PER_CLIENT = 2
const waiting = new Map<string, number>()

/** One per process, for every route and config: a worker thread and the credentials it verified. */
let verifier: Verifier | null = null
const cache = new CredentialCache()

function verifierFor(events: EventLog | null): Verifier {
  return verifier ??= new Verifier({ onFault: (err) => events?.log('error', 'auth verifier failed', { error: err.message }) })
}

class Auth implements FilterFactory, Filter {
  readonly name = 'auth'
  readonly order = 40
  readonly #users: ReadonlyMap<string, Credential>
  readonly #decoy: Credential | null
  readonly #challenge: Reply
  readonly #forward: boolean
  readonly #verifier: Verifier

  constructor(cfg: AuthConfig, v: Verifier) {
    // The hashes were checked at load (config/auth.ts): parsed again here, in this process.
    this.#users = new Map(cfg.users.map(([u, h]) => [u, parseHash(h, 'auth')]))
    this.#decoy = decoy(this.#users)
    this.#challenge = new Reply(401, `WWW-Authenticate: Basic realm="${cfg.realm}", charset="UTF-8"\r\n`, null, 'PA')
    this.#forward = cfg.forward_credentials
    this.#verifier = v
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    const h = x.head
    const i = h.find(AUTHORIZATION)
    // Authorization is a single value (RFC 9110 §11.6.2): two of them are no credentials.
    if (i < 0 || h.find(AUTHORIZATION, i + 1) >= 0) return this.#challenge
    const value = h.value(i)
    const seen = cache.get(value)
    // A hit counts only while the user's stored hash is still the one the password was checked against.
    if (seen !== undefined && this.#users.get(seen.user)?.hash === seen.hash) { x.user = seen.user; return undefined }
    const c = decodeBasic(value)
    if (c === null) return this.#challenge
    const cred = this.#users.get(c.user)
    const who = x.clientIp
    const n = waiting.get(who) ?? 0
    if (n >= PER_CLIENT) return TOO_MANY
    const r = this.#check(c.password, cred)
    if (typeof r === 'string') return this.#verdict(x, value, c.user, cred, r)
    waiting.set(who, n + 1)
    return r.then((v) => {
      const left = waiting.get(who)! - 1
      if (left === 0) waiting.delete(who)
      else waiting.set(who, left)
      return this.#verdict(x, value, c.user, cred, v)
    })
  }

  /**
   * The password against the user's stored hash, or against the decoy for an unknown user. A wrong
   * password of a user whose format is cheaper than the decoy's is followed by a decoy check too, so
   * that the time of a refusal never tells a user of the file from an unknown one (a file that mixes
   * bcrypt and {SHA} users would otherwise).
   */
  #check(password: string, cred: Credential | undefined): VerifyResult | Promise<VerifyResult> {
    const v = this.#verifier
    if (cred === undefined) return v.verifyUnknown(password, this.#decoy)
    const r = v.verify(password, cred)
    const decoy = this.#decoy
    if (decoy === null || cred.work >= decoy.work) return r
    const pad = (got: VerifyResult): VerifyResult | Promise<VerifyResult> => got === 'bad' ? v.verifyUnknown(password, decoy) : got
    return typeof r === 'string' ? pad(r) : r.then(pad)
  }

  #verdict(x: Exchange, value: string, user: string, cred: Credential | undefined, r: VerifyResult): Reply | undefined {
    if (r === 'busy') return BUSY
    if (r === 'bad' || cred === undefined) return this.#challenge
    cache.add(value, user, cred.hash)
    x.user = user
    return undefined
  }

  upstreamHead(_x: Exchange, e: HeadEdit): void {
    if (!this.#forward) e.remove(DROP)
  }
}

/** Routes that inherit one `auth` from `defaults` share one compiled filter. */
const built = new WeakMap<AuthConfig, Auth>()

export const auth: FilterKind = {
  name: 'auth',
  compile: (f, ctx) => {
    if (f.auth === null) return null
    let a = built.get(f.auth)
    if (a === undefined) built.set(f.auth, a = new Auth(f.auth, verifierFor(ctx.events)))
    return a
  },
}
