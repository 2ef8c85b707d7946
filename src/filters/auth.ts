/**
 * `auth`: HTTP Basic authentication (RFC 7617). A request without valid credentials gets 401 with
 * `WWW-Authenticate: Basic realm="...", charset="UTF-8"` (§2, §2.1); a malformed Authorization is
 * the same 401, never a fault. The user is `x.user`, for `{user}`, later filters and the access log;
 * Authorization is removed before forwarding unless `forward_credentials`.
 *
 * The cost stays off the event loop (auth/verify.ts: bcrypt and apr1 in one worker thread, a bounded
 * queue whose overflow answers 503); a client that sends the same credentials again hits the cache of
 * verified ones (auth/cache.ts: a keyed SHA-256 and a Map lookup, under 1 µs). No client may fill the
 * queue alone (429), and a refusal takes the time of the costliest one (auth/admission.ts). An unknown
 * user is verified against a decoy credential, so it costs what a wrong password costs. Failed
 * attempts are rate limited per client address (auth/failures.ts: 429 once over `failures`).
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
import { Admission, RefusalTime, clientKey } from './auth/admission.js'
import { Failures } from './auth/failures.js'
import { failureStore } from './rate-limit/stores.js'

const AUTHORIZATION = name('authorization')
const DROP = new NameSet(['authorization'])
/** Not checked now (the verifier's queue is full): a fault of ours, so not a 401 (RFC 9110 §15.6.4). */
const BUSY = new Reply(503, 'Retry-After: 1\r\n', null, 'PA')
/** RFC 6585 §4: this client has its share of the verifier waiting already (auth/admission.ts). */
const TOO_MANY = new Reply(429, 'Retry-After: 1\r\n', null, 'PA')

/** One per process, for every route and config: a worker thread, the checks it runs, the credentials it verified. */
let verifier: Verifier | null = null
let admission: Admission | null = null
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
  readonly #admission: Admission
  readonly #refusal: RefusalTime
  readonly #failures: Failures | null

  constructor(cfg: AuthConfig, v: Verifier, failures: Failures | null) {
    // The hashes were checked at load (config/auth.ts): parsed again here, in this process.
    this.#users = new Map(cfg.users.map(([u, h]) => [u, parseHash(h, 'auth')]))
    this.#decoy = decoy(this.#users)
    this.#challenge = new Reply(401, `WWW-Authenticate: Basic realm="${cfg.realm}", charset="UTF-8"\r\n`, null, 'PA')
    this.#forward = cfg.forward_credentials
    this.#verifier = v
    this.#admission = admission ??= new Admission(v)
    this.#refusal = new RefusalTime(this.#decoy?.work ?? 0)
    this.#failures = failures
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    const h = x.head
    const i = h.find(AUTHORIZATION)
    // Authorization is a single value (RFC 9110 §11.6.2): two of them are no credentials.
    if (i < 0 || h.find(AUTHORIZATION, i + 1) >= 0) return this.#challenge
    const value = h.value(i)
    const key = cache.key(value)
    const seen = cache.get(key)
    // A hit counts only while the user's stored hash is still the one the password was checked against.
    if (seen !== undefined && this.#users.get(seen.user)?.hash === seen.hash) { x.user = seen.user; return undefined }
    const c = decodeBasic(value)
    if (c === null) return this.#challenge
    const client = clientKey(x.clientIp)
    const f = this.#failures
    if (f === null) return this.#verify(x, key, c.user, c.password, client)
    const gate = f.check(client)
    if (gate instanceof Promise) return gate.then((r) => r ?? (x.finished ? undefined : this.#verify(x, key, c.user, c.password, client)))
    return gate ?? this.#verify(x, key, c.user, c.password, client)
  }

  #verify(x: Exchange, key: string, user: string, password: string, client: string): Reply | undefined | Promise<Reply | undefined> {
    const cred = this.#users.get(user)
    const started = performance.now()
    const against = cred ?? this.#decoy
    // One check per value and stored hash: two routes with other files never share a verdict.
    const r = this.#admission.admit(client, `${key}\u0000${against?.hash ?? ''}`, against?.work ?? 0, () => this.#check(password, cred))
    if (r === null) { this.#failures?.succeeded(client); return TOO_MANY } // no check ran: nothing failed
    if (typeof r === 'string') return this.#verdict(x, key, user, cred, r, started, client)
    return r.then((v) => this.#verdict(x, key, user, cred, v, started, client))
  }

  /** The password against the user's stored hash, or against the decoy for an unknown user. */
  #check(password: string, cred: Credential | undefined): VerifyResult | Promise<VerifyResult> {
    return cred === undefined ? this.#verifier.verifyUnknown(password, this.#decoy) : this.#verifier.verify(password, cred)
  }

  #verdict(x: Exchange, key: string, user: string, cred: Credential | undefined, r: VerifyResult, started: number, client: string): Reply | undefined | Promise<Reply | undefined> {
    if (r === 'busy') { this.#failures?.succeeded(client); return BUSY }
    if (r === 'ok' && cred !== undefined) {
      cache.add(key, user, cred.hash)
      x.user = user
      this.#failures?.succeeded(client)
      return undefined
    }
    // A refusal: timed when it checked the decoy's format and cost, padded to that time when not.
    if (cred === undefined || cred.work === this.#decoy?.work) { this.#refusal.observe(performance.now() - started); return this.#challenge }
    return this.#refusal.pad(started, this.#challenge)
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
    if (a === undefined) {
      const fl = f.auth.failures === null ? null : new Failures(f.auth.failures, failureStore(), f.auth.realm)
      built.set(f.auth, a = new Auth(f.auth, verifierFor(ctx.events), fl))
    }
    return a
  },
}
