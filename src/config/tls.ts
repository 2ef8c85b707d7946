/**
 * The `tls` sections of a listener and of an upstream group. Certificates and keys are read and
 * checked here, at load and on each reload: a file that cannot be read, a PEM that does not parse, a
 * key that does not match its certificate, or an expired certificate refuses the whole config with
 * the field path (e.g. `listen[0].tls.certificates[1].cert: cannot read file ...`), so a bad reload
 * leaves the running certificates in place.
 */
import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { isIP } from 'node:net'
import { Certificate, DEFAULTS, Listener, ListenTls, UpstreamTls } from './schema.js'
import { address, duration, fail, int, join, list, object, str } from './validate.js'
import { access } from './access.js'
import { parseCidr } from './cidr.js'

function readPem(v: unknown, path: string): { file: string; text: string } {
  const file = str(v, path)
  try {
    return { file, text: readFileSync(file, 'utf8') }
  } catch (err) {
    fail(path, `cannot read file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function x509(text: string, path: string): X509Certificate {
  try {
    return new X509Certificate(text)
  } catch {
    fail(path, 'is not a PEM certificate')
  }
}

/** The DNS names of a certificate's subjectAltName (RFC 6125 §6.4: the SAN, not the CN, names the host). */
export function sanNames(c: X509Certificate): string[] {
  const san = c.subjectAltName ?? ''
  return san.split(/,\s*/).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase())
}

/** A certificate and its key, checked against each other and against the clock. */
function certificate(v: unknown, path: string): Certificate {
  const o = object(v, path, ['cert', 'key'])
  const c = readPem(o.cert, join(path, 'cert'))
  const k = readPem(o.key, join(path, 'key'))
  const leaf = x509(c.text, join(path, 'cert'))
  let key
  try {
    key = createPrivateKey(k.text)
  } catch {
    fail(join(path, 'key'), `${k.file} is not a PEM private key`)
  }
  if (!leaf.checkPrivateKey(key)) fail(join(path, 'key'), `${k.file} does not belong to the certificate ${c.file}`)
  if (Date.parse(leaf.validTo) < Date.now()) fail(join(path, 'cert'), `${c.file} expired on ${leaf.validTo}`)
  if (Date.parse(leaf.validFrom) > Date.now()) fail(join(path, 'cert'), `${c.file} is not valid before ${leaf.validFrom}`)
  try {
    // What OpenSSL itself refuses (a key too weak for its security level, a broken chain).
    createSecureContext({ cert: c.text, key: k.text })
  } catch (err) {
    fail(path, `not usable: ${(err as Error).message}`)
  }
  return { cert_file: c.file, key_file: k.file, cert: c.text, key: k.text, names: sanNames(leaf) }
}

function caBundle(v: unknown, path: string): string {
  const { text } = readPem(v, path)
  x509(text, path)
  return text
}

const VERSIONS: Record<string, ListenTls['min_version']> = { 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' }

/** `listen[i].tls`. */
export function listenTls(v: unknown, path: string): ListenTls {
  const o = object(v, path, ['certificates', 'min_version', 'ciphers', 'client_ca', 'client_auth', 'hsts', 'ticket_rotation'])
  const cp = join(path, 'certificates')
  if (o.certificates === undefined) fail(cp, 'is required (a list of {cert, key})')
  const certificates = list(o.certificates, cp).map((c, i) => certificate(c, join(cp, i)))
  if (certificates.length === 0) fail(cp, 'needs at least one certificate')
  const d = DEFAULTS.tls
  let min_version: ListenTls['min_version'] = d.min_version
  if (o.min_version !== undefined) {
    min_version = VERSIONS[String(o.min_version)]
    if (min_version === undefined) fail(join(path, 'min_version'), 'must be "TLSv1.2" or "TLSv1.3" (1.0 and 1.1 are obsolete, RFC 8996)')
  }
  const ciphers = o.ciphers === undefined ? d.ciphers : str(o.ciphers, join(path, 'ciphers'))
  try {
    createSecureContext({ ciphers })
  } catch (err) {
    fail(join(path, 'ciphers'), `not usable: ${(err as Error).message}`)
  }
  const client_ca = o.client_ca === undefined ? null : caBundle(o.client_ca, join(path, 'client_ca'))
  const auth = o.client_auth ?? d.client_auth
  if (auth !== 'required' && auth !== 'optional') fail(join(path, 'client_auth'), 'must be "required" or "optional"')
  if (o.client_auth !== undefined && client_ca === null) fail(join(path, 'client_auth'), 'needs client_ca')
  let hsts: string | null = null
  if (o.hsts === true) hsts = d.hsts
  else if (o.hsts !== undefined && o.hsts !== false) {
    hsts = str(o.hsts, join(path, 'hsts'))
    // RFC 6797 §6.1: max-age is required; a value is one header line.
    if (!/^max-age=\d+(\s*;\s*(includeSubDomains|preload))*$/i.test(hsts)) fail(join(path, 'hsts'), 'must be true or "max-age=SECONDS[; includeSubDomains][; preload]"')
  }
  const ticket_rotation = o.ticket_rotation === undefined ? d.ticket_rotation : duration(o.ticket_rotation, join(path, 'ticket_rotation'))
  return { certificates, min_version, ciphers, client_ca, client_auth: auth, hsts, ticket_rotation }
}

/** `upstreams.NAME.tls`: `true` is TLS with every default. */
export function upstreamTls(v: unknown, path: string): UpstreamTls {
  const o = v === true ? {} : object(v, path, ['verify', 'ca', 'servername', 'client_cert'])
  if (o.verify !== undefined && typeof o.verify !== 'boolean') fail(join(path, 'verify'), 'must be true or false')
  const servername = o.servername === undefined ? null : str(o.servername, join(path, 'servername')).toLowerCase()
  // RFC 6066 §3: the server_name is a host name, never an address literal.
  if (servername !== null && (isIP(servername) !== 0 || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(servername))) {
    fail(join(path, 'servername'), `"${servername}" is not a DNS host name`)
  }
  let client_cert = null
  if (o.client_cert !== undefined) {
    const c = certificate(o.client_cert, join(path, 'client_cert'))
    client_cert = { cert: c.cert, key: c.key }
  }
  return {
    verify: o.verify !== false,
    ca: o.ca === undefined ? null : caBundle(o.ca, join(path, 'ca')),
    servername,
    client_cert,
  }
}

/**
 * A `listen` entry: "host:port", or { address, tls | redirect_https, access, proxy_protocol,
 * proxy_protocol_from, max_connections_per_ip }. `trusted`: the top-level trusted_proxies, the default proxy_protocol_from.
 */
export function listener(v: unknown, path: string, trusted: readonly string[] = []): Listener {
  if (typeof v !== 'object' || v === null) return address(v, path, '::')
  const o = object(v, path, ['address', 'tls', 'redirect_https', 'access', 'proxy_protocol', 'proxy_protocol_from', 'max_connections_per_ip'])
  const at = (k: string): string => join(path, k)
  const a: Listener = address(o.address, at('address'), '::')
  if (o.tls !== undefined && o.redirect_https !== undefined) fail(at('redirect_https'), 'is for a plain listener, not one with tls')
  const more: { -readonly [K in keyof Listener]?: Listener[K] } = {}
  if (o.access !== undefined) more.access = access(o.access, at('access'))
  if (o.max_connections_per_ip !== undefined) more.max_connections_per_ip = int(o.max_connections_per_ip, at('max_connections_per_ip'), 1, 1_000_000)
  if (o.proxy_protocol !== undefined && typeof o.proxy_protocol !== 'boolean') fail(at('proxy_protocol'), 'must be true or false')
  if (o.proxy_protocol_from !== undefined && o.proxy_protocol !== true) fail(at('proxy_protocol_from'), 'needs proxy_protocol: true')
  if (o.proxy_protocol === true) {
    // A PROXY header names the client: taken from anyone, it would let any client choose its address.
    const from = o.proxy_protocol_from === undefined ? [...trusted] : list(o.proxy_protocol_from, at('proxy_protocol_from')).map((c, i) => {
      const s = str(c, join(at('proxy_protocol_from'), i))
      if (parseCidr(s) === null) fail(join(at('proxy_protocol_from'), i), `"${s}" is not an IP address or CIDR`)
      return s
    })
    if (from.length === 0) fail(at('proxy_protocol_from'), 'is required with proxy_protocol (the CIDRs of the load balancers; trusted_proxies is the default)')
    more.proxy_protocol = from
  }
  if (o.tls !== undefined) more.tls = listenTls(o.tls, at('tls'))
  else if (o.redirect_https !== undefined && o.redirect_https !== false) {
    more.redirect_https = o.redirect_https === true ? 443 : int(o.redirect_https, at('redirect_https'), 1, 65535)
  }
  return { ...a, ...more }
}
