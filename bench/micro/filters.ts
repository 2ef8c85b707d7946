/**
 * Group (e): the filter chain's work per request, in the process, without sockets: for one bench
 * request (GET / with Basic credentials), an Exchange is made on a route, its request filters run,
 * the upstream head is built with their edits, and a 200 response head (parsed once) goes out, raw
 * or rebuilt with the response edits. One op = COUNT requests. The "no filters" row is the same work
 * on a route without features (the head passes raw); each other row adds one feature, and the last
 * all of them, as `make bench`'s rawproxy-filters row configures them.
 */
import { hashSync } from 'bcrypt'
import { Kind, Parser, Step } from '../../src/http/llhttp.js'
import { RequestInfo, Origin, buildRequest, inspect } from '../../src/proxy/request-head.js'
import { Framing, buildResponse, rawStart } from '../../src/proxy/response-head.js'
import { Exchange } from '../../src/proxy/exchange.js'
import type { Downstream } from '../../src/proxy/downstream.js'
import { Runtime } from '../../src/proxy/runtime.js'
import { validate } from '../../src/config/validate.js'
import { FILTERS } from '../../src/filters/index.js'
import { COUNT } from './requests.js'
import { LocalStore } from '../../src/filters/rate-limit/local-store.js'
import type { Case } from './parse.js'

const PASSWORD = 'bench-password'
const AUTH = `Basic ${Buffer.from(`bench:${PASSWORD}`).toString('base64')}`
const REQUEST = Buffer.from(`GET /api/v1/feed?page=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\nAuthorization: ${AUTH}\r\n\r\n`, 'latin1')
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n', 'latin1')

/** Every route feature of the load bench's rawproxy-filters row, one by one, then together. */
function features(): [string, Record<string, unknown>][] {
  const all = {
    headers: { request_id: true, request: { set: { 'X-Env': 'bench' }, remove: ['x-debug'] }, response: { set: { 'X-Frame-Options': 'DENY' } } },
    access: { allow: ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] },
    auth: { realm: 'bench', users: { bench: hashSync(PASSWORD, '$2b$05$abcdefghijklmnopqrstuu').replace('$2b$', '$2y$') } },
    rules: [
      { match: { path: '/internal' }, deny: 404 },
      { match: { path_glob: '/**.env' }, deny: 404 },
      { match: { headers: { 'x-debug': true } }, deny: 400 },
    ],
  }
  // rate_limit is not in the load bench's filters row: it has rows of its own (rawproxy-ratelimit, -redis).
  const limit = { name: 'bench', key: 'client_ip', rate: '1000000/s', burst: 1000 }
  return [['no filters', {}], ...Object.entries(all).map(([k, v]) => [k, { [k]: v }] as [string, Record<string, unknown>]), ['all four', all],
    ['rate_limit (memory store)', { rate_limit: { limits: [limit] } }],
    ['rate_limit with headers: true', { rate_limit: { headers: true, limits: [limit] } }]]
}

export function parsed(b: Buffer, kind: Kind): Parser {
  const p = new Parser(kind, { maxHead: 16_384, maxTarget: 8_192 })
  if (kind === Kind.RESPONSE) p.onePass = true
  const step = p.execute(b, 0)
  if (step !== Step.END || !p.headDone) throw new Error('bench message did not parse')
  return p
}

/** The client side an exchange reads: a fake of the connection, in memory (no socket in a micro bench). */
export function downstream(rt: Runtime): Downstream {
  return {
    rt, remote: '127.0.0.1', proto: 'http', clientSubject: '', sni: '', hsts: null, bodyReceived: 0,
    origin: new Origin('127.0.0.1', 'http', false), logging: false, timed: false, metered: false, closing: false, queued: false,
    write: () => true, cork: () => {}, uncork: () => {}, holdBody: () => {}, exchangeDone: () => {},
    destroy: () => {}, takeSocket: () => { throw new Error('no tunnel here') }, log: () => {},
  }
}

export async function filterCases(): Promise<Case[]> {
  const req = parsed(REQUEST, Kind.REQUEST)
  const res = parsed(RESPONSE, Kind.RESPONSE)
  const info = inspect(req.head)
  if (!(info instanceof RequestInfo)) throw info
  const cases: Case[] = []
  for (const [name, f] of features()) {
    const rt = new Runtime(validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', ...f }] }), null, null, false, FILTERS)
    const route = rt.router.match('www.example.com', '/api/v1/feed')!
    const down = downstream(rt)
    const one = (): void => {
      const x = new Exchange(down, req.head, info, route.group, 0, route.filters)
      const c = x.chain
      if (c !== null && c.request(x) !== undefined) throw new Error(`${name}: the bench request was not let through`)
      buildRequest(req.head, info, down.origin, rt.via, '127.0.0.1:1', false, c === null ? null : c.upstream(x))
      const edit = c === null ? null : c.response(x)
      if (edit === null) rawStart(res.head, RESPONSE, 0)
      else buildResponse(res.head, Framing.RAW, false, false, edit)
    }
    // Warm and check: the first auth verification goes to the worker; every later one is a cache hit.
    const x = new Exchange(down, req.head, info, route.group, 0, route.filters)
    const v = x.chain?.request(x)
    if (v instanceof Promise && (await v) !== undefined) throw new Error(`${name}: refused`)
    one()
    cases.push({ name: `route with ${name}`, run: () => { for (let i = 0; i < COUNT; i++) one() } })
  }
  return [...cases, ...decisionCases()]
}

/**
 * One decision of the memory store (filters/rate-limit/local-store.ts), without HTTP: the same key
 * each time, and keys spread over 100,000 clients (a Map of that size: cache misses, and at the bound
 * of a store of 50,000 keys, an eviction per decision).
 */
function decisionCases(): Case[] {
  const policy = { kind: 'rate', interval: 0.001, burst: 1000, delay: false } as const
  const one = new LocalStore(100_000)
  const ask = [{ key: 'scope\u0000bench\u0000127.0.0.1', policy, dry: false }]
  const keys = Array.from({ length: 100_000 }, (_, i) => [{ key: `scope\u0000bench\u000010.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, policy, dry: false }])
  const many = new LocalStore(100_000)
  const bounded = new LocalStore(50_000)
  let k = 0
  return [
    { name: 'rate_limit decision, one key', run: () => { for (let i = 0; i < COUNT; i++) one.take(ask) } },
    { name: 'rate_limit decision, 100k keys', run: () => { for (let i = 0; i < COUNT; i++) many.take(keys[k++ % keys.length]) } },
    { name: 'rate_limit decision, 100k keys, bound 50k', run: () => { for (let i = 0; i < COUNT; i++) bounded.take(keys[k++ % keys.length]) } },
  ]
}
