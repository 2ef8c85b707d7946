/**
 * Every malformed request of spec/proxy/malformed-cases.ts, traced: its record names the check that
 * failed and the RFC section behind it, and the status the client got. Also a refusal traced by an
 * arming for any route and path, and the terminal form in colour.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, proxyTo, raw, sleep } from '../support/harness.js'
import { MALFORMED, MALFORMED_LIMITS } from '../proxy/malformed-cases.js'
import { collect, records } from './support.js'
import { format } from '../../src/trace/print.js'
import { checkOf } from '../../src/http/checks.js'
import { Code, ProxyError } from '../../src/errors.js'

const t = suite('trace: the failing check and its RFC')
const track = guard(t)

t('each malformed request: the failing check, its RFC, the status', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], { limits: MALFORMED_LIMITS }))
  px.server.tracer.all = true
  const got = collect(px)
  for (const [what, bytes, status] of MALFORMED) {
    got.length = 0
    await raw(px.port, bytes, { ms: 3000 })
    const [r] = await records(got, 1)
    assert.is(r.status, status, what)
    const failed = r.steps.find((s) => s.phase === 'check' && s.verdict === 'fail')
    assert.ok(failed !== undefined, `${what}: a failed check`)
    assert.match(failed!.rfc!, /^RFC \d{4} §\d/, `${what}: ${failed!.rfc}`)
  }
  assert.is(up.requests.length, 0)
})

t('checkOf: faults that are checks name theirs, others none', () => {
  const cases: [ProxyError, string | null][] = [
    [new ProxyError(Code.TARGET_TOO_LONG, 'x'), 'RFC 9112 §3'],
    [new ProxyError(Code.HEAD_TOO_LARGE, 'x'), 'RFC 6585 §5'],
    [new ProxyError(Code.NOT_IMPLEMENTED, 'CONNECT is not served'), 'RFC 9110 §9.3.6'],
    [new ProxyError(Code.HEADER_TIMEOUT, 'x'), 'RFC 9110 §15.5.9'],
    [new ProxyError(Code.PARSE, 'HPE_INVALID_URL: fragment in request target'), 'RFC 9112 §3.2'],
    [new ProxyError(Code.PARSE, 'HPE_INVALID_CHUNK_SIZE: Invalid character in chunk size'), 'RFC 9112 §7.1'],
    [new ProxyError(Code.PARSE, 'HPE_SOMETHING_NEW: who knows'), 'RFC 9112 §2.2'],
    [new ProxyError(Code.BAD_REQUEST, 'Transfer-Encoding in an HTTP/1.0 request'), 'RFC 9112 §6.1'],
    [new ProxyError(Code.BAD_REQUEST, 'invalid Host'), 'RFC 9112 §3.2, RFC 3986 §3.2.2'],
    [new ProxyError(Code.BAD_REQUEST, 'something else'), 'RFC 9112 §3'],
    [new ProxyError(Code.CLIENT_ABORT, 'gone'), null],
  ]
  for (const [err, rfc] of cases) assert.is(checkOf(err)?.rfc ?? null, rfc, err.message)
})

t('a refused request is traced by an arming for any route and path, not by a narrower one', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  const got = collect(px)
  px.server.tracer.arm(5, '', '/api')
  await raw(px.port, 'GET / HTTP/1.1\r\n\r\n')
  await sleep(30)
  assert.is(got.length, 0, 'no path to match: not for an arming by path')
  px.server.tracer.arm(1, '', '')
  await raw(px.port, 'GET / HTTP/1.1\r\n\r\n')
  const [r] = await records(got, 1)
  assert.is(r.status, 400)
  assert.equal(px.server.tracer.armed.map((a) => a.path), ['/api'], 'the any-request arming is used up')
})

t('the terminal form in colour: verdicts, marks and RFCs painted', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  px.server.tracer.all = true
  const got = collect(px)
  await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [r] = await records(got, 1)
  const text = format(r, true)
  assert.match(text, /\u001b\[32mpass {8}\u001b\[0m/)
  assert.match(text, /\u001b\[31m- Connection: close\u001b\[0m/)
  assert.match(text, /\u001b\[32m\+ X-Forwarded-For: 127\.0\.0\.1\u001b\[0m/)
  assert.match(text, /\u001b\[35mRFC 9112 §3\.2\u001b\[0m/)
  assert.is(format(r, false).includes('\u001b['), false)
})

t.run()
