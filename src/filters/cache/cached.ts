/**
 * The cache's part in one exchange (RFC 9111 §4): look the request up, serve a stored response when
 * it may be used, else send the request on (with validators, to revalidate a stale entry, §4.3.1),
 * and store what comes back when §3 allows, as it streams to the client. Unsafe methods invalidate
 * (§4.4); PURGE from an allowed client removes. Every response says what happened in Cache-Status.
 */
import { NameSet, name } from '../../http/head.js'
import { GET, HEAD } from '../../http/methods.js'
import type { Exchange } from '../../proxy/exchange.js'
import type { Filter } from '../../proxy/filter.js'
import type { HeadEdit } from '../../proxy/head-edit.js'
import { Reply, StoredReply } from '../../proxy/reply.js'
import type { ProxyError } from '../../errors.js'
import { Directives, INVALID, directives } from './directives.js'
import { Entry, ageOf } from './entry.js'
import type { Fill } from './fill.js'
import { head304, notModified, rangeOf } from './conditional.js'
import { storable, withheld } from './policy.js'
import { Field, fieldsOf, headOf, storedFields } from './stored-head.js'
import { keyOf, variantOf, varyNames } from './vary.js'
import { Outcome, cacheStatus } from './status.js'
import type { Lock } from './locks.js'
import type { CacheRoute } from './route.js'
import { invalidate } from './invalidate.js'
import { purgeRequest } from './purge.js'
import { revalidateInBackground } from './background.js'

const IF_MATCH = name('if-match')
const IF_UNMODIFIED_SINCE = name('if-unmodified-since')
const DATE = name('date')
const AGE = name('age')
const CONTENT_LENGTH = name('content-length')
const TRANSFER_ENCODING = name('transfer-encoding')
/** Replaced by ours when we revalidate (the client's are answered from the entry afterwards). */
const CONDITIONALS = new NameSet(['if-none-match', 'if-modified-since', 'if-range', 'range'])
const NONE: readonly Entry[] = []

export const enum Mode { READ, INVALIDATE, PURGE, METHOD, BACKGROUND, BYPASS }

export class Cached implements Filter {
  readonly name = 'cache'
  readonly #route: CacheRoute
  readonly #mode: Mode
  readonly o = new Outcome()
  #key = ''
  #req: Directives | null = null
  /** The stored entry this request revalidates (§4.3.1), or null. */
  #stale: Entry | null = null
  #fill: Fill | null = null
  #lock: Lock | null = null
  /** Our validators went to the peer in place of the client's: its 304 speaks of the stored entry. */
  #validating = false
  /** The route's other filters' edits to the request (Vary is about the request the peer gets). */
  #edit: HeadEdit | null = null
  #requestTime = 0

  constructor(route: CacheRoute, mode: Mode, stale: Entry | null = null) {
    this.#route = route
    this.#mode = mode
    this.#stale = stale
  }

