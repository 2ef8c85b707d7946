/**
 * The differential check of one request: what the independent parser read from the client's bytes,
 * turned into what the proxy must forward under its documented rewrites (README "What it does on the
 * wire"), against what the peer's own node:http parser received (its echo). Written from the RFCs
 * and the docs, never from rawproxy's code.
 */
import { createHash } from 'node:crypto'
import type { Msg } from './reference.js'
import { unnamed, values } from './reference.js'

/** What the peer echoes for each request it parsed. */
export interface Echo {
  /** The peer's serial number of the request. */
  n: number
  m: string
  u: string
  v: string
  h: string[]
  t: string[]
  bl: number
  bh: string
}

export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex')
}

// RFC 9110 §7.6.1: hop-by-hop fields; and the forwarding fields, replaced for an untrusted client.
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'host'])
// Named by Connection but kept: they frame or route the message (the README's smuggling rule).
const KEPT = new Set(['close', 'keep-alive', 'content-length', 'transfer-encoding', 'host'])

/** RFC 3986 §5.2.4 over the path's segments, with %2E read as "." (§6.2.2.2); null when there are none. */
export function removeDots(path: string): string | null {
  const segs = path.split('/').slice(1)
  const dot = (s: string): number => { const t = s.replace(/%2e/gi, '.'); return t === '.' ? 1 : t === '..' ? 2 : 0 }
  if (!segs.some((s) => dot(s) !== 0)) return null
  const out: string[] = []
  segs.forEach((s, i) => {
    const d = dot(s)
    if (d === 2) out.pop()
    if (d === 0) out.push(s)
    else if (i === segs.length - 1) out.push('')
  })
  return '/' + out.join('/')
}

/** The target as forwarded: absolute-form to origin-form (RFC 9112 §3.2.2), dot-segments resolved. */
export function forwardedTarget(url: string): { target: string; authority: string | null } {
  if (url === '*') return { target: url, authority: null }
  let authority: string | null = null
  let t = url
  const m = /^https?:\/\/([^/?#]*)/i.exec(url)
  if (m !== null) {
    authority = m[1]
    const rest = url.slice(m[0].length)
    t = rest === '' || rest.startsWith('?') ? '/' + rest : rest
  }
  const q = t.indexOf('?')
  const path = q < 0 ? t : t.slice(0, q)
  const resolved = removeDots(path)
  return { target: resolved === null ? t : resolved + (q < 0 ? '' : t.slice(q)), authority }
}

/** The end-to-end fields of a request, in order, as name/value pairs. */
function endToEnd(headers: readonly string[]): string[] {
  const named = new Set<string>()
  for (const v of values(headers, 'connection')) for (const t of v.split(',')) { const x = t.trim().toLowerCase(); if (x !== '' && !KEPT.has(x)) named.add(x) }
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i].toLowerCase()
    if (!DROPPED.has(n) && !named.has(n)) out.push(headers[i], headers[i + 1])
  }
  return out
}

/** The peer's fields less what the proxy adds (X-Forwarded-*, Forwarded, Host, its own Via: the last one). */
function received(headers: readonly string[]): string[] {
  const out: string[] = []
  let via = -1
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === 'via') via = i
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i].toLowerCase()
    if (i !== via && !DROPPED.has(n)) out.push(headers[i], headers[i + 1])
  }
  return out
}

/**
 * Why the echo is not the request the client sent (as the independent parser read it), or null.
 * `client`: the client's address (the X-Forwarded-For the peer must get); `peerHost`: the Host the
 * proxy gives a request without one.
 */
export function differs(sent: Msg, e: Echo, client: string, peerHost: string): string | null {
  const { target, authority } = forwardedTarget(sent.url)
  // A method without a name here (see reference.ts) is not compared; the rest of the request is.
  if (!unnamed(sent.method) && e.m !== sent.method) return `method ${JSON.stringify(sent.method)} became ${JSON.stringify(e.m)}`
  if (e.u !== target) return `target ${JSON.stringify(sent.url)} should go as ${JSON.stringify(target)}, went as ${JSON.stringify(e.u)}`
  if (e.v !== '1.1') return `forwarded as HTTP/${e.v}`
  const want = endToEnd(sent.headers)
  const got = received(e.h)
  if (JSON.stringify(want) !== JSON.stringify(got)) return `fields ${JSON.stringify(want)} arrived as ${JSON.stringify(got)}`
  const hosts = values(e.h, 'host')
  const host = authority ?? values(sent.headers, 'host')[0] ?? peerHost
  if (hosts.length !== 1 || hosts[0] !== host) return `Host should be ${JSON.stringify(host)}, the peer got ${JSON.stringify(hosts)}`
  const xff = values(e.h, 'x-forwarded-for')
  if (xff.length !== 1 || xff[0] !== client) return `X-Forwarded-For should be ${client}, the peer got ${JSON.stringify(xff)}`
  if (e.bl !== sent.body.length || e.bh !== sha1(sent.body)) return `body of ${sent.body.length} bytes arrived as ${e.bl} bytes (or other bytes)`
  if (JSON.stringify(e.t) !== JSON.stringify(sent.trailers)) return `trailers ${JSON.stringify(sent.trailers)} arrived as ${JSON.stringify(e.t)}`
  return null
}
