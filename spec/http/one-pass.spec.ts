/**
 * Parser.onePass (responses: head, body and end in one execute): for every response below, cut at
 * every offset, the driver must see the same heads, head sizes and body bytes as with the usual stop
 * at the end of the head.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Kind, Parser, Step } from '../../src/http/llhttp.js'

const t = suite('one-pass')
const LIMITS = { maxHead: 1024, maxTarget: 1024 }

interface Seen { heads: string[]; body: string; error: string | null; onePass: number }

/** Drives a response parser over `chunks` like exchange.ts does, raw body bytes only. */
function drive(chunks: Buffer[], onePass: boolean): Seen {
  const p = new Parser(Kind.RESPONSE, LIMITS)
  p.onePass = onePass
  const seen: Seen = { heads: [], body: '', error: null, onePass: 0 }
  let inBody = false
  outer: for (const chunk of chunks) {
    let from = 0
    for (;;) {
      const step = p.execute(chunk, from)
      if (step === Step.ERROR) { seen.error = p.error!.message; break outer }
      if (p.headDone) {
        const h = p.head
        seen.heads.push(`${h.status} ${h.line()} [${Array.from({ length: h.count }, (_, i) => `${h.name(i)}=${h.value(i)}`).join(',')}] size ${h.size}`)
        if (p.bodyStart >= 0) { from = p.bodyStart; seen.onePass++ }
        else if (step === Step.END) from = p.pos // a message that ended with its head: no body
        inBody = true
      }
      if (step === Step.HEAD) { from = p.pos; p.resume(); continue }
      if (step === Step.MORE) { if (inBody) seen.body += chunk.toString('latin1', from); break }
      seen.body += chunk.toString('latin1', from, p.pos) + '|'
      inBody = false
      from = p.pos
      p.resume()
      if (from >= chunk.length) break
    }
  }
  p.destroy()
  return seen
}

const CASES: [string, string][] = [
  ['Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n'],
  ['chunked body with a trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n'],
  ['last field with an empty value', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Empty:\r\n\r\nok'],
  ['last field of whitespace only', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Blank:   \r\n\r\nok'],
  ['trailing whitespace in the last value', 'HTTP/1.1 200 OK\r\nContent-Length: 2   \r\n\r\nok'],
  ['no fields, empty reason (falls back to the stop at the head)', 'HTTP/1.1 200 \r\n\r\n'],
  ['204 and 304: no body', 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'],
  ['interim 100 then the final response', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'],
  ['pipelined responses', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb'],
  ['a body far larger than the head cap (the head size stays the head)', `HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n${'x'.repeat(3000)}`],
]

for (const [what, text] of CASES) {
  t(what, () => {
    const bytes = Buffer.from(text, 'latin1')
    const whole = drive([bytes], false)
    assert.is(whole.error, null)
    const fast = drive([bytes], true)
    assert.equal(fast, { ...whole, onePass: fast.onePass })
    for (let cut = 1; cut < bytes.length; cut++) {
      const got = drive([bytes.subarray(0, cut), bytes.subarray(cut)], true)
      assert.equal({ ...got, onePass: 0 }, { ...whole, onePass: 0 }, `cut at ${cut}`)
    }
  })
}

t('one pass is taken for an ordinary response in one chunk, and never for a close-delimited body', () => {
  assert.is(drive([Buffer.from(CASES[0][1], 'latin1')], true).onePass, 1)
  assert.is(drive([Buffer.from('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil close', 'latin1')], true).onePass, 0)
})

t.run()
