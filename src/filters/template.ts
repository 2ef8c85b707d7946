/**
 * Templates (config/template.ts) compiled once into a function of the exchange. A value that comes
 * from the client or its certificate is made field text on the way in: characters beyond latin1 go
 * as their UTF-8 bytes, and controls are dropped, so no placeholder can put a CR or LF into a head.
 */
import type { Template, Var } from '../config/template.js'
import type { Exchange } from '../proxy/exchange.js'

export type Fill = (x: Exchange) => string

const SAFE = /^[\t\x20-\x7e]*$/

/** Field text of an arbitrary string: UTF-8 bytes as latin1 characters, controls removed (RFC 9110 §5.5). */
export function fieldText(s: string): string {
  if (SAFE.test(s)) return s
  // eslint-disable-next-line no-control-regex
  return Buffer.from(s, 'utf8').toString('latin1').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')
}

function query(x: Exchange): string {
  const p = x.info.path
  const q = p.indexOf('?')
  return q < 0 ? '' : p.slice(q + 1)
}

function path(x: Exchange): string {
  const p = x.info.path
  const q = p.indexOf('?')
  return q < 0 ? p : p.slice(0, q)
}

const VALUES: Record<Var, Fill> = {
  client_ip: (x) => x.clientIp,
  host: (x) => x.info.host,
  path,
  query,
  uri: (x) => x.info.path,
  method: (x) => x.methodText,
  scheme: (x) => x.down.proto,
  request_id: (x) => x.requestId,
  user: (x) => fieldText(x.user),
  tls_sni: (x) => fieldText(x.down.sni),
  tls_client_subject: (x) => fieldText(x.down.clientSubject),
  upstream_peer: (x) => x.peer === null ? '' : x.peer.label,
}

/** One function per template: a constant when it has no placeholder. */
export function compile(t: Template): Fill {
  if (t.length === 0) return () => ''
  if (t.length === 1 && typeof t[0] === 'string') { const s = t[0]; return () => s }
  if (t.length === 1) return VALUES[(t[0] as { var: Var }).var]
  const parts = t.map((p) => typeof p === 'string' ? p : VALUES[p.var])
  return (x) => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(x)
    return out
  }
}
