/**
 * The seeded slice of the fuzz campaign (`make fuzz` runs the million): a few thousand generated and
 * mutated requests and responses through the real CLI, with Node's parser as the second judge. No
 * crash, no hang, no differential mismatch; and the slice must reach both sides of every oracle
 * (requests forwarded and refused, responses passed and refused), or it proves nothing. Seed 1 at
 * this count found the body after a refused HEAD's 400 (src/server/connection.ts).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { describe, runFuzz } from '../../bench/fuzz/campaign.js'
import { differs, forwardedTarget, sha1, type Echo } from '../../bench/fuzz/expected.js'
import { parse } from '../../bench/fuzz/reference.js'
import { requestInput } from '../../bench/fuzz/request-campaign.js'

const t = suite('fuzz campaign')

t('3,000 inputs of seed 1: no crash, hang or mismatch, and every oracle exercised', async () => {
  const r = await runFuzz({ seed: 1, count: 3000, requestShare: 0.7, capMs: 90_000, requestSlots: 8, responseSlots: 4, deadlineMs: 10_000 })
  const text = describe(r)
  assert.is(r.crashes.length, 0, text)
  assert.is(r.requests.failures + r.responses.failures, 0, text)
  assert.ok(!r.cappedByTime, text)
  assert.ok(r.requests.inputs >= 2100 && r.responses.inputs >= 900, text)
  assert.ok(r.requests.forwarded > 500, `requests reached the peer and were compared: ${text}`)
  assert.ok((r.requests.outcomes.get('proxy 400') ?? 0) > 100, `requests refused: ${text}`)
  assert.ok(r.requests.mutated > 300 && r.responses.mutated > 300, text)
  assert.ok((r.responses.outcomes.get('proxy 502') ?? 0) > 100, `responses refused: ${text}`)
  assert.ok((r.responses.outcomes.get('peer 200') ?? 0) > 50, `responses passed and compared: ${text}`)
})

t('the same seed makes the same bytes (a failure replays with SEED and ONLY)', () => {
  assert.ok(requestInput(7, 42).bytes.equals(requestInput(7, 42).bytes))
  assert.not.ok(requestInput(7, 42).bytes.equals(requestInput(7, 43).bytes))
})

// The oracles themselves must be able to fail.
const sent = parse('request', Buffer.from('POST http://h.test/a/../b?x HTTP/1.1\r\nHost: ignored\r\nConnection: x-a\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 3\r\n\r\nabc'), true).msgs[0]
const echo = (over: Partial<Echo> = {}): Echo => ({
  n: 1, m: 'POST', u: '/b?x', v: '1.1', t: [], bl: 3, bh: sha1(Buffer.from('abc')),
  h: ['X-B', '2', 'Content-Length', '3', 'X-Forwarded-For', '127.0.0.10', 'Via', '1.1 rawproxy', 'Host', 'h.test'], ...over,
})

t('differs: the request as forwarded under the documented rewrites passes', () => {
  assert.is(forwardedTarget('http://h.test/a/../b?x').target, '/b?x')
  assert.is(forwardedTarget('/a/%2E%2E/b/.').target, '/b/')
  assert.is(differs(sent, echo(), '127.0.0.10', 'p:1'), null)
})

t('differs: a changed body, field, target, Host or X-Forwarded-For is a mismatch', () => {
  assert.match(differs(sent, echo({ bl: 2, bh: sha1(Buffer.from('ab')) }), '127.0.0.10', 'p:1')!, /body/)
  assert.match(differs(sent, echo({ h: ['X-A', '1', 'X-B', '2', 'Content-Length', '3', 'X-Forwarded-For', '127.0.0.10', 'Host', 'h.test'] }), '127.0.0.10', 'p:1')!, /fields/)
  assert.match(differs(sent, echo({ u: '/a/../b?x' }), '127.0.0.10', 'p:1')!, /target/)
  assert.match(differs(sent, echo({ h: ['X-B', '2', 'Content-Length', '3', 'X-Forwarded-For', '127.0.0.10', 'Host', 'ignored'] }), '127.0.0.10', 'p:1')!, /Host/)
  assert.match(differs(sent, echo(), '127.0.0.11', 'p:1')!, /X-Forwarded-For/)
})

t('the independent parser sees a smuggled second request where a lenient reading would see one', () => {
  const bytes = Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcdeGET /x HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal(parse('request', bytes, true).msgs.map((m) => m.url), ['/', '/x'])
  assert.ok(parse('request', Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), true).error !== null)
})

t.run()
