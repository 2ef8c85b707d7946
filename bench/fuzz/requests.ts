/**
 * Valid requests (methods, origin-, absolute- and asterisk-form targets, HTTP/1.0 and 1.1, fields
 * with hop-by-hop and forwarding ones among them, Content-Length and chunked bodies with extensions
 * and trailers), and the mutations only a request has: method, version, target, Host, Connection.
 */
import type { Rng } from './rng.js'
import { Draft, Mutator, bodyBytes, chunked, draft, serialize } from './draft.js'

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']
const SEG = 'abcdefghijklmnopqrstuvwxyz0123456789-._~'

function target(r: Rng, method: string): string {
  if (method === 'OPTIONS' && r.chance(0.3)) return '*'
  let path = ''
  for (let i = r.int(0, 4); i > 0; i--) path += '/' + r.text(r.int(1, 8), SEG).replace(/^\.+$/, 'd')
  if (path === '' || r.chance(0.1)) path += '/'
  if (r.chance(0.3)) path += `?q=${r.text(r.int(0, 10))}&b=%20${r.text(2)}`
  if (r.chance(0.1)) return `${r.pick(['http', 'HTTP', 'https'])}://${r.pick(['fuzz.test', 'other.test:8080', 'FUZZ.TEST'])}${path === '/' && r.chance(0.5) ? '' : path}`
  return path
}

const OPTIONAL: [string, (r: Rng) => string][] = [
  ['User-Agent', (r) => `fuzz/${r.int(1, 9)}`],
  ['Accept', () => '*/*'],
  ['accept-language', () => 'en-GB,en;q=0.8'],
  ['Cookie', (r) => `a=${r.text(6)}; b=c`],
  ['X-Request-Tag', (r) => r.text(r.int(0, 30), 'abcXYZ019 !#$%&*+.^_`|~-/=')],
  ['Cache-Control', () => 'no-cache'],
  ['Via', () => '1.0 upstream-proxy'],
  ['X-Forwarded-For', () => '10.1.2.3'],
  ['Forwarded', () => 'for=10.9.9.9'],
  ['TE', () => 'trailers'],
  ['Keep-Alive', () => 'timeout=5'],
  ['Proxy-Connection', () => 'keep-alive'],
  ['X-Empty', () => ''],
  ['X-Spaces', () => 'a  b\tc'],
  ['X-Latin', () => 'caf\xe9'],
]

/** A valid request; `close`: may ask to close (so it ends a pipeline). */
export function request(r: Rng): Draft {
  const method = r.pick(METHODS)
  const t = target(r, method)
  const v10 = r.chance(0.12)
  const fields: [string, string][] = []
  if (!v10 || r.chance(0.5)) fields.push([r.pick(['Host', 'host', 'HOST']), r.pick(['fuzz.test', 'fuzz.test:8080', 'Fuzz.Test', '127.0.0.1'])])
  for (let i = r.int(0, 6); i > 0; i--) {
    const [n, v] = r.pick(OPTIONAL)
    fields.splice(r.int(0, fields.length), 0, [n, v(r)])
  }
  // HTTP/1.0 closes after each exchange unless asked to keep alive (RFC 9112 §9.3).
  if (v10 && r.chance(0.7)) fields.push(['Connection', 'keep-alive'])
  if (!v10 && r.chance(0.06)) fields.push(['Connection', r.pick(['close', 'keep-alive'])])
  if (r.chance(0.05)) fields.push(['Connection', 'x-drop-me'], ['X-Drop-Me', '1'])
  let body: Draft['body'] = { kind: 'none' }
  const wantsBody = ['POST', 'PUT', 'PATCH'].includes(method) || r.chance(0.05)
  if (wantsBody) {
    const data = bodyBytes(r, 3000)
    fields.push(['Content-Type', 'application/octet-stream'])
    if (!v10 && r.chance(0.45)) {
      fields.push([r.pick(['Transfer-Encoding', 'transfer-encoding']), 'chunked'])
      body = chunked(r, data, r.chance(0.15) ? [['X-Trailer', r.text(5)]] : [])
    } else {
      fields.push([r.pick(['Content-Length', 'content-length']), String(data.length)])
      body = { kind: 'length', data }
    }
  } else if (r.chance(0.05)) {
    fields.push(['Content-Length', '0'])
  }
  return draft([method, t, v10 ? 'HTTP/1.0' : 'HTTP/1.1'], fields, body)
}

