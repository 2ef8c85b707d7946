/**
 * One active health probe of one peer, on a connection of its own (never a pooled client socket).
 * `tcp`: the connect (and, for a TLS group, the handshake) must succeed. `http`: a request with `Connection: close`, whose response must
 * have a status in the range and, if asked, contain a substring in its first 64 KiB of body. The
 * response is read with the same llhttp parser as client traffic, so a malformed answer fails.
 */
import { connect, Socket } from 'node:net'
import type { HealthCheck } from '../config/schema.js'
import { Kind, Parser, Step } from '../http/llhttp.js'
import type { Peer } from './peer.js'

const MAX_BODY = 65_536

export type ProbeDone = (ok: boolean, detail: string) => void

export class HealthProbe {
  readonly #socket: Socket
  readonly #parser: Parser | null
  readonly #hc: HealthCheck
  readonly #done: ProbeDone
  readonly #timer: NodeJS.Timeout
  readonly #body: Buffer[] = []
  #bodyLen = 0
  #over = false
  #connected = false

  constructor(peer: Peer, hc: HealthCheck, done: ProbeDone) {
    this.#hc = hc
    this.#done = done
    this.#parser = hc.type === 'http' ? new Parser(Kind.RESPONSE, peer.limits) : null
    if (this.#parser !== null) {
      this.#parser.sink = (chunk, start, end) => this.#keep(chunk, start, end)
      this.#parser.skipBody = hc.method === 'HEAD' // RFC 9110 §9.3.2
    }
    this.#timer = setTimeout(() => this.#end(false, 'timeout'), hc.timeout)
    // A TLS group's peers are probed over TLS too: the handshake, certificate check included, is part of the check.
    this.#socket = peer.tls === null ? connect({ host: peer.host, port: peer.port }) : peer.tls.connect()
    this.#socket.on(peer.tls === null ? 'connect' : 'secureConnect', () => {
      this.#connected = true
      if (this.#parser === null) { this.#end(true, 'connected'); return }
      const host = hc.host ?? peer.label
      this.#socket.write(`${hc.method} ${hc.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: rawproxy-health\r\nConnection: close\r\n\r\n`)
    })
    this.#socket.on('data', (chunk: Buffer) => this.#data(chunk))
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#end(false, `${this.#connected ? '' : 'connect '}${err.code ?? err.message}`))
    this.#socket.on('close', () => this.#closed())
  }

  #data(chunk: Buffer): void {
    const p = this.#parser
    if (p === null || this.#over) return
    for (let from = 0; ;) {
      const step = p.execute(chunk, from)
      if (step === Step.ERROR) { this.#end(false, `bad response: ${p.error!.message}`); return }
      if (step === Step.MORE) return
      if (p.headDone && p.head.status >= 200) p.bodySpans = this.#hc.body !== null
      if (step === Step.END && p.head.status >= 200) { this.#judge(); return }
      from = p.pos
      p.resume()
    }
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    if (this.#bodyLen >= MAX_BODY) return
    const b = chunk.subarray(start, Math.min(end, start + MAX_BODY - this.#bodyLen))
    this.#body.push(Buffer.from(b))
    this.#bodyLen += b.length
  }

  #closed(): void {
    if (this.#over) return
    // A body delimited by the close ends here (RFC 9112 §6.3 rule 8).
    if (this.#parser !== null && this.#parser.finish() === Step.END) { this.#judge(); return }
    this.#end(false, this.#parser === null ? 'closed' : 'closed before a complete response')
  }

  #judge(): void {
    const hc = this.#hc
    const status = this.#parser!.head.status
    if (status < hc.status[0] || status > hc.status[1]) { this.#end(false, `status ${status}`); return }
    if (hc.body !== null && !Buffer.concat(this.#body).includes(hc.body)) { this.#end(false, `status ${status}, body lacks "${hc.body}"`); return }
    this.#end(true, `status ${status}`)
  }

  #end(ok: boolean, detail: string): void {
    if (this.#over) return
    this.#over = true
    clearTimeout(this.#timer)
    this.#socket.destroy()
    this.#parser?.destroy()
    this.#done(ok, detail)
  }
}
