// PLACEHOLDER until the cidr-pp branch lands (its strict v1/v2 reader replaces this file).
export type ProxyResult = { kind: 'more' } | { kind: 'error'; reason: string } | { kind: 'done'; rest: Buffer; source: { address: string; port: number } | null }
export class ProxyHeaderReader {
  #buf = Buffer.alloc(0)
  feed(chunk: Buffer): ProxyResult {
    this.#buf = Buffer.concat([this.#buf, chunk])
    const end = this.#buf.indexOf('\r\n')
    if (end < 0) return this.#buf.length > 107 ? { kind: 'error', reason: 'too long' } : { kind: 'more' }
    const p = this.#buf.subarray(0, end).toString('latin1').split(' ')
    if (p[0] !== 'PROXY') return { kind: 'error', reason: 'not PROXY' }
    return { kind: 'done', rest: this.#buf.subarray(end + 2), source: p[1] === 'UNKNOWN' ? null : { address: p[2], port: Number(p[4]) } }
  }
}
