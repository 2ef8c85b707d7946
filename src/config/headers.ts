/**
 * The `headers` key: `{request: {set, add, remove}, response: {set, add, remove}, request_id}`.
 * Names must be tokens (RFC 9110 §5.1) and values field text (§5.5). Fields that frame the message or
 * belong to one hop cannot be set or removed: rawproxy owns them on each hop (RFC 9112 §6, RFC 9110
 * §7.6.1), and a rule that touched them could desynchronise the framing (request smuggling).
 */
import type { HeaderOps, HeadersConfig } from './features.js'
import { fail, join, list, object, str } from './validate.js'
import { TOKEN, Template, template } from './template.js'

/** Framing and hop-by-hop fields: never set, added or removed by a rule, on either side. */
const OWNED: Record<string, string> = {
  'content-length': 'frames the message (RFC 9112 §6.2); rawproxy sets it on each hop',
  'transfer-encoding': 'frames the message (RFC 9112 §6.1); rawproxy sets it on each hop',
  'connection': 'is hop-by-hop (RFC 9110 §7.6.1); rawproxy sets it on each hop',
  'keep-alive': 'is hop-by-hop (RFC 9110 §7.6.1)',
  'proxy-connection': 'is hop-by-hop (RFC 9110 §7.6.1)',
  'te': 'is hop-by-hop (RFC 9110 §7.6.1)',
  'upgrade': 'is hop-by-hop (RFC 9110 §7.6.1); rawproxy passes it only to open a tunnel',
  'trailer': 'announces trailer fields of the framing (RFC 9110 §6.6.2)',
}

/** On the request: the forwarding fields rawproxy writes (trusted_proxies decides what is kept). */
const OWNED_REQUEST: Record<string, string> = {
  'x-forwarded-for': 'is written by rawproxy (trusted_proxies decides what is kept)',
  'x-forwarded-proto': 'is written by rawproxy (trusted_proxies decides what is kept)',
  'x-forwarded-host': 'is written by rawproxy (trusted_proxies decides what is kept)',
  'forwarded': 'is written by rawproxy (RFC 7239; trusted_proxies decides what is kept)',
  'via': 'is written by rawproxy (RFC 9110 §7.6.3; see the `via` key)',
  'expect': 'is answered by rawproxy for an HTTP/1.0 peer (RFC 9110 §10.1.1)',
}

function fieldName(v: unknown, path: string, request: boolean, op: string): string {
  const n = str(v, path)
  if (!TOKEN.test(n)) fail(path, `"${n}" is not a field name (RFC 9110 §5.1: a token)`)
  const lower = n.toLowerCase()
  const why = OWNED[lower] ?? (request ? OWNED_REQUEST[lower] : undefined)
  if (why !== undefined) fail(path, `${n} cannot be changed by a header rule: it ${why}`)
  // Host routes the request and is the peer's to read: replacing it is allowed (the original goes to
  // X-Forwarded-Host); adding a second one or removing it would make the request invalid (RFC 9112 §3.2).
  if (lower === 'host' && (!request || op !== 'set')) fail(path, 'Host can only be set on the request (one Host, RFC 9112 §3.2)')
  return n
}

function pairs(v: unknown, path: string, request: boolean, op: string): [string, Template][] {
  const o = object(v, path, Object.keys((v ?? {}) as object))
  const out: [string, Template][] = []
  const seen = new Set<string>()
  for (const [k, value] of Object.entries(o)) {
    const at = join(path, k)
    const name = fieldName(k, at, request, op)
    if (op === 'set' && seen.has(name.toLowerCase())) fail(at, `${name} is set twice (names are case-insensitive)`)
    // RFC 6797 §6.1: one STS field at most (a browser reads the first): added beside the listener's
    // hsts, the route's would be ignored.
    if (op === 'add' && name.toLowerCase() === 'strict-transport-security') fail(at, 'Strict-Transport-Security must be one field (RFC 6797 §6.1): use set')
    seen.add(name.toLowerCase())
    if (typeof value !== 'string' && typeof value !== 'number') fail(at, 'must be a string value')
    out.push([name, template(String(value).trim(), at, !request)])
  }
  return out
}

function ops(v: unknown, path: string, request: boolean): HeaderOps {
  if (v === undefined) return { set: [], add: [], remove: [] }
  const o = object(v, path, ['set', 'add', 'remove'])
  const set = o.set === undefined ? [] : pairs(o.set, join(path, 'set'), request, 'set')
  const add = o.add === undefined ? [] : pairs(o.add, join(path, 'add'), request, 'add')
  const rp = join(path, 'remove')
  const remove = o.remove === undefined ? [] : list(o.remove, rp).map((n, i) => fieldName(n, join(rp, i), request, 'remove').toLowerCase())
  for (const [n] of set) {
    if (remove.includes(n.toLowerCase())) fail(join(path, 'set'), `${n} is both set and removed`)
  }
  return { set, add, remove }
}

/** Fields ending in -ID that mean something else (RFC 2392 Content-ID). */
const NOT_AN_ID = ['content-id']

export function headers(v: unknown, path: string): HeadersConfig {
  const o = object(v, path, ['request', 'response', 'request_id'])
  let requestId: string | null = null
  if (o.request_id === true) requestId = 'X-Request-ID'
  else if (o.request_id !== undefined && o.request_id !== false) {
    const at = join(path, 'request_id')
    // The ID is set on both sides: the name must be one a rule could set on each.
    requestId = fieldName(o.request_id, at, true, 'add')
    fieldName(o.request_id, at, false, 'add')
    // It replaces the field of that name on both sides: a name that says "ID" is one nobody else uses
    // for something else (X-Request-ID, X-Correlation-ID, Request-Id); Content-Encoding is not.
    if (!/-id$/i.test(requestId) || NOT_AN_ID.includes(requestId.toLowerCase())) fail(at, `${requestId} is not a name for a request ID (it must end in -ID, as X-Request-ID, the default, does)`)
  }
  const out = { request: ops(o.request, join(path, 'request'), true), response: ops(o.response, join(path, 'response'), false), request_id: requestId }
  if (requestId !== null) {
    const lower = requestId.toLowerCase()
    // The request ID field is ours on both sides: a rule on it would fight with it.
    for (const side of ['request', 'response'] as const) {
      const s = out[side]
      if ([...s.set, ...s.add].some(([n]) => n.toLowerCase() === lower) || s.remove.includes(lower)) {
        fail(join(path, side), `${requestId} is the request_id field; rawproxy sets it`)
      }
    }
  }
  return out
}
