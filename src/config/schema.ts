/**
 * The configuration, as one readonly typed object (STYLE habit 6). Every default lives in DEFAULTS,
 * documented beside its field; the README's config reference mirrors this file. Durations are in
 * milliseconds here; the YAML file may write them as numbers (ms) or as "500ms", "10s", "2m".
 */
export interface Address {
  readonly host: string
  readonly port: number
}

export interface Timeouts {
  /** First byte of a request head to its end; past it the client gets 408 and is closed (slowloris). */
  readonly header: number
  /** A client keep-alive connection idle between requests is closed after this. */
  readonly keepalive: number
  /** Mid-exchange, while we wait on the client (its request body, or its reading our response), a client that makes no progress for this long is dropped. */
  readonly client_idle: number
  /** Opening a connection to a peer. Past it: 504. */
  readonly connect: number
  /** From the whole request sent to the response head. Past it: 504. */
  readonly upstream_response: number
  /** A peer that neither sends response bytes nor takes the request body we are blocked on, for this long, is dropped (504 before the head, a cut client after it). Time we paused it for a slow client does not count. */
  readonly upstream_idle: number
  /** A WebSocket or other upgraded tunnel with no byte either way for this long is closed. */
  readonly tunnel_idle: number
  /** On SIGTERM/SIGINT, requests in flight get this long to finish. */
  readonly grace: number
}

export interface Limits {
  /** Bytes of a request head (request line and all fields). Larger: 431 (RFC 6585 §5). */
  readonly max_head: number
  /** Bytes of the request target. Longer: 414 (RFC 9110 §15.5.15). */
  readonly max_target: number
  /** Open client connections; past it new ones are closed at accept. */
  readonly max_connections: number
}

export interface Keepalive {
  /** Idle pooled sockets kept per peer. */
  readonly max_idle: number
  /** An idle pooled socket is closed after this; below Node's 5 s so the peer never closes first. */
  readonly idle_timeout: number
}

export interface Upstream {
  readonly name: string
  /** Peers as host:port; picked round-robin. An empty list answers 503. */
  readonly peers: readonly Address[]
  readonly keepalive: Keepalive
}

export interface Route {
  /** Exact host, "*.example.com" (any subdomain), or null for any host. */
  readonly host: string | null
  /** Path prefix, matched on whole segments ("/api" matches "/api" and "/api/x", not "/apix"). */
  readonly path: string
  /** Name of the upstream group. */
  readonly upstream: string
}

export interface LogTarget {
  /** "stdout", "stderr", "off", or a file path (appended to). */
  readonly path: string
  readonly format: 'json' | 'text'
}

export interface Config {
  /** Addresses to listen on, IPv4 or IPv6: "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4/IPv6). */
  readonly listen: readonly Address[]
  /** CIDRs whose X-Forwarded-* and Forwarded headers are kept and extended; from others they are replaced. */
  readonly trusted_proxies: readonly string[]
  /** The pseudonym in our Via entry (RFC 9110 §7.6.3). */
  readonly via: string
  readonly timeouts: Timeouts
  readonly limits: Limits
  readonly upstreams: ReadonlyMap<string, Upstream>
  /** Most specific first: exact host, then wildcard host (longest first), then any; longest path first. */
  readonly routes: readonly Route[]
  readonly access_log: LogTarget
  readonly event_log: LogTarget
  /**
   * Processes serving the listeners. 1: this one process, no cluster. More: a primary (src/cluster/)
   * forks that many workers, each a full proxy on the shared listeners. "auto" in YAML is the number
   * of cores (os.availableParallelism()), resolved when the config is validated.
   */
  readonly workers: number
}

export const DEFAULTS = {
  listen: ['127.0.0.1:8080'],
  trusted_proxies: [] as string[],
  via: 'rawproxy',
  timeouts: {
    header: 10_000,
    keepalive: 60_000,
    client_idle: 60_000,
    connect: 3_000,
    upstream_response: 30_000,
    upstream_idle: 60_000,
    tunnel_idle: 300_000,
    grace: 10_000,
  },
  limits: {
    max_head: 16_384,
    max_target: 8_192,
    max_connections: 10_000,
  },
  keepalive: {
    max_idle: 64,
    idle_timeout: 4_000,
  },
  access_log: { path: 'stdout', format: 'json' },
  event_log: { path: 'stderr', format: 'text' },
  workers: 1,
} as const
