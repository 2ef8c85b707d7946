/**
 * One exchange's run through its route's filters (filter.ts): the filters that attached, the request
 * hooks in order (going asynchronous only when a hook returns a Promise, as fastify's hook runner
 * does), the head edits, the request body taps and the `done` calls. An Exchange makes one only when
 * its route has filters; with none, nothing here runs.
 */
import type { Filter, FilterFactory } from './filter.js'
import type { Exchange } from './exchange.js'
import { HeadEdit } from './head-edit.js'
import { Reply } from './reply.js'
import type { StoredReply } from './reply.js'
import type { BodyTransform } from './transform.js'
import type { Head } from '../http/head.js'
import type { ProxyError } from '../errors.js'

type Verdict = Reply | undefined

export class Chain {
  readonly #filters: Filter[]
  /** Some filter edits the head to the peer / to the client (else no HeadEdit is made). */
  readonly #editsUp: boolean
  readonly #editsDown: boolean
  #taps: Filter[] | null = null
  /** Filters that read the response content (Filter.responseBody), this exchange. */
  #readers: Filter[] | null = null
  /** Some filter might read the response content or answer in place of the peer's head: the parser stops between head and body. */
  readonly readsResponse: boolean
  /** Some filter may change the response content (Filter.responseTransform). */
  readonly transforms: boolean
  readonly #checksResponse: boolean
  readonly #handlesFaults: boolean
  #done = false
  /** The filter whose Reply answered the request, for the access log ('' when none did). */
  answeredBy = ''

  constructor(factories: readonly FilterFactory[], x: Exchange) {
    const fs: Filter[] = []
    for (const f of factories) {
      const a = f.attach(x)
      if (a !== null) fs.push(a)
    }
    this.#filters = fs
    this.#editsUp = fs.some((f) => f.upstreamHead !== undefined)
    this.#editsDown = fs.some((f) => f.responseHead !== undefined)
    this.transforms = fs.some((f) => f.responseTransform !== undefined)
    this.readsResponse = this.transforms || fs.some((f) => f.responseBody !== undefined || f.upstreamResponse !== undefined)
    this.#checksResponse = fs.some((f) => f.upstreamResponse !== undefined)
    this.#handlesFaults = fs.some((f) => f.fault !== undefined)
  }

  /**
   * Runs the requestHead hooks from the `from`th on: a Reply stops them. Synchronous until a hook
   * returns a Promise; then the rest run when it settles, and the result is a Promise too.
   */
  request(x: Exchange, from = 0): Verdict | Promise<Verdict> {
    const fs = this.#filters
    for (let i = from; i < fs.length; i++) {
      const f = fs[i]
      if (f.requestHead === undefined) continue
      const v = f.requestHead(x)
      if (v === undefined) continue
      if (v instanceof Reply) { this.answeredBy = f.name; return v }
      return v.then((r) => {
        if (r === undefined) return x.finished ? undefined : this.request(x, i + 1)
        this.answeredBy = f.name
        return r
      })
    }
    return undefined
  }

  /** The names of the filters with a request hook, in the order they run (for a trace, src/trace/). */
  get requestNames(): string[] {
    return this.#filters.filter((f) => f.requestHead !== undefined).map((f) => f.name)
  }

  /** The edits to the head for the peer (ascending order), or null when no filter made one. */
  upstream(x: Exchange): HeadEdit | null {
    if (!this.#editsUp) return null
    const e = new HeadEdit()
    for (const f of this.#filters) f.upstreamHead?.(x, e)
    return e.changed ? e : null
  }

  /** The edits to the head for the client (descending order), or null when no filter made one. */
  response(x: Exchange): HeadEdit | null {
    if (!this.#editsDown) return null
    const e = new HeadEdit()
    const fs = this.#filters
    for (let i = fs.length - 1; i >= 0; i--) fs[i].responseHead?.(x, e)
    return e.changed ? e : null
  }

  /** The peer's final head is in: a filter's answer to send instead, or undefined (descending order). */
  upstreamResponse(x: Exchange): Verdict {
    if (!this.#checksResponse) return undefined
    const fs = this.#filters
    for (let i = fs.length - 1; i >= 0; i--) {
      const r = fs[i].upstreamResponse?.(x)
      if (r !== undefined) { this.answeredBy = fs[i].name; return r }
    }
    return undefined
  }

  /** The exchange failed before a response: a filter's answer to send instead, or undefined. */
  fault(x: Exchange, err: ProxyError): Verdict {
    if (!this.#handlesFaults) return undefined
    const fs = this.#filters
    for (let i = fs.length - 1; i >= 0; i--) {
      const r = fs[i].fault?.(x, err)
      if (r !== undefined) { this.answeredBy = fs[i].name; return r }
    }
    return undefined
  }

  /** A filter's change of the content, its head edits made in `e` (descending order; the first wins). */
  transform(x: Exchange, head: Head, stored: StoredReply | null, e: HeadEdit): BodyTransform | StoredReply | null {
    const fs = this.#filters
    for (let i = fs.length - 1; i >= 0; i--) {
      const t = fs[i].responseTransform?.(x, head, stored, e)
      if (t !== undefined && t !== null) return t
    }
    return null
  }

  /** `f` reads the response content (Filter.responseBody). */
  readResponse(f: Filter): void {
    (this.#readers ??= []).push(f)
  }

  get readingResponse(): boolean { return this.#readers !== null }

  /** A slice of the response content, or null at its end, to each reader. */
  responseBody(x: Exchange, data: Buffer | null): void {
    for (const f of this.#readers!) f.responseBody!(x, data)
  }

  /** `f` sees the request body from now on (Filter.requestBody). */
  tap(f: Filter): void {
    (this.#taps ??= []).push(f)
  }

  get tapped(): boolean { return this.#taps !== null }

  /** Before a body slice goes on: a Reply from a tap stops the exchange. */
  body(x: Exchange, received: number): Reply | undefined {
    for (const f of this.#taps!) {
      const r = f.requestBody!(x, received)
      if (r !== undefined) { this.answeredBy = f.name; return r }
    }
    return undefined
  }

  /** The exchange is over: every filter's `done`, once. */
  done(x: Exchange): void {
    if (this.#done) return
    this.#done = true
    for (const f of this.#filters) f.done?.(x)
  }
}
