/**
 * One listening socket and what its connections need to know of it: plain or TLS, the HSTS line, the
 * HTTPS redirect. A reload updates an endpoint in place, so open connections see the new values at
 * their next request and a TLS listener never stops accepting.
 */
import { Server as NetServer, Socket, createServer } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Listener } from '../config/schema.js'
import { ConfigError } from '../config/validate.js'
import { CertStore, TlsTerminator } from './tls.js'

/** What a connection reads of its listener (connection.ts). */
export interface ListenerInfo {
  /** Connections arrive decrypted (X-Forwarded-Proto: https). */
  readonly tls: boolean
  /** The Strict-Transport-Security value of a TLS listener with `hsts` (the hsts filter adds it), or null. */
  readonly hsts: string | null
  /** A plain listener that answers 308 to https://; the port of the target URL (0: no redirect). */
  readonly redirect: number
}

export interface EndpointEvents {
  accept(s: Socket, ep: Endpoint): void
  /** A TLS connection closed at accept by Node's per-listener cap (`limits.max_connections`), before any handshake. */
  drop(): void
  handshakeFailed(err: Error, s: TLSSocket, ep: Endpoint): void
}

export class Endpoint implements ListenerInfo {
  readonly server: NetServer
  readonly terminator: TlsTerminator | null
  hsts: string | null = null
  redirect = 0

  constructor(l: Listener, handshakeTimeout: number, maxConnections: number, on: EndpointEvents) {
    if (l.tls !== undefined) {
      this.terminator = new TlsTerminator(l.tls, handshakeTimeout)
      this.server = this.terminator.server
      this.server.on('secureConnection', (s: TLSSocket) => on.accept(s, this))
      // A client that is not speaking TLS, offers no shared version or cipher, or fails the client
      // certificate check: logged and counted; the listener goes on.
      this.server.on('tlsClientError', (err: Error, s: TLSSocket) => on.handshakeFailed(err, s, this))
    } else {
      this.terminator = null
      this.server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => on.accept(s, this))
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
    this.redirect = l.redirect_https ?? 0
  }

  close(): void {
    if (this.terminator !== null) this.terminator.close()
    else this.server.close()
  }
}
