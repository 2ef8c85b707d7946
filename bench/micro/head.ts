/**
 * Group (b): rebuilding the request head that goes upstream, for each of the ten fixture requests,
 * from heads parsed once up front. `buildHead` is the span copier alone (hop-by-hop fields cut);
 * `buildRequest` is what an Exchange calls (Connection tokens, X-Forwarded-*, Forwarded, Via). The
 * reference row does the same job the way a node:http proxy does: a headers object, keys deleted
 * and added, then serialised to a string.
 */
import { Kind, Parser, Step, methodName } from '../../src/http/llhttp.js'
import { NameSet } from '../../src/http/head.js'
import { buildHead } from '../../src/http/serialize.js'
import { Origin, RequestInfo, buildRequest, inspect } from '../../src/proxy/request-head.js'
import { NodeParser, NodeHead } from './node-parser.js'
import { PIPELINED, REQUESTS } from './requests.js'
import type { Case } from './parse.js'

const HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']
const DROP = new NameSet(HOP)
const ORIGIN = new Origin('127.0.0.1', 'http', false)
const VIA = '1.1 rawproxy'
const PEER = '127.0.0.1:8081'

/** One parsed head per fixture request; each parser stays paused (at its head or, bodiless, its end) so the spans hold. */
function parsedHeads(): { p: Parser; info: RequestInfo }[] {
  return REQUESTS.map((b) => {
    const p = new Parser(Kind.REQUEST, { maxHead: 16_384, maxTarget: 8_192 })
    const step = p.execute(b, 0)
    if ((step !== Step.HEAD && step !== Step.END) || !p.headDone) throw new Error('fixture request did not parse to a head')
    const info = inspect(p.head)
    if (!(info instanceof RequestInfo)) throw info
    return { p, info }
  })
}

/** The node:http-proxy way: lower-cased object, hop-by-hop deleted, forwarding keys set, joined. */
function nodeStyle(h: NodeHead): Buffer {
  const headers: Record<string, string> = {}
  for (let i = 0; i < h.headers.length; i += 2) {
    const k = h.headers[i].toLowerCase()
    headers[k] = headers[k] === undefined ? h.headers[i + 1] : `${headers[k]}, ${h.headers[i + 1]}`
  }
  for (const k of HOP) delete headers[k]
  headers['x-forwarded-for'] = ORIGIN.client
  headers['x-forwarded-proto'] = ORIGIN.proto
  headers['x-forwarded-host'] = headers.host
  headers.via = VIA
  let s = `${methodName(h.method)} ${h.url} HTTP/1.1\r\n`
  for (const k in headers) s += `${k}: ${headers[k]}\r\n`
  return Buffer.from(s + '\r\n', 'latin1')
}

export function headCases(): Case[] {
  const heads = parsedHeads()
  const node = new NodeParser()
  node.capture = []
  node.execute(PIPELINED)
  const nodeHeads = node.capture
  // Sanity: the rebuilt head has the forwarding fields and no Connection field.
  const sample = buildRequest(heads[1].p.head, heads[1].info, ORIGIN, VIA, PEER, false).toString('latin1')
  if (!sample.includes('\r\nX-Forwarded-For: 127.0.0.1\r\n') || /\r\nconnection:/i.test(sample)) {
    throw new Error(`unexpected rebuilt head:\n${sample}`)
  }
  return [
    {
      name: 'buildHead (hop-by-hop cut)',
      run: () => {
        for (const { p } of heads) {
          const s = p.head.spans
          buildHead(p.head, 'GET ', s[0], s[1], ' HTTP/1.1\r\n', DROP, null, '')
        }
      },
    },
    {
      name: 'buildRequest (+ forwarding fields)',
      run: () => { for (const { p, info } of heads) buildRequest(p.head, info, ORIGIN, VIA, PEER, false) },
    },
    { name: 'reference: headers object -> string', run: () => { for (const h of nodeHeads) nodeStyle(h) } },
  ]
}
