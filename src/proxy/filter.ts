/**
 * The filter chain: the seam where features (src/filters/) meet the Exchange. The core defines it and
 * never imports a feature; the composition root (cli.ts, cluster/worker.ts) hands the Runtime the list
 * of feature kinds, and the Runtime compiles each route's chain once per config.
 *
 * Request hooks run in ascending `order`, response hooks in descending order (Envoy and HAProxy do the
 * same). A route with no feature has an empty chain, and then the Exchange makes no call at all.
 */
import type { Config } from '../config/schema.js'
import type { Features } from '../config/features.js'
import type { EventLog } from '../log/events.js'
import type { Exchange } from './exchange.js'
import type { HeadEdit } from './head-edit.js'
import type { Reply, StoredReply } from './reply.js'
import type { BodyTransform } from './transform.js'
import type { Head } from '../http/head.js'
import type { ProxyError } from '../errors.js'

/**
 * One feature's part in one exchange. Every hook is optional; a missing hook costs nothing. Hooks
 * never throw for an expected outcome: a refusal is a Reply.
 */
export interface Filter {
  /** The feature's name: its file, its config key, its log and metric label. */
  readonly name: string
  /**
   * Runs once the request head is in and checked, before a peer is picked, in ascending order.
   * Returns a Reply to answer locally (the chain stops there), undefined to go on, or a Promise of
   * either when it must wait (auth's hash check off the event loop). Default: go on.
   */
  requestHead?(x: Exchange): Reply | undefined | Promise<Reply | undefined>
  /**
   * Edits the head that goes to the peer; runs once every requestHead has passed, in ascending
   * order, before the first attempt (a retry sends the same edits). Default: no change.
   */
  upstreamHead?(x: Exchange, e: HeadEdit): void
  /**
   * Edits the response head to the client, in descending order: the peer's head, or the head of a
   * local answer (a filter's Reply, a 404, a 502...). Not for 1xx and 101. Default: no change.
   */
  responseHead?(x: Exchange, e: HeadEdit): void
  /**
   * Only for a filter that called `x.tapRequestBody()`: runs before each slice of the request body
   * goes to the peer, with the content bytes received so far (chunked framing excluded). Returns a
   * Reply to stop the exchange (max_body's 413), else undefined.
   */
  requestBody?(x: Exchange, received: number): Reply | undefined
  /**
   * Runs when the peer's final response head is in (`x.response`), before anything of it goes to the
   * client, in descending order. Returns a Reply to answer with instead, and the peer's response is
   * dropped (the cache: its entry freshened by a 304, or a stale one in place of a 5xx). Default: pass it on.
   */
  upstreamResponse?(x: Exchange): Reply | undefined
  /**
   * Only for a filter that called `x.tapResponseBody()` in its responseHead: each slice of the
   * peer's response content as it goes to the client (chunked framing removed), then null once the
   * whole of it went. A slice is a view of the socket's chunk: copy what you keep. Default: nothing.
   */
  responseBody?(x: Exchange, data: Buffer | null): void
  /**
   * Runs once the head of a response with content is known, after every responseHead, in descending
   * order: a peer's (`stored` null) or a stored one (a cache hit: `stored` is the reply, `head` its
   * stored head); never for HEAD, 1xx, 204, 304 or a local answer. Returns a BodyTransform to change
   * the content (proxy/transform.ts), with the head edits that go with it made in `e`; the Exchange
   * then re-frames the body (no Content-Length; chunked, or our close). For a stored response it may
   * instead return another StoredReply to serve (a copy of the content made before). The first filter
   * that returns one wins. Default: null, the content goes as it is (edits in `e` are then dropped).
   */
  responseTransform?(x: Exchange, head: Head, stored: StoredReply | null, e: HeadEdit): BodyTransform | StoredReply | null
  /**
   * Runs when the exchange fails before any byte of a response went to the client (no peer, a failed
   * connect, a timeout, a bad response head), in descending order. Returns a Reply to answer with
   * instead of the fault's status (the cache: a stale entry, RFC 5861 §4). Default: the fault's status.
   */
  fault?(x: Exchange, err: ProxyError): Reply | undefined
  /** Once, when the exchange is over, whatever the outcome (logged just after). Default: nothing. */
  done?(x: Exchange): void
}

/** A feature compiled for one route: decides per exchange whether it takes part. */
export interface FilterFactory {
  readonly name: string
  /** Request hooks run in ascending order; registration order never decides (STYLE habit 5). */
  readonly order: number
  /** The filter for this exchange, or null when it has nothing to do (then it costs nothing more). */
  attach(x: Exchange): Filter | null
}

/** What a feature kind gets to compile a route's settings. */
export interface BuildContext {
  readonly config: Config
  readonly events: EventLog | null
}

/**
 * One feature as the composition root lists it: compiles the settings of a route (or of `defaults`,
 * for requests no route matches) into a factory, or null when the route does not use it.
 */
export interface FilterKind {
  readonly name: string
  compile(features: Features, ctx: BuildContext): FilterFactory | null
}

/** Orders a chain; two factories may not share an order (it would be registration order again). */
export function chainOf(factories: (FilterFactory | null)[]): readonly FilterFactory[] {
  const out = factories.filter((f): f is FilterFactory => f !== null).sort((a, b) => a.order - b.order)
  for (let i = 1; i < out.length; i++) {
    if (out[i].order === out[i - 1].order) throw new Error(`filters ${out[i - 1].name} and ${out[i].name} share order ${out[i].order}`)
  }
  return out
}
