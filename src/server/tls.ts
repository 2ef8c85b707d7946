/**
 * TLS termination for one listener: the certificate store with SNI selection, the session ticket key
 * and its rotation, client certificate checks (mTLS), and the `node:tls` server whose decrypted
 * sockets go to the same ClientConn as plain ones (server.ts).
 */
import { randomBytes } from 'node:crypto'
import { Server as TlsServer, SecureContext, SecureContextOptions, TLSSocket, createSecureContext } from 'node:tls'
import type { ListenTls, Certificate } from '../config/schema.js'

/** The SNI choices of one config, built once (a handshake costs one or two Map lookups). */
export class CertStore {
  readonly #exact = new Map<string, SecureContext>()
  /** "*.example.com" under "example.com". */
  readonly #wild = new Map<string, SecureContext>()
  /** For a client without SNI, or with a name no certificate has. */
  readonly defaults: SecureContextOptions

  constructor(cfg: ListenTls) {
    // Every certificate naming a host goes into that host's context: an RSA and an ECDSA certificate
    // for the same names sit side by side, and OpenSSL sends the one the client's signature
    // algorithms allow (RFC 8446 §4.2.3).
    const byName = new Map<string, Certificate[]>()
    for (const c of cfg.certificates) for (const n of c.names) byName.set(n, [...(byName.get(n) ?? []), c])
    const made = new Map<string, SecureContext>()
    for (const [name, certs] of byName) {
      const k = certs.map((c) => cfg.certificates.indexOf(c)).join(',')
      let ctx = made.get(k)
      if (ctx === undefined) { ctx = createSecureContext(contextOptions(cfg, certs)); made.set(k, ctx) }
      if (name.startsWith('*.')) this.#wild.set(name.slice(2), ctx)
      else this.#exact.set(name, ctx)
    }
    const first = cfg.certificates[0]
    this.defaults = contextOptions(cfg, first.names.length > 0 ? byName.get(first.names[0])! : [first])
  }

  /**
   * The context for a client's server_name (RFC 6066 §3), or undefined for the default. A wildcard
   * matches exactly one left-most label (RFC 6125 §6.4.3): "*.b.test" serves "x.b.test", not "b.test"
   * nor "y.x.b.test".
   */
  select(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase()
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    const dot = name.indexOf('.')
    return dot > 0 ? this.#wild.get(name.slice(dot + 1)) : undefined
  }
}

function contextOptions(cfg: ListenTls, certs: readonly Certificate[]): SecureContextOptions {
  return {
    cert: certs.map((c) => c.cert),
    key: certs.map((c) => c.key),
    ca: cfg.client_ca ?? undefined,
    minVersion: cfg.min_version,
    ciphers: cfg.ciphers,
    // The server's order: the client cannot pick a weaker suite than we prefer.
    honorCipherOrder: true,
    // RFC 8446 §4.6.1: a ticket is good for at most as long as its key lives.
    sessionTimeout: Math.ceil(cfg.ticket_rotation / 1000),
  }
}

/** "O=rawproxy tests, CN=client-1": the subject of a verified client certificate, or '' without one. */
export function verifiedSubject(s: TLSSocket): string {
  if (!s.authorized) return ''
  const c = s.getPeerX509Certificate()
  return c === undefined ? '' : c.subject.split('\n').join(', ')
}

/**
 * One listener's `node:tls` server. The store and the client-certificate policy are swapped on reload;
 * connections already open keep the session they negotiated. The ticket key is ours, kept across
 * reloads and replaced every `ticket_rotation`.
 */
export class TlsTerminator {
  readonly server: TlsServer
  #store: CertStore
  #ticketKeys: Buffer
  #rotation: NodeJS.Timeout | null = null
  #every = 0

  constructor(cfg: ListenTls, handshakeTimeout: number) {
    this.#store = new CertStore(cfg)
    // 48 bytes: name, HMAC and AES keys of the ticket (see tls.Server.setTicketKeys).
    this.#ticketKeys = randomBytes(48)
    this.server = new TlsServer({
      ...this.#store.defaults,
      ticketKeys: this.#ticketKeys,
      // RFC 9113 is not spoken here: a client offering only h2 is told no_application_protocol.
      ALPNProtocols: ['http/1.1'],
      SNICallback: (name, cb) => cb(null, this.#store.select(name)),
      handshakeTimeout,
      allowHalfOpen: true,
      noDelay: true,
    })
    this.#apply(cfg)
  }

  /** A reloaded config: new certificates for new handshakes; open connections are not touched. */
  update(cfg: ListenTls, store: CertStore): void {
    this.#store = store
    this.server.setSecureContext({ ...this.#store.defaults, ticketKeys: this.#ticketKeys })
    this.#apply(cfg)
  }

  #apply(cfg: ListenTls): void {
    // tls.Server reads these two fields at each accept; its typings leave them out.
    const srv = this.server as TlsServer & { requestCert: boolean; rejectUnauthorized: boolean }
    srv.requestCert = cfg.client_ca !== null
    srv.rejectUnauthorized = cfg.client_ca !== null && cfg.client_auth === 'required'
    if (this.#every !== cfg.ticket_rotation) {
      this.#every = cfg.ticket_rotation
      if (this.#rotation !== null) clearInterval(this.#rotation)
      this.#rotation = setInterval(() => this.rotate(), cfg.ticket_rotation).unref()
    }
  }

  /**
   * A new ticket key. Node holds one key at a time, so tickets sealed with the old one no longer
   * resume: their clients get a full handshake, once.
   */
  rotate(): void {
    this.#ticketKeys = randomBytes(48)
    this.server.setTicketKeys(this.#ticketKeys)
  }

  close(): void {
    if (this.#rotation !== null) clearInterval(this.#rotation)
    this.#rotation = null
    this.server.close()
  }
}
