/**
 * Group (a): parsing the same ten pipelined requests with Node's native parser and with our llhttp
 * WASM binding. Our driver loop is the one server/connection.ts runs: the parser pauses at each head
 * and each message end, and we resume it.
 */
import { Kind, Parser, Step } from '../../src/http/llhttp.js'
import { inspect } from '../../src/proxy/request-head.js'
import { ProxyError } from '../../src/errors.js'
import { NodeParser } from './node-parser.js'
import { COUNT, PIPELINED } from './requests.js'

const LIMITS = { maxHead: 16_384, maxTarget: 8_192 } // the config defaults

/** One benchmark task: `run` does COUNT requests' worth of work. */
export interface Case {
  readonly name: string
  readonly run: () => void
}

/** Parses one chunk to its end as connection.ts does; `onHead` runs at each complete head. */
function drive(p: Parser, chunk: Buffer, onHead: ((p: Parser) => void) | null): number {
  let from = 0
  let ends = 0
  for (;;) {
    const step = p.execute(chunk, from)
    if (step === Step.MORE) return ends
    if (step === Step.ERROR) throw p.error
    if (p.headDone && onHead !== null) onHead(p)
    if (step === Step.END) ends++
    from = p.pos
    p.resume()
  }
}

function checkInspect(p: Parser): void {
  if (inspect(p.head) instanceof ProxyError) throw new Error('inspect refused a fixture request')
}

export function parseCases(): Case[] {
  const node = new NodeParser()
  const ours = new Parser(Kind.REQUEST, LIMITS)
  const oursInspect = new Parser(Kind.REQUEST, LIMITS)

  // Both parsers must see all ten messages, or the comparison means nothing.
  node.execute(PIPELINED)
  if (node.messages !== COUNT) throw new Error(`node parser saw ${node.messages} of ${COUNT} messages`)
  const seen = drive(ours, PIPELINED, null)
  if (seen !== COUNT) throw new Error(`rawproxy parser saw ${seen} of ${COUNT} messages`)

  return [
    { name: 'node:http parser (native llhttp)', run: () => node.execute(PIPELINED) },
    { name: 'rawproxy Parser (llhttp WASM)', run: () => { drive(ours, PIPELINED, null) } },
    { name: 'rawproxy Parser + inspect()', run: () => { drive(oursInspect, PIPELINED, checkInspect) } },
  ]
}
