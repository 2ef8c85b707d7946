/**
 * The `rules` key: an ordered list, first match wins. Each rule has a `match` (every key given must
 * hold; a key's list holds when any entry does) and one action:
 *
 *   - { match: { path: /internal }, deny: 404 }                  deny: STATUS, or true for 403; `body`
 *   - { match: { client: [10.0.0.0/8] }, allow: true }           stop checking the rules
 *   - { match: { host: old.example.com }, redirect: "https://new.example.com{uri}", status: 301 }
 *   - { match: { path: /healthz }, respond: 200, body: "ok\n" }
 *
 * Regexes and globs are compiled here once, so a bad one refuses the config (and again in each
 * process by src/filters/rules.ts, from the same text).
 */
import type { Rule, RuleMatch, ValueMatch } from './features.js'
import { parseCidr } from './cidr.js'
import { fail, int, join, list, object, str } from './validate.js'
import { TOKEN, method, template } from './template.js'

const MATCH_KEYS = ['methods', 'path', 'path_glob', 'path_regex', 'ignore_case', 'host', 'headers', 'query', 'client']
const ACTIONS = ['deny', 'allow', 'redirect', 'respond'] as const
const REDIRECTS = [301, 302, 303, 307, 308]

export function regex(v: unknown, path: string): string {
  const s = str(v, path)
  try {
    new RegExp(s)
  } catch (err) {
    fail(path, `not a valid regular expression: ${(err as Error).message}`)
  }
  return s
}

function strings(v: unknown, path: string): string[] {
  const a = Array.isArray(v) ? v : [v]
  if (a.length === 0) fail(path, 'must not be empty')
  return a.map((x, i) => str(x, Array.isArray(v) ? join(path, i) : path))
}

function valueMatch(v: unknown, path: string): ValueMatch {
  if (typeof v === 'boolean') return v
  if (typeof v === 'string' || typeof v === 'number') return { equals: String(v) }
  const o = object(v, path, ['regex'])
  return { regex: regex(o.regex, join(path, 'regex')) }
}

function valueMatches(v: unknown, path: string, names: 'field' | 'param'): [string, ValueMatch][] {
  const o = object(v, path, Object.keys((v ?? {}) as object))
  return Object.entries(o).map(([k, m]) => {
    if (names === 'field' && !TOKEN.test(k)) fail(join(path, k), `"${k}" is not a field name (RFC 9110 §5.1)`)
    return [names === 'field' ? k.toLowerCase() : k, valueMatch(m, join(path, k))]
  })
}

function match(v: unknown, path: string): RuleMatch {
  const o = object(v ?? {}, path, MATCH_KEYS)
  const at = (k: string): string => join(path, k)
  const methods = o.methods === undefined ? null : strings(o.methods, at('methods'))
  methods?.forEach((m, i) => method(m, Array.isArray(o.methods) ? join(at('methods'), i) : at('methods')))
  if (o.ignore_case !== undefined && typeof o.ignore_case !== 'boolean') fail(at('ignore_case'), 'must be true or false')
  const p = o.path === undefined ? null : str(o.path, at('path'))
  if (p !== null && !p.startsWith('/')) fail(at('path'), 'must start with "/"')
  const glob = o.path_glob === undefined ? null : str(o.path_glob, at('path_glob'))
  if (glob !== null && !glob.startsWith('/')) fail(at('path_glob'), 'must start with "/"')
  const host = o.host === undefined ? null : strings(o.host, at('host')).map((h) => h.toLowerCase())
  host?.forEach((h, i) => { if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(h)) fail(join(at('host'), i), `"${h}" must be a host name or "*.suffix"`) })
  const client = o.client === undefined ? null : strings(o.client, at('client'))
  client?.forEach((c, i) => { if (parseCidr(c) === null) fail(Array.isArray(o.client) ? join(at('client'), i) : at('client'), `"${c}" is not an IP address or CIDR`) })
  return {
    methods,
    ignore_case: o.ignore_case === true,
    path: p === null ? null : p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p,
    path_glob: glob,
    path_regex: o.path_regex === undefined ? null : regex(o.path_regex, at('path_regex')),
    host,
    headers: o.headers === undefined ? null : valueMatches(o.headers, at('headers'), 'field'),
    query: o.query === undefined ? null : valueMatches(o.query, at('query'), 'param'),
    client,
  }
}

function body(v: unknown, path: string): string | null {
  if (v === undefined) return null
  if (typeof v !== 'string') fail(path, 'must be a string')
  return v
}

function rule(v: unknown, path: string): Rule {
  const o = object(v, path, ['match', ...ACTIONS, 'status', 'body'])
  const at = (k: string): string => join(path, k)
  const given = ACTIONS.filter((a) => o[a] !== undefined)
  // Fields these statuses need that a rule does not write (RFC 9110 §15.5.2, §15.5.6, §15.5.8).
  const NEEDS: Record<number, string> = { 401: 'WWW-Authenticate (use auth)', 405: 'Allow (use methods)', 407: 'Proxy-Authenticate (a proxy\'s answer)' }
  if (given.length !== 1) fail(path, `needs exactly one action of: ${ACTIONS.join(', ')}`)
  const action = given[0]
  const m = match(o.match, at('match'))
  if (action !== 'redirect' && o.status !== undefined) fail(at('status'), 'is for redirect (deny and respond take the status as their value)')
  if ((action === 'allow' || action === 'redirect') && o.body !== undefined) fail(at('body'), `is not used by ${action}`)
  switch (action) {
    case 'allow':
      if (o.allow !== true) fail(at('allow'), 'must be true')
      return { match: m, action, status: 0, location: null, body: null }
    case 'deny': {
      const status = o.deny === true ? 403 : int(o.deny, at('deny'), 400, 599)
      if (NEEDS[status] !== undefined) fail(at('deny'), `${status} needs ${NEEDS[status]}`)
      return { match: m, action, status, location: null, body: body(o.body, at('body')) }
    }
    case 'respond': {
      const status = int(o.respond, at('respond'), 200, 599)
      if (NEEDS[status] !== undefined) fail(at('respond'), `${status} needs ${NEEDS[status]}`)
      // RFC 9110 §15.3.5, §15.3.6, §15.4.5: no content in these.
      if ((status === 204 || status === 205 || status === 304) && o.body !== undefined) fail(at('body'), `a ${status} has no content`)
      return { match: m, action, status, location: null, body: body(o.body, at('body')) }
    }
    case 'redirect': {
      const status = o.status === undefined ? 302 : int(o.status, at('status'), 300, 399)
      if (!REDIRECTS.includes(status)) fail(at('status'), `must be one of ${REDIRECTS.join(', ')}`)
      const location = template(str(o.redirect, at('redirect')), at('redirect'), false)
      // Rules run before auth (filters/rules.ts): no user is known yet.
      if (location.some((p) => typeof p !== 'string' && p.var === 'user')) fail(at('redirect'), '{user} has no value in a rule (rules run before auth)')
      return { match: m, action, status, location, body: null }
    }
  }
}

export function rules(v: unknown, path: string): Rule[] {
  return list(v, path).map((r, i) => rule(r, join(path, i)))
}