  requestHead(x: Exchange): Reply | undefined | Promise<Reply | undefined> {
    this.#requestTime = Date.now()
    const m = this.#mode
    if (m === Mode.PURGE) return purgeRequest(this.#route, x)
    this.#key = keyOf(x)
    if (m === Mode.BACKGROUND) { this.o.fwd = 'stale'; return undefined }
    if (m === Mode.BYPASS) { this.o.fwd = 'bypass'; return undefined }
    if (m !== Mode.READ) { this.o.fwd = 'method'; return undefined }
    // Preconditions for the origin server (RFC 9111 §4.3.2): sent on, and nothing is stored.
    if (x.head.find(IF_MATCH) >= 0 || x.head.find(IF_UNMODIFIED_SINCE) >= 0) { this.o.fwd = 'bypass'; return undefined }
    this.#req = directives(x.head, true)
    // Every other request filter has run (the cache is the last): their edits are final.
    this.#edit = x.chain!.upstream(x)
    // §5.2.1.5: nothing of this exchange is stored; like browsers and the major CDNs, nothing stored is used either.
    if (this.#req.noStore) { this.o.fwd = 'request'; return undefined }
    const found = this.#route.store.lookup(this.#key)
    if (found instanceof Promise) return found.then((list) => this.#choose(x, list, true), () => this.#choose(x, NONE, true))
    return this.#choose(x, found, true)
  }

  /** §4: a stored response to serve, else the request goes on (perhaps after waiting for another). */
  #choose(x: Exchange, list: readonly Entry[], mayWait: boolean): Reply | undefined | Promise<Reply | undefined> {
    if (x.finished) return undefined
    const req = this.#req!
    const now = Date.now()
    const e = this.#select(x, list)
    const o = this.o
    if (e === null) {
      o.fwd = list.length > 0 ? 'vary-miss' : 'uri-miss'
      // §5.2.1.7: nothing stored fits, and the client will not have it fetched.
      if (req.onlyIfCached) return this.#onlyIfCached()
      return this.#forward(x, mayWait)
    }
    // An entry still arriving is as fresh as can be: read it as it comes, unless the client wants a validated one.
    if (!e.complete) {
      if (req.noCache || req.maxAge === 0) { o.fwd = 'request'; return this.#forward(x, false) }
      return this.#serve(x, e, now)
    }
    const ttl = e.ttl(now)
    o.ttl = Math.floor(ttl / 1000)
    // §5.2.2.4 and §5.2.1.4: no-cache means validate first; §4.4: so does an invalidated entry.
    if (req.noCache || e.cc.noCache || e.invalid) { o.fwd = req.noCache ? 'request' : 'stale'; return this.#revalidate(x, e, mayWait) }
    const age = e.age(now)
    if (ttl > 0) {
      // §5.2.1.1 max-age and §5.2.1.3 min-fresh: the client asks for a younger or fresher one.
      if ((req.maxAge >= 0 && age > req.maxAge * 1000) || (req.minFresh >= 0 && ttl < req.minFresh * 1000) || req.maxAge === INVALID) {
        o.fwd = 'request'
        return this.#revalidate(x, e, mayWait)
      }
      return this.#serve(x, e, now)
    }
    // Stale (§4.2.4): only where the client (max-stale) or the origin (stale-while-revalidate) allows it.
    const late = -ttl
    if (!e.mustRevalidate && (req.anyStale || (req.maxStale >= 0 && late <= req.maxStale * 1000)) && (req.maxAge < 0 || age <= req.maxAge * 1000)) {
      return this.#serve(x, e, now)
    }
    if (swr(e, late) && req.maxAge < 0 && req.minFresh < 0) {
      // RFC 5861 §3: serve it now, and refresh it behind the client's back, once at a time.
      revalidateInBackground(this.#route, x, e, this.#edit)
      return this.#serve(x, e, now)
    }
    if (req.onlyIfCached) return this.#onlyIfCached()
    o.fwd = 'stale'
    return this.#revalidate(x, e, mayWait)
  }

  /** §4.1: the most recent stored response whose selecting fields match the request's. */
  #select(x: Exchange, list: readonly Entry[]): Entry | null {
    let best: Entry | null = null
    let lastVary: readonly string[] | null = null
    let variant = ''
    for (const e of list) {
      if (e.gone || e.variant === '*') continue
      if (!e.complete && e.length < 0) continue
      if (lastVary === null || !sameNames(e.vary, lastVary)) { lastVary = e.vary; variant = variantOf(x.head, e.vary, this.#route.config.key_cookies, this.#edit) }
      if (variant !== e.variant) continue
      if (best === null || e.dateValue >= best.dateValue) best = e
    }
    return best
  }

  #revalidate(x: Exchange, e: Entry, mayWait: boolean): undefined | Promise<Reply | undefined> {
    this.#stale = e
    return this.#forward(x, mayWait)
  }

  /**
   * The request goes to the peer. A GET takes the key's lock (it leads); if another holds it, this
   * one waits for that one's head, then looks again and goes on its own if it still finds nothing.
   */
  #forward(x: Exchange, mayWait: boolean): undefined | Promise<Reply | undefined> {
    const r = this.#route
    if (x.method !== GET || r.config.lock_timeout === 0 || this.#req!.noStore) return undefined
    const held = r.locks.get(this.#key)
    if (held === null) { this.#lock = r.locks.take(this.#key); return undefined }
    if (!mayWait) return undefined
    return new Promise((done) => held.wait((timedOut) => {
      if (timedOut || x.finished) { this.o.detail = timedOut ? 'lock-timeout' : ''; done(undefined); return }
      const again = r.store.lookup(this.#key)
      const next = (list: readonly Entry[]): void => {
        const v = this.#choose(x, list, false)
        if (v instanceof Promise) { v.then(done, () => done(undefined)); return }
        // §2.7 of RFC 9211: the other request's response was reused.
        if (v instanceof StoredReply) this.o.collapsed = true
        done(v)
      }
      if (again instanceof Promise) again.then(next, () => next(NONE))
      else next(again)
    }, r.config.lock_timeout))
  }

  #onlyIfCached(): Reply {
    this.o.detail = 'only-if-cached'
    return new Reply(504, '', null, 'CM')
  }

  /** A stored response, as the request's conditions and range make it (§4.3.2, RFC 9110 §14). */
  #serve(x: Exchange, e: Entry, now: number): Reply {
    const r = this.#route
    const o = this.o
    // RFC 9211 §2.1: a hit is a response that did not go forward (a 304 or 206 made from the entry too).
    o.hit = o.fwd === ''
    o.ttl = Math.floor(e.ttl(now) / 1000)
    r.store.touch(e)
    const extra = `Age: ${Math.floor(e.age(now) / 1000)}\r\n`
    const content = e.complete ? r.store.content(e) : e.fill!
    if (e.status >= 200 && e.status < 300 && notModified(x.head, e)) return new StoredReply(304, head304(e), extra, null, 0)
    if (x.method === GET && e.status === 200 && e.complete) {
      const range = rangeOf(x.head, e, e.length)
      if (range === 'unsatisfiable') return new Reply(416, `Content-Range: bytes */${e.length}\r\n`)
      if (range !== null) return new StoredReply(206, e.head, `${extra}Content-Range: bytes ${range[0]}-${range[1] - 1}/${e.length}\r\n`, content, range[1] - range[0], range[0])
    }
    return new StoredReply(e.status, e.head, extra, content, e.length)
  }

  /** §4.3.1: the stored validators, sent as they were received, in place of the client's conditions. */
  upstreamHead(_x: Exchange, edit: HeadEdit): void {
    const e = this.#stale
    if (e === null || (e.etag === null && e.lastModified === null)) return
    this.#validating = true
    edit.remove(CONDITIONALS)
    if (e.etag !== null) edit.add('If-None-Match', e.etag)
    if (e.lastModified !== null) edit.add('If-Modified-Since', e.lastModified)
  }

  /** The peer's head: a 304 freshens the entry we revalidated (§4.3.3), a 5xx may give way to it stale. */
  upstreamResponse(x: Exchange): Reply | undefined {
    const e = this.#stale
    const h = x.response!
    if (e === null) return undefined
    // A 304 to our validators: the entry, freshened, is the answer (even if it left the store
    // meanwhile: the client asked for the whole response). A 304 to the client's own is the client's.
    if (h.status === 304 && this.#validating) {
      this.o.fwdStatus = 304
      this.#freshen(e, x)
      this.#unlock()
      if (this.#mode === Mode.BACKGROUND) return new Reply(204)
      return this.#serve(x, e, Date.now())
    }
    if (!e.gone && h.status >= 500 && h.status <= 504 && this.#staleOnError(e, false)) {
      this.o.fwdStatus = h.status
      this.#unlock()
      return this.#serve(x, e, Date.now())
    }
    return undefined
  }

  /** No answer at all from the peers: RFC 5861 §4 stale-if-error, or the route's stale_if_down. */
  fault(x: Exchange, _err: ProxyError): Reply | undefined {
    this.#unlock()
    const e = this.#stale
    if (e === null || e.gone || this.#mode !== Mode.READ || !this.#staleOnError(e, true)) return undefined
    this.o.detail = 'peer-error'
    return this.#serve(x, e, Date.now())
  }

  #staleOnError(e: Entry, down: boolean): boolean {
    const late = -e.ttl(Date.now())
    const req = this.#req
    const c = e.cc
    // RFC 9111 §4.2.4: never against must-revalidate, proxy-revalidate or no-cache (s-maxage's
    // implied proxy-revalidate gives way to an explicit stale-if-error: docs/cache.md).
    if (c.mustRevalidate || c.proxyRevalidate || c.noCache) return false
    // RFC 5861 §4: the origin's or the client's stale-if-error.
    if (e.cc.staleIfError >= 0 && late <= e.cc.staleIfError * 1000) return true
    if (req !== null && req.staleIfError >= 0 && late <= req.staleIfError * 1000) return true
    // §4.2.4: serving stale when disconnected, as configured (not for s-maxage either).
    return down && !e.mustRevalidate && late <= this.#route.config.stale_if_down
  }

  /** §3.2, §4.3.4: the 304's fields replace the stored ones of the same names; the others stay. */
  #freshen(e: Entry, x: Exchange): void {
    const h = x.response!
    // §3.1 holds for the update too: no hop-by-hop field, none its Connection names, none that
    // private="..." or no-cache="..." keeps out (the stored response's or the 304's).
    const cc = directives(h, false)
    const drop = [...(withheld(cc) ?? []), ...(withheld(e.cc) ?? [])]
    const got = new Map<string, Field[]>()
    for (const f of storedFields(h, drop)) {
      const lower = f[0].toLowerCase()
      let l = got.get(lower)
      if (l === undefined) got.set(lower, l = [])
      l.push(f)
    }
    const out: Field[] = []
    for (const f of fieldsOf(e.head)) {
      const lower = f[0].toLowerCase()
      const l = got.get(lower)
      if (l === undefined) { if (!drop.includes(lower)) out.push(f); continue }
      if (l.length > 0) { out.push(...l); got.set(lower, []) }
    }
    for (const l of got.values()) out.push(...l)
    e.refresh(headOf(e.status, e.head.line(), out), this.#requestTime, Date.now(), ageOf(h.get(AGE)), this.#route.heuristic)
    this.#route.store.update(e)
  }

  /** The response head to the client: invalidation (§4.4), the store decision (§3), Cache-Status. */
  responseHead(x: Exchange, edit: HeadEdit): void {
    const o = this.o
    const h = x.response
    const fromPeer = h !== null && x.status === h.status && !o.hit && o.fwdStatus === 0
    if (fromPeer) {
      o.fwdStatus = h.status
      if (this.#mode === Mode.INVALIDATE) invalidate(this.#route, x, this.#key)
      else if ((this.#mode === Mode.READ || this.#mode === Mode.BACKGROUND) && x.method === GET && o.fwd !== 'bypass') this.#store(x, edit)
    }
    // Collapsed requests look again now, and read the entry as it arrives; one of unknown length is
    // only readable once complete, so they wait for that (or their lock timeout).
    if (this.#fill === null || this.#fill.entry.length >= 0) this.#unlock()
    if (this.#mode !== Mode.PURGE) edit.add('Cache-Status', cacheStatus(this.#route.id, o))
  }

  /** §3: store the peer's response, if allowed and of use, as it streams to the client. */
  #store(x: Exchange, edit: HeadEdit): void {
    const h = x.response!
    const cc = directives(h, false)
    if (!storable(x.head, this.#req ?? directives(x.head, true), h, cc)) return
    const r = this.#route
    // A transfer coding besides chunked (gzip, chunked) is of this hop: what we would store is still coded.
    if (h.transferEncoding >= 0 && h.tokens(TRANSFER_ENCODING).some((c) => c !== 'chunked')) return
    const names = varyNames(h, r.config.key_headers)
    if (names.includes('*')) return
    const fields = storedFields(h, withheld(cc))
    // RFC 9110 §6.6.1: a cache that stores a response without Date gives it one, and sends it on.
    if (h.find(DATE) < 0) {
      const date = new Date(this.#requestTime).toUTCString()
      fields.push(['Date', date])
      edit.add('Date', date)
    }
    const length = x.method === HEAD || h.status === 204 ? 0 : h.contentLength >= 0 ? Number(h.value(h.find(CONTENT_LENGTH))) : -1
    const e = new Entry(this.#key, headOf(h.status, h.line(), fields), names, variantOf(x.head, names, r.config.key_cookies, this.#edit), this.#requestTime, Date.now(), r.heuristic, length, ageOf(h.get(AGE)))
    // Of no use: never fresh, nothing to validate it with, no stale use allowed.
    if (e.lifetime === 0 && e.etag === null && e.lastModified === null && e.cc.staleIfError < 0 && e.cc.staleWhileRevalidate < 0) return
    const fill = r.store.begin(e)
    if (fill === null) { this.o.detail = 'too-large'; return }
    this.#fill = fill
    // Clients reading this entry as it arrives are not held to this client's pace, nor cut if it
    // leaves: the peer is read on (what that holds is the entry, within max_object_size).
    if (length >= 0) x.othersReading = () => fill.readers > 0 && !fill.done
    this.o.stored = true
    this.o.ttl = Math.floor(e.ttl(Date.now()) / 1000)
    x.tapResponseBody(this)
  }

  responseBody(_x: Exchange, data: Buffer | null): void {
    const f = this.#fill
    if (f === null) return
    if (data === null) { f.end(); this.#fill = null; this.#unlock(); return }
    if (!f.write(data)) { this.#fill = null; this.#unlock() }
  }

  done(_x: Exchange): void {
    this.#unlock()
    // The response did not come whole (the peer died mid-body, the client left): no entry.
    if (this.#fill !== null) { this.#fill.fail('the response did not complete'); this.#fill = null }
  }

  #unlock(): void {
    const l = this.#lock
    if (l === null) return
    this.#lock = null
    this.#route.locks.release(this.#key, l)
  }
}

/** Variants of one URL mostly vary on the same fields: their request values are worked out once. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** RFC 5861 §3: within the stale-while-revalidate window, and no rule against serving stale. */
function swr(e: Entry, late: number): boolean {
  const c = e.cc
  return c.staleWhileRevalidate >= 0 && late <= c.staleWhileRevalidate * 1000 && !c.mustRevalidate && !c.proxyRevalidate && !c.noCache
}

