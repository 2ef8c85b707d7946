/**
 * The configuration, as one readonly typed object (STYLE habit 6). Every default lives in DEFAULTS,
 * documented beside its field; docs/config.md mirrors this file. Durations are in
 * milliseconds here; the YAML file may write them as numbers (ms) or as "500ms", "10s", "2m".
 * The features of a route (headers, access, auth, rules, request limits) are typed in features.ts.
 */
import type { AccessConfig, Features, OwnFeatures } from './features.js'

export interface Address {
  readonly host: string
  readonly port: number
}

/** A certificate and its private key, read from files at load (and again on each reload). */
export interface Certificate {
  /** The files, for messages. */
  readonly cert_file: string
  readonly key_file: string
  /** PEM text: the leaf first, then any intermediates. */
  readonly cert: string
  readonly key: string
  /** The DNS names of its subjectAltName list (exact, or "*.suffix"), lower-case; SNI picks by these. */
  readonly names: readonly string[]
}

export interface ListenTls {
  /** Chosen by SNI among the names of their SAN lists; the first is the default (no SNI, unknown name). An RSA and an ECDSA certificate for the same names are served side by side. */
  readonly certificates: readonly Certificate[]
  /** Oldest protocol accepted: "TLSv1.2" (default) or "TLSv1.3". TLS 1.0 and 1.1 are never offered. */
  readonly min_version: 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher list (TLS 1.3 suites by their TLS_ names in the same list). Default: forward-secret AEAD suites only. */
  readonly ciphers: string
  /** PEM of the CAs that sign client certificates; set, clients are asked for one (mTLS). */
  readonly client_ca: string | null
  /** With client_ca: "required" (a client without a valid certificate fails the handshake) or "optional" (it is served, without a verified subject). */
  readonly client_auth: 'required' | 'optional'
  /** Strict-Transport-Security value added to every response on this listener (RFC 6797), or null. `true` in YAML: "max-age=31536000". */
  readonly hsts: string | null
  /** The session ticket key is replaced this often; tickets issued under the previous key get a full handshake. */
  readonly ticket_rotation: number
}

/** One `listen` entry: an address, and TLS or an HTTPS redirect. */
export interface Listener extends Address {
  /** Set: the listener terminates TLS. */
  readonly tls?: ListenTls
  /** On a plain listener: answer every request with 308 to https://host<port>/path; the port given here (443 is left out of the URL). */
  readonly redirect_https?: number
  /** Clients this listener takes: the others are closed at accept, before any byte is read. */
  readonly access?: AccessConfig
  /** Set: every connection starts with a PROXY protocol header (v1 or v2), taken only from these CIDRs. */
  readonly proxy_protocol?: readonly string[]
  /** Open connections one client address (an IPv6 one by its /64) may hold; more are closed at accept. Per process. */
  readonly max_connections_per_ip?: number
}

