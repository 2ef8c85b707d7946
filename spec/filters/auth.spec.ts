import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, guard, sleep, waitFor, ProxyHandle } from '../support/harness.js'
import { validate, ConfigError } from '../../src/config/validate.js'
import { htpasswd, hashOf, sshaOf } from './auth/tools.js'

const t = suite('filters: auth')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`
const get = (auth: string | null, path = '/'): string =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\n${auth === null ? '' : `Authorization: ${auth}\r\n`}Connection: close\r\n\r\n`

function proxy(auth: unknown, more: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', auth }], ...more })
}

/** An htpasswd file made by the real tool: one user per format it offers. */
function usersFile(): string {
  const file = tempFile('users')
  htpasswd('-cbB', '-C', '5', file, 'bcrypt-user', 'pw-bcrypt')
  htpasswd('-bm', file, 'apr1-user', 'pw-apr1')
  htpasswd('-bs', file, 'sha-user', 'pw-sha')
  return file
}

t('401 with the challenge of RFC 7617 without credentials, with a wrong password, an unknown user or a malformed header', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ realm: 'staff area', htpasswd: usersFile() }, { access_log: { path: log, format: 'json' } }))
  for (const a of [null, basic('bcrypt-user', 'nope'), basic('nobody', 'pw-bcrypt'), 'Basic !!!', 'Basic', 'Bearer abc', 'Basic ' + Buffer.from('no-colon').toString('base64'),
    'Basic ' + Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64')]) {
    const r = await raw(px.port, get(a))
    assert.equal(statuses(r.text), [401], String(a))
    assert.match(r.text, /\r\nWWW-Authenticate: Basic realm="staff area", charset="UTF-8"\r\n/)
  }
  const twice = await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\nAuthorization: ${basic('sha-user', 'pw-sha')}\r\nAuthorization: ${basic('sha-user', 'pw-sha')}\r\nConnection: close\r\n\r\n`)
  assert.equal(statuses(twice.text), [401], 'two Authorization fields are no credentials')
  assert.is(up.requests.length, 0)
  const recs = accessRecords(px, log)
  assert.ok(recs.every((r) => r.cause === 'PA' && r.filter === 'auth' && r.user === undefined))
})

t('each format from the real htpasswd lets its user in; Authorization is not forwarded; the user is logged', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ htpasswd: usersFile(), users: { 'ssha-user': sshaOf('pw-ssha'), 'zoë': hashOf(['-B', '-C', '4'], 'pässwörd') } }, {
    access_log: { path: log, format: 'json' },
  }))
  for (const [user, pass] of [['bcrypt-user', 'pw-bcrypt'], ['apr1-user', 'pw-apr1'], ['sha-user', 'pw-sha'], ['ssha-user', 'pw-ssha'], ['zoë', 'pässwörd']]) {
    const r = await raw(px.port, get(basic(user, pass)))
    assert.equal(statuses(r.text), [200], user)
  }
  assert.is(up.requests.length, 5)
  assert.ok(up.requests.every((r) => r.headers.authorization === undefined), 'Authorization removed')
  assert.equal(accessRecords(px, log).map((r) => r.user), ['bcrypt-user', 'apr1-user', 'sha-user', 'ssha-user', 'zoë'])
})

t('forward_credentials keeps Authorization; {user} fills a header rule', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', auth: { users: { alice: sshaOf('wonder') }, forward_credentials: true }, headers: { request: { set: { 'X-User': '{user}' } } } }],
  }))
  await raw(px.port, get(basic('alice', 'wonder')))
  assert.is(up.requests[0].headers.authorization, basic('alice', 'wonder'))
  assert.is(up.requests[0].headers['x-user'], 'alice')
})

t('verified credentials are cached: the second request does not wait for the hash', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw') } }))
  let t0 = performance.now()
  assert.equal(statuses((await raw(px.port, get(basic('slow', 'pw')), { ms: 5000 })).text), [200])
  const first = performance.now() - t0
  t0 = performance.now()
  assert.equal(statuses((await raw(px.port, get(basic('slow', 'pw')))).text), [200])
  const second = performance.now() - t0
  // Cost 12 is ~200 ms of bcrypt; a cached check is microseconds. Compared to each other, not to a clock.
  assert.ok(second * 4 < first, `cached ${second.toFixed(1)} ms vs first ${first.toFixed(1)} ms`)
  assert.equal(statuses((await raw(px.port, get(basic('slow', 'other')), { ms: 5000 })).text), [401], 'a wrong password is hashed again')
})

t('a flood of wrong passwords does not stall the event loop; past the queue budget: 503', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw') } }))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 5)
  const replies = await Promise.all(Array.from({ length: 12 }, () => raw(px.port, get(basic('slow', 'wrong')), { ms: 8000 })))
  clearInterval(timer)
  const got = replies.map((r) => statuses(r.text)[0]).sort()
  assert.ok(got.includes(401) && got.includes(503), `statuses: ${got.join()}`)
  const busy = replies.find((r) => statuses(r.text)[0] === 503)!
  assert.match(busy.text, /\r\nRetry-After: 1\r\n/)
  assert.ok(ticks > 20, `the loop ticked ${ticks} times while ${got.filter((s) => s === 401).length} hashes ran`)
})

t('a client that leaves while its password is checked costs nothing more', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '11'], 'pw') } }))
  const s = connect(px.port, '127.0.0.1')
  s.on('error', () => {})
  s.write(get(basic('slow', 'pw')).replace('Connection: close\r\n', ''))
  await sleep(10)
  // A reset, not a FIN: a half-closed client would still be owed its response.
  s.resetAndDestroy()
  await sleep(300)
  assert.is(up.requests.length, 0, 'nothing forwarded for a client that is gone')
  assert.equal(statuses((await raw(px.port, get(basic('slow', 'pw')), { ms: 5000 })).text), [200])
})

t('a request body waits while the password is checked, then goes through whole', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '10'], 'pw') } }))
  const body = 'x'.repeat(200_000)
  const r = await raw(px.port, [`POST /up HTTP/1.1\r\nHost: a\r\nAuthorization: ${basic('slow', 'pw')}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, body], { ms: 5000 })
  assert.equal(statuses(r.text), [200])
  await waitFor(() => up.requests.length === 1)
  assert.is(up.requests[0].body.length, body.length)
})

