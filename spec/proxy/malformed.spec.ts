/**
 * Malformed and ambiguous requests through a real proxy (DESIGN principle 3): each gets exactly one
 * reply with the right status, the connection is closed, and the upstream sees nothing, not even a
 * connection. Every case is sent in one write, so the proxy has all of it before it answers.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { proxyTo, raw, rawUpstream, sleep, statuses, ProxyHandle, RawUpstream } from '../support/harness.js'
import { MALFORMED, MALFORMED_LIMITS, POST } from './malformed-cases.js'

const t = suite('malformed')
let up: RawUpstream
let px: ProxyHandle

t.before(async () => {
  // Answers once a request looks complete: a head with no body, or the test bodies below.
  up = await rawUpstream((s, _d, all) => {
    const text = all.toString('latin1')
    if (text.endsWith('\r\n\r\n') || text.endsWith('body')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
  })
  px = await proxyTo([up.port], { limits: MALFORMED_LIMITS })
})
t.after(async () => { await px.close(); await up.close() })

/** One test: `bytes` get exactly one reply with `status`, then the close; the upstream gets nothing. */
function refused(what: string, bytes: string | string[], status: number): void {
  t(`${status}: ${what}`, async () => {
    const conns = up.received.length
    const r = await raw(px.port, bytes)
    assert.equal(statuses(r.text), [status], `reply: ${JSON.stringify(r.text.slice(0, 80))}`)
    assert.match(r.text, /\r\nConnection: close\r\n/i)
    assert.ok(r.closed, 'the proxy closed the connection')
    await sleep(10) // anything sent upstream would have arrived by now
    assert.is(up.received.length, conns, 'no connection to the upstream')
  })
}

for (const [what, bytes, status] of MALFORMED) refused(what, bytes, status)

// RFC 9110 §9.3.2: the refusal of a HEAD has the head of a GET's refusal and no content (found by
// the fuzz campaign: the 400 carried "400 Bad Request\n" after its head, which a client reads as the
// start of the next response).
// The same before the head is whole, once the request line's method was read (a 431 comes as soon
// as the head passes the cap; a 414 while the target is still arriving).
const HEAD_REFUSALS: [string, string | string[], number, number][] = [
  ['HEAD without Host', 'HEAD / HTTP/1.1\r\n\r\n', 400, 16],
  ['HEAD with a bad Host', 'HEAD / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 16],
  ['HEAD with two Hosts', 'HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 16],
  ['HEAD with a head over max_head', `HEAD / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(MALFORMED_LIMITS.max_head + 10)}\r\n\r\n`, 431, 36],
  ['HEAD with a head over max_head, not yet whole', [`HEAD / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(MALFORMED_LIMITS.max_head + 10)}`, '\r\n\r\n'], 431, 36],
  ['HEAD with a target over max_target', `HEAD /${'t'.repeat(MALFORMED_LIMITS.max_target + 10)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 17],
]
for (const [what, bytes, status, length] of HEAD_REFUSALS) {
  t(`${status} to a HEAD has no body: ${what}`, async () => {
    const r = await raw(px.port, bytes)
    assert.match(r.text, new RegExp(`^HTTP/1\\.1 ${status} [^\r]*\r\n`))
    assert.match(r.text, new RegExp(`\r\nContent-Length: ${length}\r\n`, 'i'), 'the length a GET\'s refusal would have')
    assert.ok(r.text.endsWith('\r\n\r\n'), `nothing after the head: ${JSON.stringify(r.text)}`)
    assert.ok(r.closed)
  })
}

// ---- and valid requests still pass, whole ----
t('a valid request through the same proxy gets the peer\'s answer', async () => {
  const before = up.received.length
  const r = await raw(px.port, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200])
  assert.match(r.text, /\r\n\r\nok$/)
  assert.is(up.received.length, before + 1)
  assert.match(up.received[before].toString('latin1'), /^GET \/ok HTTP\/1\.1\r\nHost: a\r\n/)
})

t('empty values next to dropped fields and a chunked body reach the peer intact', async () => {
  const before = up.received.length
  const body = '5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n'
  const r = await raw(px.port, `${POST}X-Empty:\r\nConnection: keep-alive\r\nX-Blank:  \r\nTransfer-Encoding: chunked\r\nKeep-Alive: 5\r\n\r\n${body}`)
  assert.equal(statuses(r.text), [200])
  const seen = up.received[before].toString('latin1')
  assert.match(seen, /^POST \/ HTTP\/1\.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:  \r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: /)
  assert.is(seen.indexOf('\r\n\r\n'), seen.length - body.length - 4, 'one blank line, at the end of the head')
  assert.ok(seen.endsWith(`\r\n\r\n${body}`))
})

t('an Upgrade request with a body reaches the peer with its body', async () => {
  const before = up.received.length
  const r = await raw(px.port, `${POST}Connection: upgrade\r\nUpgrade: x-test\r\nContent-Length: 4\r\n\r\nbody`)
  assert.equal(statuses(r.text), [200])
  assert.match(up.received[before].toString('latin1'), /^POST \/ HTTP\/1\.1\r\nHost: a\r\nContent-Length: 4\r\n[^]*\r\n\r\nbody$/)
})

t.run()
