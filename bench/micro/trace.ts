/**
 * Group (f): what a traced request costs in the process (issue 14), beside the same request not
 * traced: an Exchange on a route with a header rule, its filters, the upstream head, a 200 response
 * head (as group e), and, traced, every recorder hook the Exchange calls (src/trace/trace.ts) and the
 * record made at the end (handed to a watcher that keeps nothing). One op = COUNT requests.
 */
import { Kind, Parser, Step } from '../../src/http/llhttp.js'
import { RequestInfo, buildRequest, inspect } from '../../src/proxy/request-head.js'
import { Framing, rawStart } from '../../src/proxy/response-head.js'
import { Exchange } from '../../src/proxy/exchange.js'
import { Runtime } from '../../src/proxy/runtime.js'
import { validate } from '../../src/config/validate.js'
import { FILTERS } from '../../src/filters/index.js'
import { Tracer } from '../../src/trace/tracer.js'
import { COUNT } from './requests.js'
import { downstream, parsed } from './filters.js'
import type { Case } from './parse.js'

const REQUEST = Buffer.from('POST /api/v1/items?page=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\nCookie: sid=0123456789abcdef\r\nContent-Length: 11\r\n\r\n{"qty": 2}\n', 'latin1')
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n', 'latin1')
const BODY = REQUEST.subarray(REQUEST.indexOf('\r\n\r\n') + 4)

export function traceCases(): Case[] {
  // A request with a body stops at its head: parsed to its end in two steps.
  const req = new Parser(Kind.REQUEST, { maxHead: 16_384, maxTarget: 8_192 })
  if (req.execute(REQUEST, 0) !== Step.HEAD) throw new Error('bench request did not parse')
  req.resume()
  if (req.execute(REQUEST, req.pos) !== Step.END) throw new Error('bench request did not end')
  const res = parsed(RESPONSE, Kind.RESPONSE)
  const info = inspect(req.head)
  if (!(info instanceof RequestInfo)) throw info
  const rt = new Runtime(validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', headers: { request: { set: { 'X-Env': 'bench' } } } }] }), null, null, false, FILTERS)
  const route = rt.router.match('www.example.com', '/api/v1/items')!
  const down = downstream(rt)
  const peer = route.group.peers[0]
  const tracer = new Tracer()
  tracer.all = true
  let records = 0
  tracer.watchers.add(() => { records++ })
  const client = { remote: '127.0.0.1', traceClient: () => ({ address: '127.0.0.1', port: 40000, listener: '127.0.0.1:8080', tls: false }) }
  const one = (traced: boolean): void => {
    const x = new Exchange(down, req.head, info, route.group, 0, route.filters, route.label)
    if (traced) x.trace = tracer.choose(x, client, false, performance.now())
    const c = x.chain!
    const v = c.request(x)
    x.trace?.filtered(x, v)
    x.trace?.balanced(route.group, peer, null)
    x.trace?.pooled(peer, true)
    x.trace?.body(BODY)
    const head = buildRequest(req.head, info, down.origin, rt.via, peer.label, false, c.upstream(x))
    x.trace?.sent(x, head)
    x.trace?.responded(x, res.head, Framing.RAW, false)
    rawStart(res.head, RESPONSE, 0)
    x.trace?.end(x)
  }
  one(true)
  if (records !== 1) throw new Error('the traced bench request made no record')
  return [
    { name: 'request through the Exchange, not traced', run: () => { for (let i = 0; i < COUNT; i++) one(false) } },
    { name: 'the same, traced (every hook, the record)', run: () => { for (let i = 0; i < COUNT; i++) one(true) } },
  ]
}
