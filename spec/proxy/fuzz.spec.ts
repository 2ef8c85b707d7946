/**
 * Seeded mutations of valid requests, split at random points: whatever the bytes, the proxy answers
 * each connection with a well-formed response (or closes it), never crashes, and everything the peer
 * receives parses as a sane HTTP/1.1 request (Node's own parser is the independent judge).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, proxyTo, raw, guard } from '../support/harness.js'

const t = suite('fuzz')
const track = guard(t)

/** A small deterministic PRNG (mulberry32), so a failure can be replayed by its seed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

const SEEDS = [
  'GET /a?b=c HTTP/1.1\r\nHost: x.test\r\nAccept: */*\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: x.test\r\nContent-Length: 5\r\n\r\nhello',
  'POST /c HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
]
const ALPHABET = ['\r', '\n', ' ', '\t', ':', '\0', '\x7f', '\xff', '0', 'a', ',', ';', '"', '\r\n', 'Content-Length: 3\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: y\r\n']

function mutate(s: string, r: () => number): string {
  let out = s
  const n = 1 + Math.floor(r() * 3)
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (out.length + 1))
    const op = r()
    const piece = ALPHABET[Math.floor(r() * ALPHABET.length)]
    if (op < 0.4) out = out.slice(0, at) + piece + out.slice(at)
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 3))
    else out = out.slice(0, at) + piece + out.slice(at + piece.length)
  }
  return out
}

t('400 mutated requests: every reply is well formed, the proxy stays up', async () => {
  const up = track(await httpUpstream((req, res) => res.end(`ok ${req.method}`)))
  const px = track(await proxyTo([up.port], { timeouts: { header: '100ms' } }))
  const r = rng(0x5eed)
  const statuses = new Map<number, number>()
  for (let i = 0; i < 400; i++) {
    const bytes = mutate(SEEDS[i % SEEDS.length], r)
    const cut = Math.floor(r() * bytes.length)
    const res = await raw(px.port, cut > 0 ? [bytes.slice(0, cut), bytes.slice(cut)] : bytes, { ms: 250, until: (s) => /\r\n\r\n[\s\S]*(ok [A-Z]+|\n)$/.test(s) })
    if (res.text === '') continue // closed without a word, or still waiting for the rest of a head
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(res.text)
    assert.ok(m, `seed #${i}: reply is not a status line: ${JSON.stringify(res.text.slice(0, 60))} for ${JSON.stringify(bytes)}`)
    const status = Number(m![1])
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    assert.ok(status === 200 || status === 400 || status === 404 || status === 408 || status === 414 || status === 431 || status === 501, `seed #${i}: status ${status}`)
  }
  // The mutations must exercise both outcomes, or this test proves nothing.
  assert.ok((statuses.get(200) ?? 0) > 20, `accepted: ${JSON.stringify([...statuses])}`)
  assert.ok((statuses.get(400) ?? 0) > 20, `refused: ${JSON.stringify([...statuses])}`)
  for (const q of up.requests) {
    assert.ok(['GET', 'POST'].includes(q.method), `peer got method ${q.method}`)
    assert.ok(q.headers.host !== undefined, 'peer got a Host')
  }
  const ok = await raw(px.port, SEEDS[0].replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))
  assert.match(ok.text, /ok GET$/)
})

t.run()
