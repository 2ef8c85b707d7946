/**
 * Revalidation behind the client's back (RFC 5861 §3, stale-while-revalidate): the request that found
 * the entry stale, as the route's filters made it for the peer (their edits applied: a Host, a key,
 * an identity header), without its conditions, sent again through the same Exchange as a client's
 * (so pooling, balancing, retries and timeouts are the route's), with the cache as its only filter
 * and a downstream that discards the answer. The cache's hooks do the rest: a 304 freshens the entry,
 * a 200 replaces it. One at a time per entry.
 */
import type { Socket } from 'node:net'
import { Kind, Parser, Step } from '../../http/llhttp.js'
import { Exchange } from '../../proxy/exchange.js'
import type { Downstream } from '../../proxy/downstream.js'
import type { FilterFactory, Filter } from '../../proxy/filter.js'
import { Origin, inspect } from '../../proxy/request-head.js'
import type { Runtime } from '../../proxy/runtime.js'
import type { Entry } from './entry.js'
import { NameSet } from '../../http/head.js'
import type { HeadEdit } from '../../proxy/head-edit.js'
import type { CacheRoute } from './route.js'
import { Cached, Mode } from './cached.js'

const running = new WeakSet<Entry>()
/** Hop-by-hop and framing fields, Host (written first), and the client's conditions and range. */
const NOT_SENT = new NameSet(['host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'transfer-encoding',
  'content-length', 'expect', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'])

export function revalidateInBackground(r: CacheRoute, x: Exchange, e: Entry, edit: HeadEdit | null): void {
  if (running.has(e) || x.group === null) return
  const h = x.head
  let text = `GET ${x.info.path} HTTP/1.1\r\n`
  if (edit === null || !edit.host) text += `Host: ${x.info.authority ?? x.info.host}\r\n`
  for (let i = 0; i < h.count; i++) {
    if (NOT_SENT.has(h, i) || (edit !== null && edit.drops.some((d) => d.has(h, i)))) continue
    text += `${h.name(i)}: ${h.value(i)}\r\n`
  }
  if (edit !== null) text += edit.lines
  const p = new Parser(Kind.REQUEST, x.down.rt.limits)
  // A head without a body parses to its end in one step.
  const step = p.execute(Buffer.from(text + '\r\n', 'latin1'), 0)
  const info = step !== Step.ERROR && p.headDone ? inspect(p.head) : null
  if (info === null || !('path' in info)) { p.destroy(); return }
  running.add(e)
  const down = new Background(x.down.rt, x.down.proto, () => { running.delete(e); p.destroy() })
  const bg = new Exchange(down, p.head, info, x.group, 0, [new Revalidation(r, e)], x.routeLabel)
  bg.endRequest()
  bg.start()
}

/** The one filter of a background revalidation. */
class Revalidation implements FilterFactory {
  readonly name = 'cache'
  readonly order = 70
  constructor(readonly route: CacheRoute, readonly entry: Entry) {}
  attach(): Filter { return new Cached(this.route, Mode.BACKGROUND, this.entry) }
}

/** A client that takes whatever it is sent and is never slow: the answer only matters to the cache. */
class Background implements Downstream {
  readonly remote = '127.0.0.1'
  readonly clientSubject = ''
  readonly sni = ''
  readonly hsts = null
  readonly bodyReceived = 0
  readonly logging = false
  // Not counted in the metrics either: a background revalidation is no client's request.
  readonly timed = false
  readonly metered = false
  readonly closing = false
  readonly queued = false
  readonly origin: Origin
  #end: (() => void) | null

  constructor(readonly rt: Runtime, readonly proto: 'http' | 'https', end: () => void) {
    this.origin = new Origin('127.0.0.1', proto, false)
    this.#end = end
  }

  write(): boolean { return true }
  cork(): void {}
  uncork(): void {}
  holdBody(): void {}
  exchangeDone(): void {}
  destroy(): void {}
  takeSocket(): Socket { throw new Error('a background revalidation cannot become a tunnel') }
  /** Every way an exchange ends goes through its log: the entry may be revalidated again. */
  log(): void {
    const f = this.#end
    this.#end = null
    f?.()
  }
}
