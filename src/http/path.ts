/**
 * The path a rule matches on: percent-decoded, with dot-segments removed and slashes merged, so that
 * `/internal`, `/%69nternal`, `//internal`, `/x/../internal` and `/./internal` are one path to a rule,
 * as they are to most peers (nginx matches its locations the same way). Matching the raw bytes would
 * let a client walk around a deny rule with an encoding the peer decodes.
 */

/** Decodes every valid %XX escape to the byte it stands for (a latin1 character); leaves invalid ones. */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s
  let out = ''
  let from = 0
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
    const hex = s.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) continue
    out += s.slice(from, i) + String.fromCharCode(parseInt(hex, 16))
    from = i + 3
    i += 2
  }
  return out + s.slice(from)
}

/** RFC 3986 §5.2.4: remove "." and ".." segments (a ".." above the root stays at the root). */
export function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path
  const out: string[] = []
  const segs = path.split('/')
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]
    const last = i === segs.length - 1
    if (s === '..') { out.pop(); if (last) out.push('') } else if (s === '.') { if (last) out.push('') } else out.push(s)
  }
  return '/' + out.join('/')
}

/**
 * The normalised path of an origin-form target (query cut off): decoded (a decoded "/" or "." then
 * counts as one), slashes merged, dot-segments removed. Bytes above 0x7f stay single latin1
 * characters; config patterns are turned into the same form (`latin1Of`).
 */
export function normalizePath(target: string): string {
  const q = target.indexOf('?')
  let p = q < 0 ? target : target.slice(0, q)
  p = percentDecode(p)
  if (!p.startsWith('/')) p = '/' + p
  if (p.includes('//')) p = p.replace(/\/{2,}/g, '/')
  return removeDotSegments(p)
}

/** A config string (UTF-8 text) as the latin1 string of its bytes: the form `normalizePath` gives. */
export function latin1Of(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}
