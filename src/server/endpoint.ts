/**
 * One listening socket and what its connections need to know of it: plain or TLS, the HSTS value, the
 * HTTPS redirect, its access rules and its PROXY protocol setting. A reload updates an endpoint in
 * place, so open connections see the new values at their next request and a listener never stops
 * accepting.
 *
 * Every listener accepts with a plain `net.Server`, so that what must happen before any byte is read
 * happens in one place for plain and TLS alike: the access check on the client's address, then the
 * PROXY protocol header (which comes before the TLS handshake). A TLS listener then hands the socket
 * to its `tls.Server` (TlsTerminator), which does the handshake as if it had accepted it itself.
 */
import { Server as NetServer, Socket, createServer } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Certificate, Listener } from '../config/schema.js'
import { CidrList } from '../config/cidr.js'
import { ConfigError } from '../config/validate.js'
import { AccessTable } from '../proxy/access-table.js'
import { CertStore, TlsTerminator } from './tls.js'
import { acceptProxyHeader } from './proxy-accept.js'
import { clientKey } from '../proxy/client-ip.js'
import { ownReads } from './own-read.js'

/** What a connection reads of its listener (connection.ts). */
export interface ListenerInfo {
  /** Connections arrive decrypted (X-Forwarded-Proto: https). */
  readonly tls: boolean
  /** The Strict-Transport-Security value of a TLS listener with `hsts` (the hsts filter adds it), or null. */
  readonly hsts: string | null
  /** A plain listener that answers 308 to https://; the port of the target URL (0: no redirect). */
  readonly redirect: number
  /** "host:port" as bound, for messages and traces. */
  readonly label: string
}

export interface EndpointEvents {
  /** `client`: the client's address, from the socket or from its PROXY protocol header. */
  accept(s: Socket, ep: Endpoint, client: string): void
  /** A connection closed at accept by Node's per-listener cap (`limits.max_connections`), before any byte. */
  drop(): void
  /** A connection the listener refuses before any HTTP byte: its `access` rules, or a bad or unwanted PROXY header. */
  refuse(s: Socket, ep: Endpoint, client: string, reason: string): void
  handshakeFailed(err: Error, s: TLSSocket, ep: Endpoint): void
}

/** The socket's peer address, IPv4-mapped IPv6 written as IPv4. */
export function peerAddress(s: Socket): string {
  const a = s.remoteAddress ?? ''
  return a.startsWith('::ffff:') ? a.slice(7) : a
}

export class Endpoint implements ListenerInfo {
  readonly server: NetServer
  readonly terminator: TlsTerminator | null
  hsts: string | null = null
  redirect = 0
  // For the metrics (admin/server-metrics.ts): connections accepted and open now, TLS handshakes by
  // "version result", sessions resumed, and the certificates served (their expiry).
  accepted = 0
  open = 0
  readonly handshakes = new Map<string, number>()
  resumed = 0
  certificates: readonly Certificate[] = []
  readonly #on: EndpointEvents
  /** The PROXY header must arrive within this (the head's time: slowloris, RFC 9110 §15.5.9). */
  readonly #headerTimeout: number
  #access: AccessTable | null = null
  /** With `proxy_protocol`: the load balancers a header is taken from; null: no PROXY protocol. */
  #proxyFrom: CidrList | null = null
  /** With `max_connections_per_ip`: the bound, and the open connections of each client (IPv6 by /64). */
  #perIp = 0
  readonly #open = new Map<string, number>()
  /** A TLS connection's client from its PROXY header, by raw socket, until the handshake is done. */
  readonly #clients = new WeakMap<Socket, string>()

