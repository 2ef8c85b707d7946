/**
 * Test support for spec/tls: the test PKI of fixtures/tls (made by its script when missing), proxies
 * with a TLS listener, TLS peers, and handshake helpers. Real sockets and real TLS on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AddressInfo } from 'node:net'
import { ConnectionOptions, PeerCertificate, TLSSocket, connect } from 'node:tls'
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { startProxy, ProxyHandle } from './harness.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const OUT = `${ROOT}fixtures/tls/out/`

/** The path of a file of the test PKI (e.g. "rsa.pem"), made on first use. */
export function pki(name: string): string {
  if (!existsSync(`${OUT}weak.pem`)) execFileSync('bash', [`${ROOT}fixtures/tls/make-certs.sh`], { stdio: 'ignore' })
  return OUT + name
}

export function pem(name: string): string {
  return readFileSync(pki(name), 'utf8')
}

/** A certificates entry for the config: `pair('rsa')` is rsa.pem with rsa.key. */
export function pair(name: string): { cert: string; key: string } {
  return { cert: pki(`${name}.pem`), key: pki(`${name}.key`) }
}

/** A proxy whose one listener terminates TLS with `tls` (the raw `listen[0].tls` section). */
export function tlsProxy(tls: Record<string, unknown>, cfg: Record<string, unknown>): Promise<ProxyHandle> {
  return startProxy({ listen: [{ address: '127.0.0.1:0', tls }], ...cfg })
}

export interface Handshake {
  socket: TLSSocket | null
  error: Error | null
  cert: PeerCertificate | null
}

/**
 * One TLS handshake with the test CA trusted; resolves with the socket (left open: the caller ends
 * it) or the error. Under TLS 1.3 a refused client certificate shows only after the handshake, so
 * with `read` the client also waits a moment for that alert.
 */
export function handshake(port: number, opts: ConnectionOptions = {}, read = false): Promise<Handshake> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: pem('ca.pem'), ...opts })
    let done = false
    const finish = (error: Error | null): void => {
      if (done) return
      done = true
      if (error !== null) s.destroy()
      resolve({ socket: error === null ? s : null, error, cert: error === null ? s.getPeerCertificate() : null })
    }
    s.on('error', (e) => finish(e))
    s.on('close', () => finish(new Error('closed')))
    s.on('secureConnect', () => {
      if (!read) { finish(null); return }
      s.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n')
      s.once('data', () => finish(null))
    })
  })
}

/** Sends one request on an open TLS socket and resolves with the reply up to `until`. */
export function request(s: TLSSocket, text: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const onData = (d: Buffer): void => {
      got += d.toString('latin1')
      if (until.test(got)) { s.off('data', onData); resolve(got) }
    }
    s.on('data', onData)
    s.once('error', reject)
    s.write(text)
  })
}

export interface TlsPeer {
  server: HttpsServer
  port: number
  /** Per TLS connection: the SNI it asked for, whether it resumed a session, and the client cert subject. */
  conns: { servername: string; resumed: boolean; client: string }[]
  /** Per request: the servername of the connection it came on, and the Host. */
  requests: { servername: string; host: string }[]
  close(): Promise<void>
}

/** An HTTPS peer with the given certificate ("upstream", "other", "expired"), answering 200 "tls ok". */
export async function tlsPeer(cert: string, opts: { requestCert?: boolean; maxVersion?: 'TLSv1.2' } = {}): Promise<TlsPeer> {
  const p = { conns: [], requests: [] } as unknown as TlsPeer
  const server = createHttpsServer({
    cert: pem(`${cert}.pem`), key: pem(`${cert}.key`), ca: pem('ca.pem'),
    requestCert: opts.requestCert === true, rejectUnauthorized: false, maxVersion: opts.maxVersion,
  }, (req: IncomingMessage, res) => {
    const s = req.socket as TLSSocket
    p.requests.push({ servername: (s as TLSSocket & { servername?: string | false }).servername || '', host: req.headers.host ?? '' })
    res.end('tls ok')
  })
  server.on('secureConnection', (s: TLSSocket) => {
    const c = s.getPeerCertificate()
    p.conns.push({
      servername: (s as TLSSocket & { servername?: string | false }).servername || '',
      resumed: s.isSessionReused(),
      client: s.authorized && c.subject !== undefined ? String(c.subject.CN) : '',
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  p.server = server
  p.port = (server.address() as AddressInfo).port
  p.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) })
  return p
}