export interface UpstreamTls {
  /** Check the peer's certificate chain and name (default true). Off only for tests and trusted networks. */
  readonly verify: boolean
  /** PEM of the CAs to trust for this group, instead of Node's bundled roots. */
  readonly ca: string | null
  /** SNI and the name checked in the peer's certificate; default: the peer's host when it is a name, none for an IP (RFC 6066 §3). */
  readonly servername: string | null
  /** Our client certificate, for peers that ask for one (mTLS to the peer). */
  readonly client_cert: Pick<Certificate, 'cert' | 'key'> | null
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

export interface PeerConfig extends Address {
  /** Share of the traffic, relative to the group's other peers (1 to 1000). */
  readonly weight: number
  /** Used only while no primary (non-backup) peer of the group is available. */
  readonly backup: boolean
}

export type Balance = 'round_robin' | 'least_conn' | 'random_two' | 'hash'

/** Where the `hash` balancer takes its key; a request without it is balanced round-robin. */
export type HashKey =
  | { readonly from: 'client_ip' | 'path' }
  | { readonly from: 'header' | 'cookie'; readonly name: string }

/** Active health check: probes on connections of their own, HAProxy-style rise/fall. */
export interface HealthCheck {
  readonly type: 'http' | 'tcp'
  /** http: the probe request line and Host (null: the peer's host:port). */
  readonly method: string
  readonly path: string
  readonly host: string | null
  /** http: the statuses that count as healthy, inclusive. */
  readonly status: readonly [number, number]
  /** http: a substring the response must contain (null: any). */
  readonly body: string | null
  /** Time between probes of one peer; each wait is shortened or lengthened by up to `jitter` of it. */
  readonly interval: number
  readonly jitter: number
  /** A probe without its answer in this long has failed. */
  readonly timeout: number
  /** Consecutive successes that bring a down peer up, and failures that take an up peer down. */
  readonly rise: number
  readonly fall: number
}

/** Passive health (outlier ejection, in the style of Envoy), from the outcome of real requests. */
export interface Passive {
  /** Consecutive connect failures or resets that eject a peer (0: never). */
  readonly failures: number
  /** Consecutive 5xx responses that eject a peer (0: never). */
  readonly errors_5xx: number
  /** First ejection's length; each further ejection of the same peer doubles it, up to `max_ejection`. */
  readonly ejection: number
  readonly max_ejection: number
  /** Passive signals never eject more than this percentage of the group's peers at once. */
  readonly max_ejected_percent: number
}

export interface Upstream {
  readonly name: string
  /** An empty list answers 503. */
  readonly peers: readonly PeerConfig[]
  readonly keepalive: Keepalive
  readonly balance: Balance
  /** For `balance: hash` only. */
  readonly hash_key: HashKey
  /** null: no active checks, every peer counts as up unless ejected. */
  readonly health: HealthCheck | null
  /** A peer that comes back up ramps its weight from 1/10 to full over this long (0: at once). */
  readonly slow_start: number
  readonly passive: Passive
  /** Further attempts on other peers, for a request that failed before any response byte. */
  readonly retries: number
  /** Retries allowed as a fraction of requests (Envoy's retry budget): 0.2 = one retry per five requests. */
  readonly retry_budget: number
  /** For `balance: random_two`: the seed of its random draws, for runs that repeat exactly (null: random). */
  readonly seed: number | null
  /** Speak TLS to the peers of this group; absent: plain TCP. */
  readonly tls?: UpstreamTls
}

export interface Route {
  /** Exact host, "*.example.com" (any subdomain), or null for any host. */
  readonly host: string | null
  /** Path prefix, matched on whole segments ("/api" matches "/api" and "/api/x", not "/apix"). */
  readonly path: string
  /** Name of the upstream group. */
  readonly upstream: string
  /** Match `path` without regard to case (for peers that route so, like Express): `/ADMIN` is `/admin`. */
  readonly ignore_case: boolean
  /** The feature keys the route sets itself; each replaces the default's whole (Config.defaults). */
  readonly features: OwnFeatures
}

export interface LogTarget {
  /** "stdout", "stderr", "off", or a file path (appended to). */
  readonly path: string
  readonly format: 'json' | 'text'
}

/** The admin API's listener (src/admin/, config/admin.ts). */
export interface AdminConfig {
  readonly listen: Address
  /** Sent as `Authorization: Bearer TOKEN`; required with htpasswd for every call but /live and /ready. */
  readonly token: string | null
  /** An htpasswd file whose users may call the API with Basic credentials (read at load and reload). */
  readonly htpasswd: string | null
  /** The file's users and their hashes. */
  readonly users: readonly (readonly [string, string])[]
}

/** The `trace` key (config/trace.ts, docs/trace.md). */
export interface TraceConfig {
  /** Trace every request (into the admin API's ring; `rawproxy --trace` also prints them). */
  readonly all: boolean
  /** CIDRs whose requests may ask for a trace with `rawproxy-trace: 1`; from anyone else the field is ignored. Never forwarded. */
  readonly header_from: readonly string[]
}

export interface Config {
  /** Addresses to listen on, IPv4 or IPv6: "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4/IPv6), or { address, tls, redirect_https }. */
  readonly listen: readonly Listener[]
  /** CIDRs whose X-Forwarded-* and Forwarded headers are kept and extended; from others they are replaced. */
  readonly trusted_proxies: readonly string[]
  /** The pseudonym in our Via entry (RFC 9110 §7.6.3). */
  readonly via: string
  readonly timeouts: Timeouts
  readonly limits: Limits
  readonly upstreams: ReadonlyMap<string, Upstream>
  /** Most specific first: exact host, then wildcard host (longest first), then any; longest path first. */
  readonly routes: readonly Route[]
  /** The features of every route that does not set its own, and of requests no route matches. */
  readonly defaults: Features
  readonly access_log: LogTarget
  readonly event_log: LogTarget
  /**
   * Processes serving the listeners. 1: this one process, no cluster. More: a primary (src/cluster/)
   * forks that many workers, each a full proxy on the shared listeners. "auto" in YAML is the number
   * of cores (os.availableParallelism()), resolved when the config is validated.
   */
  readonly workers: number
  /** The admin API and the metrics; null (the default): off, and nothing is counted. */
  readonly admin: AdminConfig | null
  /** Request tracing (src/trace/): off unless set. */
  readonly trace: TraceConfig
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
  upstream: {
    balance: 'round_robin',
    hash_key: { from: 'client_ip' },
    slow_start: 0,
    retries: 2,
    retry_budget: 0.2,
  },
  health: {
    type: 'http',
    method: 'GET',
    path: '/',
    host: null,
    status: [200, 399],
    body: null,
    interval: 2_000,
    jitter: 0.1,
    timeout: 1_000,
    rise: 2,
    fall: 3,
  },
  passive: {
    failures: 3,
    errors_5xx: 0,
    ejection: 10_000,
    max_ejection: 300_000,
    max_ejected_percent: 50,
  },
  tls: {
    min_version: 'TLSv1.2',
    // Mozilla's "intermediate" list: ECDHE key exchange and AEAD ciphers only, TLS 1.3 suites first.
    ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:' +
      'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:' +
      'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
    client_auth: 'required',
    hsts: 'max-age=31536000',
    ticket_rotation: 3_600_000,
  },
  auth: {
    /** RFC 7617 §2: the protection space clients are told to authenticate for. */
    realm: 'rawproxy',
    /** Failed attempts per client address: ten at once, then one every 6 s (filters/auth/failures.ts). */
    failures: { rate: { count: 10, per: 60_000 }, burst: 9 },
  },
  access_log: { path: 'stdout', format: 'json' },
  event_log: { path: 'stderr', format: 'text' },
  workers: 1,
  admin: null,
  trace: { all: false, header_from: [] as string[] },
} as const
