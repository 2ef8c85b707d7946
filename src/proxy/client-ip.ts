/**
 * The real client address, the one access rules, request rules, `{client_ip}` and the access log see:
 * the connection's client (the socket peer, or the source a PROXY protocol header gave), unless that
 * is a trusted proxy; then the rightmost address of X-Forwarded-For (or, without it, of Forwarded's
 * `for=`, RFC 7239 §5.2) that is not a trusted proxy itself. Rightmost, because every entry left of
 * the first untrusted hop was written by someone we do not trust, and may be forged.
 */
import { Head, name } from '../http/head.js'
import { parseIp, type CidrList } from '../config/cidr.js'

const XFF = name('x-forwarded-for')
const FORWARDED = name('forwarded')

/** `conn`: the connection's client; `connTrusted`: it is in `trusted`. */
export function realClient(h: Head, conn: string, connTrusted: boolean, trusted: CidrList): string {
  if (!connTrusted) return conn
  let hops = entries(h, XFF, plain)
  if (hops === null) hops = entries(h, FORWARDED, forwardedFor)
  if (hops === null) return conn
  let client = conn
  for (let i = hops.length - 1; i >= 0; i--) {
    const a = hops[i]
    // Not an address ("unknown", an obfuscated node, garbage): the hop that wrote it is the last we know.
    if (a === null) return client
    client = a
    if (!trusted.has(a)) return a
  }
  return client
}

/** The addresses listed by every field named `field`, in order, or null when there is none. */
function entries(h: Head, field: Buffer, read: (item: string) => string | null): (string | null)[] | null {
  let out: (string | null)[] | null = null
  for (let i = h.find(field); i >= 0; i = h.find(field, i + 1)) {
    out ??= []
    for (const item of h.value(i).split(',')) out.push(read(item.trim()))
  }
  return out
}

/** An X-Forwarded-For item: an address, possibly with a port ("1.2.3.4:80", "[::1]:80"). */
function plain(item: string): string | null {
  let a = item
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']') < 0 ? a.length : a.indexOf(']'))
  else if (a.indexOf(':') === a.lastIndexOf(':') && a.includes(':')) a = a.slice(0, a.indexOf(':'))
  // A zone id names an interface of the hop that wrote it, not the client: the address is the client.
  if (a.includes('%') && a.includes(':')) a = a.slice(0, a.indexOf('%'))
  // The same reading as the CIDR tables (config/ip.ts), so whatever is a client here can be looked up.
  if (parseIp(a) === null) return null
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
}

/** A Forwarded element's `for=` node (RFC 7239 §6): `for=192.0.2.43`, `for="[2001:db8::1]:4711"`. */
function forwardedFor(element: string): string | null {
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
    let v = pair.slice(eq + 1).trim()
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1)
    return plain(v)
  }
  return null
}

/**
 * The key a client is counted under (auth's admission and failures, rate limits, connections per
 * address): its address, or the /64 of an IPv6 one (one host commonly holds a whole /64).
 */
export function clientKey(addr: string): string {
  if (!addr.includes(':')) return addr
  const ip = parseIp(addr)
  if (ip === null) return addr
  // An IPv4-mapped address however written (::FFFF:1.2.3.4, 0:0:0:0:0:ffff:102:304) is its IPv4 one.
  if (typeof ip === 'number') return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`
  return `${ip[0].toString(16)}:${ip[1].toString(16)}::/64`
}
