/**
 * TLS termination for one listener: the certificate store with SNI selection, the session ticket key
 * and its rotation, client certificate checks (mTLS), and the `node:tls` server whose decrypted
 * sockets go to the same ClientConn as plain ones (server.ts).
 */
import { constants, createPrivateKey, randomBytes } from 'node:crypto'
import { Server as TlsServer, SecureContext, SecureContextOptions, TLSSocket, createSecureContext } from 'node:tls'
import type { ListenTls, Certificate } from '../config/schema.js'

/** The SNI choices of one config, built once (a handshake costs one or two Map lookups). */
export class CertStore {
  /** Per name: one context per certificate of that name (an RSA and an ECDSA one side by side). */
  readonly #exact = new Map<string, SecureContext[]>()
  /** "*.example.com" under "example.com". */
  readonly #wild = new Map<string, SecureContext[]>()
  /**
   * The server's own context, for a client without SNI: one certificate of the default name (its RSA
   * one when it has one). Only one: OpenSSL keeps a slot per key type, and a slot the SNI context does
   * not fill keeps the server's certificate, so an ECDSA default would be served for a name that has
   * an RSA certificate only, to every client that accepts ECDSA.
   */
  readonly defaults: SecureContextOptions
  /** The default name's contexts (its RSA and ECDSA certificates), for a name no certificate has. */
  readonly defaultContexts: SecureContext[]

  constructor(cfg: ListenTls) {
    // One context per certificate, shared by its names.
    const single = cfg.certificates.map((c) => createSecureContext(contextOptions(cfg, [c])))
    cfg.certificates.forEach((c, i) => {
      for (const n of c.names) {
        const map = n.startsWith('*.') ? this.#wild : this.#exact
        const key = n.startsWith('*.') ? n.slice(2) : n
        map.set(key, [...(map.get(key) ?? []), single[i]])
      }
    })
    const first = cfg.certificates[0]
    const mates = cfg.certificates.filter((c) => c === first || (c.names.length > 0 && c.names.join() === first.names.join()))
    const rsa = mates.find((c) => keyType(c.key) === 'rsa') ?? first
    this.defaults = contextOptions(cfg, [rsa])
    this.defaultContexts = mates.map((c) => single[cfg.certificates.indexOf(c)])
  }

  /**
   * The contexts for a client's server_name (RFC 6066 §3), or undefined for the default. A wildcard
   * matches exactly one left-most label (RFC 6125 §6.4.3): "*.b.test" serves "x.b.test", not "b.test"
   * nor "y.x.b.test".
   */
  select(servername: string): SecureContext[] | undefined {
    const name = servername.toLowerCase()
    const exact = this.#exact.get(name)
    if (exact !== undefined) return exact
    const dot = name.indexOf('.')
    return dot > 0 ? this.#wild.get(name.slice(dot + 1)) : undefined
  }
}

/** The key's type ('rsa', 'ec'...), or '' when node:crypto cannot read it (OpenSSL then judges it). */
function keyType(pem: string): string {
  try { return createPrivateKey(pem).asymmetricKeyType ?? '' } catch { return '' }
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
    // No renegotiation (TLS 1.2 and below; 1.3 has none, RFC 8446 §4.1.2): a client-initiated one costs
    // the server a full handshake for each cheap request of the client (CVE-2011-1473, a DoS). OpenSSL
    // refuses it with a no_renegotiation alert. A connection takes its options from the server's context
    // (on reload too: setSecureContext gets these); the SNI ones carry it as well, so no path lacks it.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  }
}

/**
 * The SNI callback. Node installs only the current certificate of the context it is given, so a
 * name's other certificates (its RSA one next to its ECDSA one) are set on the socket first, with
 * setKeyCert; OpenSSL then sends the one the client's signature algorithms allow (RFC 8446 §4.2.3).
 * Node calls this with the socket as `this`. A key type the name has no certificate of keeps the
 * server's (one cannot unset it; CertStore.defaults holds the RSA one only, the type every client
 * takes): a client that accepts only the other type gets a certificate for another name and fails
 * it, as it would with no certificate at all.
 */
function sni(t: TlsTerminator): (this: TLSSocket, name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void {
  return function (this: TLSSocket, name, cb) {
    // A name no certificate has: the default name's certificates, each of its key types.
    const ctxs = t.store.select(name) ?? t.store.defaultContexts
    for (let i = 0; i < ctxs.length - 1; i++) this.setKeyCert(ctxs[i])
    cb(null, ctxs[ctxs.length - 1])
  }
}

/** "O=rawproxy tests, CN=client-1": the subject of a verified client certificate, or '' without one. */
export function verifiedSubject(s: TLSSocket): string {
  if (!s.authorized) return ''
  const c = s.getPeerX509Certificate()
  return c === undefined ? '' : c.subject.split('\n').join(', ')
}

/** What decides which clients get in: the CAs for client certificates and whether one is required. */
function policyOf(cfg: ListenTls): string {
  return JSON.stringify([cfg.client_ca, cfg.client_auth])
}

/**
 * One listener's `node:tls` server. The store and the client-certificate policy are swapped on reload;
 * connections already open keep the session they negotiated. The ticket key is ours, kept across
 * reloads and replaced every `ticket_rotation`.
 */
export class TlsTerminator {
  readonly server: TlsServer
  store: CertStore
  #ticketKeys: Buffer
  #rotation: NodeJS.Timeout | null = null
  #every = 0
  /** The client-certificate policy the current ticket key was issued under (see update). */
  #policy: string

  constructor(cfg: ListenTls, handshakeTimeout: number) {
    this.store = new CertStore(cfg)
    // 48 bytes: name, HMAC and AES keys of the ticket (see tls.Server.setTicketKeys).
    this.#ticketKeys = randomBytes(48)
    this.#policy = policyOf(cfg)
    this.server = new TlsServer({
      ...this.store.defaults,
      ticketKeys: this.#ticketKeys,
      // RFC 9113 is not spoken here: a client offering only h2 is told no_application_protocol.
      ALPNProtocols: ['http/1.1'],
      SNICallback: sni(this),
      handshakeTimeout,
      allowHalfOpen: true,
      noDelay: true,
    })
    this.#apply(cfg)
  }

  /** A reloaded config: new certificates for new handshakes; open connections are not touched. */
  update(cfg: ListenTls, store: CertStore): void {
    this.store = store
    // A resumed session keeps the client-certificate verdict of its first handshake: when the policy
    // changes, sessions sealed under the old one must not resume (a removed CA would still be let in).
    const policy = policyOf(cfg)
    if (policy !== this.#policy) { this.#policy = policy; this.#ticketKeys = randomBytes(48) }
    this.server.setSecureContext({ ...this.store.defaults, ticketKeys: this.#ticketKeys })
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
