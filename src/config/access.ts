/**
 * The `access` key, of a route (403) or of a listener (closed at accept): `{allow, deny, default,
 * allow_file, deny_file}`. Lists are IPv4/IPv6 CIDRs; the files hold one a line, with comments, and
 * are read at load and again on each reload (SIGHUP). The most specific entry covering an address
 * decides; at equal prefixes, deny wins (src/filters/access.ts).
 */
import type { AccessConfig } from './features.js'
import { parseCidr } from './cidr.js'
import { readCidrFile } from './cidr-file.js'
import { fail, join, list, object, str } from './validate.js'

function cidrs(v: unknown, path: string): string[] {
  return list(v, path).map((c, i) => {
    const s = str(typeof c === 'number' ? String(c) : c, join(path, i))
    if (parseCidr(s) === null) fail(join(path, i), `"${s}" is not an IP address or CIDR`)
    return s
  })
}

export function access(v: unknown, path: string): AccessConfig {
  const o = object(v, path, ['allow', 'deny', 'default', 'allow_file', 'deny_file'])
  const at = (k: string): string => join(path, k)
  const allow = o.allow === undefined ? [] : cidrs(o.allow, at('allow'))
  const deny = o.deny === undefined ? [] : cidrs(o.deny, at('deny'))
  if (o.allow_file !== undefined) allow.push(...readCidrFile(str(o.allow_file, at('allow_file')), at('allow_file')))
  if (o.deny_file !== undefined) deny.push(...readCidrFile(str(o.deny_file, at('deny_file')), at('deny_file')))
  const d = o.default ?? (o.allow !== undefined || o.allow_file !== undefined ? 'deny' : 'allow')
  if (d !== 'allow' && d !== 'deny') fail(at('default'), 'must be "allow" or "deny"')
  // Nothing to decide on: almost certainly a mistake (`default: deny` alone is a valid "nobody").
  if (['allow', 'deny', 'allow_file', 'deny_file', 'default'].every((k) => o[k] === undefined)) fail(path, 'needs allow, deny, allow_file, deny_file or default')
  return { allow, deny, default: d }
}