function setHost(d: Draft, v: string | null): void {
  const i = d.fields.findIndex(([n]) => n.toLowerCase() === 'host')
  if (v === null) { if (i >= 0) { d.fields.splice(i, 1); d.colon.splice(i, 1) } return }
  if (i >= 0) d.fields[i][1] = v
  else { d.fields.unshift(['Host', v]); d.colon.unshift(': ') }
}

/** Mutations of what only a request has. */
export const REQUEST_MUTATORS: Record<string, Mutator> = {
  'method': (r, d) => {
    d.line[0] = r.pick(['get', 'G ET', 'GETT', 'CONNECT', 'PRI', 'M-SEARCH', 'BREW', '', 'GE\x00T', 'TRACE', 'PROPFIND', 'POST\t', 'Get', 'ACL', 'QUERY', 'GET\x7f'])
    return serialize(d)
  },
  'version': (r, d) => {
    d.line[2] = r.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/1.01', 'http/1.1', 'HTTP/1', 'HTTP/0.9', 'HTTP/1.1 ', 'HTTP /1.1', '', 'HTTP/1.10', 'HTTP/3.0', 'HTTP/1.1x', 'HTTP/9.9'])
    return serialize(d)
  },
  'target': (r, d) => {
    const t = d.line[1]
    if (r.chance(0.4)) {
      d.line[1] = r.pick(['http://user@fuzz.test/', 'http://fuzz.test', 'https://fuzz.test:99?x', '*', 'fuzz.test:80', '//x/y', 'http://', 'http:///x',
        '/a/../b', '/a/./b/..', '/%2e%2e/x', '/a/%2E/b', '/a/..%2fb', '/a;x/../b', '/\\x', 'x', '/#frag', '/a?b#c', '/' + 'p'.repeat(9000), 'HTTP://[::1]:8/x'])
    } else {
      const at = r.int(0, t.length)
      d.line[1] = t.slice(0, at) + r.pick([' ', '#', '\x7f', '\xff', '%', '%00', '/../', '/./', '//', '\\', ';', '?', '%2e%2e/', '..%2f', '\t', '\x00', '\xc3\xa9', '"', '<', '{']) + t.slice(at)
    }
    return serialize(d)
  },
  'host': (r, d) => {
    const op = r.int(0, 2)
    if (op === 0) setHost(d, null)
    else if (op === 1) { d.fields.push(['Host', r.pick(['fuzz.test', 'evil.test'])]); d.colon.push(': ') }
    else setHost(d, r.pick(['', 'a b', 'a@b', 'x:y:z', '[::1]', '[::1', 'a%2eb', 'h:99999', 'h\x00', 'h,h', 'h/x', 'h:80:80', '.', 'a..b', 'h:', ':80']))
    return serialize(d)
  },
  'connection': (r, d) => {
    d.fields.push(['Connection', r.pick(['close', 'keep-alive', 'content-length', 'transfer-encoding', 'host', 'x-custom', 'upgrade', 'te, close', 'Content-Length, x-a', 'Keep-Alive, Close', ''])])
    d.colon.push(': ')
    return serialize(d)
  },
  'expect': (r, d) => {
    d.fields.push(['Expect', r.pick(['100-continue', '100-Continue', '200-ok', ''])])
    d.colon.push(': ')
    return serialize(d)
  },
  'upgrade': (r, d) => {
    d.fields.push(['Upgrade', r.pick(['h2c', 'websocket', 'foo/1'])], ['Connection', 'Upgrade'])
    d.colon.push(': ', ': ')
    return serialize(d)
  },
}
