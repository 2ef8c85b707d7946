/**
 * What a shared cache may store (RFC 9111 §3) and the fields it stores with it (§3.1).
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import { ABSENT, Directives } from './directives.js'
import { HEURISTIC } from './entry.js'

const EXPIRES = name('expires')
const AUTHORIZATION = name('authorization')

/**
 * The statuses whose caching rules this cache knows (RFC 9110 §15), for must-understand (§5.2.2.3):
 * with it, a response of one of these is stored even with no-store; of any other status, never.
 */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504])

/**
 * §3: a response to GET with a final status, no no-store (in request or response, unless
 * must-understand with a status we know), not private, not for an Authorization unless the response
 * says a shared cache may (§3.5), and with something that makes it cacheable: explicit freshness,
 * public, or a status that allows a heuristic lifetime (§4.2.2). 206 and 304 are not stored: partial
 * contents are not combined (§3.4), and a 304 only updates (§4.3.4).
 */
export function storable(req: Head, reqCc: Directives, resp: Head, cc: Directives): boolean {
  const status = resp.status
  if (status < 200 || status === 206 || status === 304) return false
  if (reqCc.noStore) return false
  if (cc.mustUnderstand) {
    if (!UNDERSTOOD.has(status)) return false
  } else if (cc.noStore) {
    return false
  }
  if (cc.private) return false
  if (req.find(AUTHORIZATION) >= 0 && !(cc.public || cc.mustRevalidate || cc.sMaxage !== ABSENT)) return false
  return cc.public || cc.maxAge !== ABSENT || cc.sMaxage !== ABSENT || (!cc.targeted && resp.find(EXPIRES) >= 0) || HEURISTIC.has(status)
}

/** §5.2.2.4, §5.2.2.7: fields named by no-cache="..." or private="..." are kept out of the stored head. */
export function withheld(cc: Directives): string[] | null {
  if (cc.noCacheFields === null && cc.privateFields === null) return null
  return [...(cc.noCacheFields ?? []), ...(cc.privateFields ?? [])]
}
