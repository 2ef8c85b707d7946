/**
 * The paths of a request: the one forwarded, and the one routes and rules match on.
 *
 * Forwarded: the target as received, except that dot-segments ("." and "..", also written %2E) are
 * resolved (RFC 3986 §5.2.4, §6.2.2.2-3: the same URI). A peer that does not resolve them itself would
 * otherwise serve `/internal/../x` from `/internal` while we routed and filtered it as `/x`; resolved
 * here, the peer gets the path we matched. Nothing else of the target is changed.
 *
 * Matched (`matchPath`): the strictest reading any common peer may give the path, so that no encoding
 * walks around a route's auth or a deny rule: percent-escapes decoded (to latin1 characters, one per
 * byte), `\` read as `/` (IIS), path parameters cut from each segment (`/admin;x`, `/..;/` as Tomcat
 * reads them), slashes merged (nginx), dot-segments removed.
 *
 * A dot-segment that only another reading makes (`/public/..%2Fadmin`: `/admin` to nginx, under
 * `/public` to Express; `/admin/..;/x`: `/x` to Tomcat, under `/admin` to nginx) cannot be matched for
 * every peer at once: such a path is refused (`ambiguous`, 400), as Envoy can be told to
 * (`path_with_escaped_slashes_action: REJECT_REQUEST`). An encoded slash alone is fine.
 */

const HEX = /^[0-9A-Fa-f]{2}$/

/** Decodes every valid %XX escape to the byte it stands for (a latin1 character); leaves invalid ones. */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s
  let out = ''
  let from = 0
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
    const hex = s.slice(i + 1, i + 3)
    if (!HEX.test(hex)) continue
    out += s.slice(from, i) + String.fromCharCode(parseInt(hex, 16))
    from = i + 3
    i += 2
  }
  return out + s.slice(from)
}

/**
 * The path of `target` (up to its query) needs none of the readings of this file: no `%`, `\`, `;`,
 * `//` or `/.`. One pass over the characters, for every request; the rest runs only when this is false.
 */
export function plainPath(target: string): boolean {
  let prev = 0
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c === 0x3f /* ? */) return true
    if (c === 0x25 /* % */ || c === 0x5c /* backslash */ || c === 0x3b /* ; */) return false
    if (prev === 0x2f /* / */ && (c === 0x2f || c === 0x2e /* . */)) return false
    prev = c
  }
  return true
}

/** "." or ".." once %2E is read as "." (RFC 3986 §6.2.2.2: an unreserved character's escape is that character). */
function dotSegment(seg: string): 0 | 1 | 2 {
  if (seg.length > 6 || seg === '') return 0
  const s = seg.includes('%') ? seg.replace(/%2e/gi, '.') : seg
  return s === '.' ? 1 : s === '..' ? 2 : 0
}

/** RFC 3986 §5.2.4 over segments: "." dropped, ".." drops the one before (never above the root). */
function resolve(segs: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < segs.length; i++) {
    const d = dotSegment(segs[i])
    if (d === 2) out.pop()
    // A dot-segment at the end leaves the path ending in "/": "/a/." is "/a/", "/a/b/.." is "/a/".
    if (d !== 0 && i === segs.length - 1) out.push('')
    if (d === 0) out.push(segs[i])
  }
  return out
}

/** A path that may hold a dot-segment: cheap enough to ask of every request. */
function mayHaveDots(p: string): boolean {
  return p.includes('/.') || p.includes('%2e') || p.includes('%2E')
}

/**
 * The origin-form target `target` (path and query) with its dot-segments resolved, or null when it has
 * none (the usual case: the target is then forwarded byte for byte).
 */
export function resolveDots(target: string): string | null {
  const q = target.indexOf('?')
  const path = q < 0 ? target : target.slice(0, q)
  if (!mayHaveDots(path)) return null
  const segs = path.split('/').slice(1)
  if (!segs.some((s) => dotSegment(s) !== 0)) return null
  return '/' + resolve(segs).join('/') + (q < 0 ? '' : target.slice(q))
}

/** The path routes and rules match on (see above); `target` is origin-form, the query is cut off. */
export function matchPath(target: string): string {
  const q = target.indexOf('?')
  let p = q < 0 ? target : target.slice(0, q)
  // The common path has nothing to read twice.
  if (!p.includes('%') && !p.includes('\\') && !p.includes(';') && !p.includes('//') && !p.includes('/.')) return p
  if (p.includes('\\')) p = p.replace(/\\/g, '/')
  // %5C is a backslash too, before the segments are cut.
  if (/%5c/i.test(p)) p = p.replace(/%5c/gi, '/')
  const segs = p.split('/').slice(1).map((s) => {
    const semi = s.indexOf(';')
    return semi < 0 ? s : s.slice(0, semi)
  })
  const kept = resolve(segs).filter((s, i, all) => s !== '' || i === all.length - 1)
  return percentDecode('/' + kept.join('/')).replace(/\/{2,}/g, '/')
}

/**
 * The path still holds a dot-segment under another reading than RFC 3986's: with its path parameters
 * cut (`/admin/..;/x`, Tomcat), or with `\`, `%5C` or `%2F` as separators (`/a\..\x`, IIS;
 * `/a/..%2Fx`, nginx). RFC 3986 dot-segments are resolved before this is asked (resolveDots), so
 * what is left climbs out of a prefix for one peer and not for another: no route or rule can stand
 * for both readings, and the request is refused (400). Only a path with one of those characters can.
 */
export function ambiguous(target: string): boolean {
  const q = target.indexOf('?')
  const p = q < 0 ? target : target.slice(0, q)
  if (!p.includes(';') && !p.includes('\\') && !/%2f|%5c/i.test(p)) return false
  const segs = p.replace(/\\|%2f|%5c/gi, '/').split('/')
  for (const s of segs) {
    const semi = s.indexOf(';')
    if (dotSegment(semi < 0 ? s : s.slice(0, semi)) !== 0) return true
  }
  return false
}

/**
 * A path that begins with two slashes (or a slash and a backslash) reads as `//host/path`, a network
 * path with an authority, to WHATWG URL parsers (`new URL(path, base)`): RFC 3986 §3.3 says a path
 * without an authority cannot begin so. Refused (400), and never made by resolving dot-segments.
 */
export function authorityLike(path: string): boolean {
  return path.length > 1 && path.charCodeAt(0) === 0x2f && (path.charCodeAt(1) === 0x2f || path.charCodeAt(1) === 0x5c)
}

/** A config string (UTF-8 text) as the latin1 string of its bytes: the form a decoded request path has. */
export function latin1Of(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

/** A path written in the config (a route's or a rule's prefix), in the form `matchPath` gives requests. */
export function configPath(p: string): string {
  const m = matchPath(latin1Of(p))
  return m.length > 1 && m.endsWith('/') ? m.slice(0, -1) : m
}
