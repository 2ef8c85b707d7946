/**
 * `headers`: set, add and remove fields of the request (on its way to the peer) and of the response
 * (on its way to the client, local answers included), with placeholders; and `request_id`, one ID per
 * request, kept from a trusted proxy that sent one, else made here, sent upstream, echoed on the
 * response and written in the access log.
 *
 * Order 5, before every other filter: the request ID then exists for any answer and log line. The
 * edits themselves are applied once all request filters have passed (Filter.upstreamHead), so `{user}`
 * is known by then.
 */
import { randomUUID } from 'node:crypto'
import type { HeaderOps, HeadersConfig } from '../config/features.js'
import { NameSet, name } from '../http/head.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import type { HeadEdit } from '../proxy/head-edit.js'
import { Fill, compile } from './template.js'

/** A proxy's ID is kept only when it looks like one: visible ASCII, at most 200 bytes. */
const ID_TEXT = /^[\x21-\x7e]{1,200}$/

interface Ops {
  readonly remove: NameSet | null
  readonly set: readonly (readonly [NameSet, string, Fill])[]
  readonly add: readonly (readonly [string, Fill])[]
}

function ops(o: HeaderOps): Ops {
  return {
    remove: o.remove.length === 0 ? null : new NameSet(o.remove),
    set: o.set.map(([n, t]) => [new NameSet([n.toLowerCase()]), n, compile(t)] as const),
    add: o.add.map(([n, t]) => [n, compile(t)] as const),
  }
}

function apply(o: Ops, x: Exchange, e: HeadEdit): void {
  if (o.remove !== null) e.remove(o.remove)
  for (const [names, n, fill] of o.set) e.set(names, n, fill(x))
  for (const [n, fill] of o.add) e.add(n, fill(x))
}

class Headers implements FilterFactory, Filter {
  readonly name = 'headers'
  readonly order = 5
  readonly #request: Ops
  readonly #response: Ops
  /** The request ID field: its name as configured, as bytes to find it, as a set to replace it. */
  readonly #id: string | null
  readonly #idBytes: Buffer | null
  readonly #idSet: NameSet | null
  /** The request side replaces Host (forwarding then adds no Host of its own). */
  readonly #setsHost: boolean

  constructor(cfg: HeadersConfig) {
    this.#request = ops(cfg.request)
    this.#response = ops(cfg.response)
    this.#id = cfg.request_id
    this.#idBytes = cfg.request_id === null ? null : name(cfg.request_id.toLowerCase())
    this.#idSet = cfg.request_id === null ? null : new NameSet([cfg.request_id.toLowerCase()])
    this.#setsHost = cfg.request.set.some(([n]) => n.toLowerCase() === 'host')
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): undefined {
    if (this.#idBytes === null) return undefined
    // Only a trusted proxy's ID is taken (trusted_proxies); from anyone else it could be forged to
    // collide with, or to poison, another request's log lines.
    const sent = x.down.origin.trusted ? x.head.get(this.#idBytes) : undefined
    x.requestId = sent !== undefined && ID_TEXT.test(sent) ? sent : randomUUID()
    return undefined
  }

  upstreamHead(x: Exchange, e: HeadEdit): void {
    apply(this.#request, x, e)
    if (this.#setsHost) e.host = true
    if (this.#idSet !== null) e.set(this.#idSet, this.#id!, x.requestId)
  }

  responseHead(x: Exchange, e: HeadEdit): void {
    apply(this.#response, x, e)
    if (this.#idSet !== null && x.requestId !== '') e.set(this.#idSet, this.#id!, x.requestId)
  }
}

export const headers: FilterKind = {
  name: 'headers',
  compile: (f) => f.headers === null ? null : new Headers(f.headers),
}
