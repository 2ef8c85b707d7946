/**
 * Node's own HTTP parser (llhttp compiled natively, the one node:http uses), set up as
 * lib/_http_common.js does: the four callbacks by their slot numbers, then `initialize` for requests
 * as lib/_http_server.js calls it. The callbacks do nothing but count, so the row measures the parser
 * and its binding (which hands the url and every header name and value to JS as strings), not
 * IncomingMessage.
 */
interface NodeHTTPParser {
  [slot: number]: unknown
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(b: Buffer): number | Error
}

interface HTTPParserClass {
  new (): NodeHTTPParser
  REQUEST: number
  kOnHeaders: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
  kLenientNone: number
}

// process.binding is deprecated (DEP0111) but 'http_parser' stays on its allow-list; it is the only
// way to reach this parser without node:http around it. Silence the one warning it prints.
const noDeprecation = process.noDeprecation
process.noDeprecation = true
const { HTTPParser } = (process as unknown as { binding(name: string): { HTTPParser: HTTPParserClass } }).binding('http_parser')
process.noDeprecation = noDeprecation

/** What a callback saw of one head; only kept when `capture` is on. */
export interface NodeHead {
  method: number
  url: string
  headers: string[]
}

export class NodeParser {
  readonly #p: NodeHTTPParser
  /** Messages completed since construction. */
  messages = 0
  /** When set, each head's url and headers are pushed here (for building reference heads). */
  capture: NodeHead[] | null = null

  constructor() {
    const p = new HTTPParser()
    // _http_common's parserOnHeaders: only called when a head is too long for one callback; no-op here.
    p[HTTPParser.kOnHeaders] = () => {}
    p[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[], method: number, url: string) => {
      if (this.capture !== null) this.capture.push({ method, url, headers })
      return 0 // 0: the message may have a body (a GET has none anyway)
    }
    p[HTTPParser.kOnBody] = () => {}
    p[HTTPParser.kOnMessageComplete] = () => { this.messages++ }
    // As _http_server.js: REQUEST, an async resource, the default max header size, no leniency.
    p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone)
    this.#p = p
  }

  /** Parses every message in `b`; throws when node's parser rejects it. */
  execute(b: Buffer): void {
    const r = this.#p.execute(b)
    if (typeof r !== 'number') throw r
  }
}