t('the htpasswd file is read again on reload: a changed password takes effect, the old one stops working', async () => {
  const file = tempFile('users')
  htpasswd('-cbB', '-C', '4', file, 'bob', 'old')
  const cfg = (): Record<string, unknown> => ({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', auth: { htpasswd: file } }] })
  const px = track(await startProxy(cfg()))
  assert.equal(statuses((await raw(px.port, get(basic('bob', 'old')))).text), [200])
  htpasswd('-bB', '-C', '4', file, 'bob', 'new')
  await px.server.reload(validate(cfg()))
  assert.equal(statuses((await raw(px.port, get(basic('bob', 'old')))).text), [401], 'the cached old password no longer passes')
  assert.equal(statuses((await raw(px.port, get(basic('bob', 'new')))).text), [200])
})

t('a file with a hash we do not accept refuses the config, naming the file, the line and the format', () => {
  const bad = (auth: unknown, msg: RegExp): void => {
    try { validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', auth }] }) } catch (err) {
      assert.instance(err, ConfigError)
      assert.match((err as Error).message, msg)
      return
    }
    assert.unreachable(String(msg))
  }
  const des = tempFile('des')
  writeFileSync(des, htpasswd('-nbd', 'old', 'secret'))
  bad({ htpasswd: des }, /^routes\[0\]\.auth\.htpasswd: .*des line 1: DES crypt is not accepted/)
  const plain = tempFile('plain')
  writeFileSync(plain, 'x:' + hashOf(['-B', '-C', '4'], 'a') + '\n' + htpasswd('-nbp', 'p', 'secret'))
  bad({ htpasswd: plain }, /^routes\[0\]\.auth\.htpasswd: .*plain line 2: plain text \(htpasswd -p\) is not accepted/)
  bad({ users: { u: hashOf(['-5'], 'a') } }, /^routes\[0\]\.auth\.users\.u: SHA-512-crypt \(\$6\$, htpasswd -5\) is not accepted/)
  bad({ htpasswd: '/nonexistent/users' }, /^routes\[0\]\.auth\.htpasswd: cannot read file \/nonexistent\/users: ENOENT/)
  bad({ realm: 'a"b', users: { u: sshaOf('x') } }, /^routes\[0\]\.auth\.realm: must be visible ASCII without " or \\$/)
  bad({ realm: 'r' }, /^routes\[0\]\.auth: needs users: an htpasswd file or a users mapping$/)
  bad({ users: { 'a:b': sshaOf('x') } }, /^routes\[0\]\.auth\.users\.a:b: a user name must be non-empty and hold no ":"/)
})

t.run()