  constructor(l: Listener, headerTimeout: number, maxConnections: number, on: EndpointEvents) {
    this.#on = on
    this.#headerTimeout = headerTimeout
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#connection(s))
    if (l.tls !== undefined) {
      this.terminator = new TlsTerminator(l.tls, headerTimeout)
      const tls = this.terminator.server
      tls.on('secureConnection', (s: TLSSocket) => on.accept(s, this, this.#clientOf(s)))
      // A client that is not speaking TLS, offers no shared version or cipher, or fails the client
      // certificate check: logged and counted; the listener goes on.
      tls.on('tlsClientError', (err: Error, s: TLSSocket) => on.handshakeFailed(err, s, this))
    } else {
      this.terminator = null
    }
    this.server.on('drop', () => on.drop())
    this.#settle(l, maxConnections)
  }

  get tls(): boolean { return this.terminator !== null }

  /** "host:port" as bound (port 0 resolved), for messages. */
  get label(): string {
    const a = this.server.address() as { address: string; port: number } | null
    if (a === null) return 'closed'
    return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
  }

  /** A new connection, before any byte of it is read. */
  #connection(raw: Socket): void {
    // A plain listener's sockets read through one shared buffer (own-read.ts); TLS reads the handle itself.
    const s = this.terminator === null ? ownReads(raw, this.server, true) : raw
    const peer = peerAddress(s)
    const from = this.#proxyFrom
    if (from === null) { this.#admit(s, peer); return }
    // PROXY protocol §2: the header is trusted only from the load balancers we were told of.
    if (!from.has(peer)) { this.#on.refuse(s, this, peer, 'PROXY protocol header from an address not in proxy_protocol_from'); return }
    acceptProxyHeader(s, this.#headerTimeout, (client, err) => {
      if (err !== null) this.#on.refuse(s, this, peer, err)
      else this.#admit(s, client ?? peer)
    })
  }

  /** The access check on the client's address, then the connection is served (plain) or its handshake starts (TLS). */
  #admit(s: Socket, client: string): void {
    if (this.#access !== null && !this.#access.allows(client)) { this.#on.refuse(s, this, client, 'denied by the listener\'s access rules'); return }
    if (this.#perIp !== 0 && !this.#hold(s, client)) { this.#on.refuse(s, this, client, 'max_connections_per_ip'); return }
    if (this.terminator === null) {
      this.#on.accept(s, this, client)
      // After a PROXY header the socket was paused to put the bytes after it back: reading goes on now.
      if (s.isPaused()) s.resume()
      return
    }
    if (client !== peerAddress(s)) this.#clients.set(s, client)
    this.terminator.server.emit('connection', s)
  }

  /** Counts `s` under its client until it closes; false when the client holds its share already. */
  #hold(s: Socket, client: string): boolean {
    const k = clientKey(client)
    const n = this.#open.get(k) ?? 0
    if (n >= this.#perIp) return false
    this.#open.set(k, n + 1)
    s.once('close', () => {
      const left = this.#open.get(k)! - 1
      if (left === 0) this.#open.delete(k)
      else this.#open.set(k, left)
    })
    return true
  }

  /** The client of a TLS socket: its PROXY header's, or the socket's peer. */
  #clientOf(s: TLSSocket): string {
    // tls.Server wraps the socket we handed it; Node keeps the wrapped socket as `_parent`.
    const raw = (s as TLSSocket & { _parent?: Socket })._parent
    return (raw !== undefined ? this.#clients.get(raw) : undefined) ?? peerAddress(s)
  }

  /**
   * A reloaded entry for the same address, in two steps so a reload is refused whole: this checks it
   * and builds the new certificate contexts (throws ConfigError or a TLS error), the returned function
   * puts them in force.
   */
  prepare(l: Listener, index: number, maxConnections: number): () => void {
    if ((l.tls !== undefined) !== this.tls) {
      throw new ConfigError(`listen[${index}]`, `${this.label} cannot switch between plain and TLS on reload; restart to do so`)
    }
    const store = l.tls === undefined ? null : new CertStore(l.tls)
    return () => {
      if (store !== null) this.terminator!.update(l.tls!, store)
      this.#settle(l, maxConnections)
    }
  }

  #settle(l: Listener, maxConnections: number): void {
    // TLS only: past the cap Node closes a new socket at accept, before any handshake work, and says
    // 'drop'. Server.accept applies the same cap to every connection (a TLS one once its handshake is done).
    if (this.terminator !== null) this.server.maxConnections = maxConnections
    this.hsts = l.tls?.hsts ?? null
    this.certificates = l.tls?.certificates ?? []
    this.redirect = l.redirect_https ?? 0
    this.#access = l.access === undefined ? null : new AccessTable(l.access)
    this.#proxyFrom = l.proxy_protocol === undefined ? null : new CidrList(l.proxy_protocol)
    // A reload may change the bound; the connections open now stay counted (the Map outlives it).
    this.#perIp = l.max_connections_per_ip ?? 0
  }

  /** One TLS handshake's outcome, counted by protocol version ("TLSv1.3"; "unknown" when it failed). */
  handshake(version: string, result: 'ok' | 'failed'): void {
    const k = `${version} ${result}`
    this.handshakes.set(k, (this.handshakes.get(k) ?? 0) + 1)
  }

  close(): void {
    this.terminator?.close()
    this.server.close()
  }
}
