/**
 * Field values with placeholders, as `headers` and `rules` (redirect) write them:
 * `"{scheme}://{host}{uri}"`, `"rawproxy; user={user}"`. Checked at load: an unknown placeholder, a
 * placeholder used where it has no value, an unset `{env.NAME}` or a character a field value cannot
 * hold refuses the config. `{env.NAME}` is read here, once; the others are filled in per request
 * by src/filters/template.ts.
 */
import { fail } from './validate.js'

/** Filled per request; `upstream_peer` only once a peer has answered (response side). */
export const VARS = ['client_ip', 'host', 'path', 'query', 'uri', 'method', 'scheme', 'request_id', 'user',
  'tls_sni', 'tls_client_subject', 'upstream_peer'] as const
export type Var = typeof VARS[number]

/** A template: literal text and placeholders, in order. Plain data, so it crosses the cluster's JSON channel. */
export type Template = readonly (string | { readonly var: Var })[]

/** RFC 9110 §5.1, §5.6.2: a field name is a token. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** The methods of RFC 9110 §9 and RFC 5789 (PATCH), to catch a lower-case one written by mistake. */
const STANDARD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']

/** RFC 9110 §9.1: a method is a token, and methods are case-sensitive: `get` is not GET. */
export function method(m: string, path: string): string {
  if (!TOKEN.test(m)) fail(path, `"${m}" is not a method token (RFC 9110 §9.1: case-sensitive, e.g. GET)`)
  if (m !== m.toUpperCase() && STANDARD.includes(m.toUpperCase())) fail(path, `"${m}" is not ${m.toUpperCase()}: methods are case-sensitive (RFC 9110 §9.1)`)
  return m
}
/** What our field values may hold: visible ASCII, space and tab (RFC 9110 §5.5: no CR, LF or NUL). */
const FIELD_TEXT = /^[\t\x20-\x7e]*$/
const PLACEHOLDER = /\{(env\.[A-Za-z_][A-Za-z0-9_]*|[a-z_]+)\}/g

/**
 * Parses `text` into a Template. `response`: the value goes on a response (where `{upstream_peer}`
 * has a value). `env`: the environment `{env.NAME}` reads (process.env).
 */
export function template(text: string, path: string, response: boolean, env: NodeJS.ProcessEnv = process.env): Template {
  const out: (string | { var: Var })[] = []
  let lit = ''
  let from = 0
  for (const m of text.matchAll(PLACEHOLDER)) {
    lit += text.slice(from, m.index)
    from = m.index! + m[0].length
    const name = m[1]
    if (name.startsWith('env.')) {
      const value = env[name.slice(4)]
      if (value === undefined) fail(path, `{${name}}: the environment variable ${name.slice(4)} is not set`)
      lit += value
      continue
    }
    if (!(VARS as readonly string[]).includes(name)) fail(path, `unknown placeholder {${name}} (known: ${VARS.map((v) => `{${v}}`).join(', ')}, {env.NAME})`)
    if (name === 'upstream_peer' && !response) fail(path, '{upstream_peer} has a value only on the response side')
    if (lit !== '') out.push(lit)
    lit = ''
    out.push({ var: name as Var })
  }
  lit += text.slice(from)
  if (lit !== '') out.push(lit)
  for (const p of out) {
    if (typeof p === 'string' && !FIELD_TEXT.test(p)) fail(path, 'must hold only visible ASCII, spaces and tabs (RFC 9110 §5.5: no CR, LF, NUL or other controls)')
  }
  return out
}
