/**
 * TLS to one peer of a group with `tls`: the connect options, built once, and the last session the
 * peer gave us, offered again on the next connection (RFC 8446 §2.2 resumption). Each group makes its
 * own Peer for an address, with one PeerTls (one servername) and one pool, so the pool and the session
 * are keyed by peer and TLS identity: two groups that reach one address under two names never share
 * a socket or a session (spec/tls/upstream.spec.ts).
 */
import { constants } from 'node:crypto'
import { isIP } from 'node:net'
import { ConnectionOptions, TLSSocket, connect } from 'node:tls'
import type { Address, UpstreamTls } from '../config/schema.js'
import { Code, ProxyError } from '../errors.js'

// OpenSSL's verify results as Node reports them (X509_V_ERR_* names), and Node's own name check.
const VERIFY = /^(UNABLE_TO_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|ERR_TLS_CERT_ALTNAME_INVALID$|HOSTNAME_MISMATCH$|INVALID_CA$|ERR_SSL_.*CERTIFICATE)/

export class PeerTls {
  /** SNI sent and name checked; null for a peer known only by address. */
  readonly servername: string | null
  readonly #opts: ConnectionOptions
  #session: Buffer | undefined = undefined
  /** Handshakes that resumed a session (for tests and the status snapshot). */
  resumed = 0

  constructor(cfg: UpstreamTls, addr: Address) {
    this.servername = cfg.servername ?? (isIP(addr.host) === 0 ? addr.host : null)
    this.#opts = {
      host: addr.host,
      port: addr.port,
      servername: this.servername ?? undefined,
      rejectUnauthorized: cfg.verify,
      ca: cfg.ca ?? undefined,
      cert: cfg.client_cert?.cert,
      key: cfg.client_cert?.key,
      ALPNProtocols: ['http/1.1'],
      // A peer's HelloRequest is refused (TLS 1.2; 1.3 has no renegotiation): the identity verified at
      // the handshake is the one the pooled socket keeps (src/server/tls.ts refuses it from clients).
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      // Without servername, Node checks the certificate against `host` (an IP SAN for an address).
    }
  }

  /** A new TLS connection, offering the last session; the owner waits for 'secureConnect'. */
  connect(): TLSSocket {
    const s = connect({ ...this.#opts, session: this.#session })
    s.setNoDelay(true)
    s.on('session', (session: Buffer) => { this.#session = session })
    s.once('secureConnect', () => { if (s.isSessionReused()) this.resumed++ })
    return s
  }

  /** A handshake error as a typed fault (502), or null when it is no TLS matter (refused, reset). */
  fault(err: Error, label: string): ProxyError | null {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (!VERIFY.test(code)) return null
    // A session that failed must not be offered again.
    this.#session = undefined
    return new ProxyError(Code.UPSTREAM_TLS, `TLS to ${label}: ${code}: ${err.message}`, err)
  }
}
