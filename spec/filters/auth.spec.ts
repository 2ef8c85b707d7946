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
  const recs = await accessRecords(px, log)
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
  assert.equal((await accessRecords(px, log)).map((r) => r.user), ['bcrypt-user', 'apr1-user', 'sha-user', 'ssha-user', 'zoë'])
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

/** A GET from the client `xff` (the proxy trusts 127.0.0.1, so X-Forwarded-For names the client). */
const from = (xff: string, auth: string, path = '/'): string =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: ${xff}\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`

/** The order in which the answers to `requests` (sent in that order, a few ms apart) arrived. */
async function finishOrder(port: number, requests: string[]): Promise<{ order: number[]; statuses: number[] }> {
  const order: number[] = []
  const got: number[] = []
  await Promise.all(requests.map(async (req, i) => {
    await sleep(i * 15)
    const r = await raw(port, req, { ms: 8000 })
    order.push(i)
    got[i] = statuses(r.text)[0]
  }))
  return { order, statuses: got }
}

t('verified credentials are cached: a known password is answered while the verifier is busy', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw') } }, { trusted_proxies: ['127.0.0.1'] }))
  assert.equal(statuses((await raw(px.port, from('10.0.0.1', basic('slow', 'pw')), { ms: 5000 })).text), [200], 'verified once')
  // A wrong password (another client) keeps the verifier busy ~0.2 s; the cached one does not queue behind it.
  const r = await finishOrder(px.port, [from('10.0.0.2', basic('slow', 'wrong')), from('10.0.0.1', basic('slow', 'pw'))])
  assert.equal(r.statuses, [401, 200])
  assert.equal(r.order, [1, 0], 'the cached check finished first')
  assert.equal(statuses((await raw(px.port, from('10.0.0.1', basic('slow', 'other')), { ms: 5000 })).text), [401], 'a wrong password is hashed again')
})

t('a refusal takes the decoy\'s time whatever the user\'s format: a cheap-format user is no quicker to refuse than an unknown one', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw'), cheap: sshaOf('pw') } }, { trusted_proxies: ['127.0.0.1'] }))
  const r = await finishOrder(px.port, [
    from('10.0.1.2', basic('cheap', 'wrong')), // {SSHA} is one SHA-1: its refusal waits out the decoy's time (~0.2 s)
    from('10.0.1.4', basic('cheap', 'pw')), // right: answered at once (it tells nothing an attacker lacks)
    from('10.0.1.3', basic('nobody', 'x')), // unknown: a real check of the decoy
  ])
  assert.equal(r.statuses, [401, 200, 401])
  assert.equal(r.order.indexOf(1), 0, 'the right password first, though it came second')
})

t('a flood of wrong passwords does not stall the event loop; a client waits for its share of the queue at most (429), all of them for 1 s of hashing (503)', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw') } }, { trusted_proxies: ['127.0.0.1'] }))
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 5)
  // 12 clients (by X-Forwarded-For): ~0.2 s a check, 1 s of queue: some are checked, the rest get 503.
  const many = await Promise.all(Array.from({ length: 12 }, (_, i) => raw(px.port, from(`10.0.2.${i}`, basic('slow', `wrong${i}`)), { ms: 8000 })))
  clearInterval(timer)
  const got = many.map((r) => statuses(r.text)[0]).sort()
  assert.ok(got.includes(401) && got.includes(503) && !got.includes(429), `statuses: ${got.join()}`)
  assert.match(many.find((r) => statuses(r.text)[0] === 503)!.text, /\r\nRetry-After: 1\r\n/)
  assert.ok(ticks > 20, `the loop ticked ${ticks} times while ${got.filter((s) => s === 401).length} hashes ran`)
  // One client in parallel (cost 12: one check is most of its quarter of the budget): the second
  // check it has waiting is refused at once. Different passwords: the same one would be one check.
  const one = await Promise.all(['w1', 'w2', 'w3'].map((pw, i) => sleep(i * 10).then(() => raw(px.port, from('10.0.3.1', basic('slow', pw)), { ms: 8000 }))))
  assert.equal(one.map((r) => statuses(r.text)[0]), [401, 429, 429])
  assert.match(one[1].text, /\r\nRetry-After: 1\r\n/)
  // IPv6 clients count by /64: another address of the same /64 is the same client.
  const six = await Promise.all(['2001:db8:1:2::a', '2001:db8:1:2::b'].map((a, i) => sleep(i * 10).then(() => raw(px.port, from(a, basic('slow', `v${i}`)), { ms: 8000 }))))
  assert.equal(six.map((r) => statuses(r.text)[0]), [401, 429])
})

t('six connections with the same new credentials cost one check, and none is refused', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '12'], 'pw') } }, { trusted_proxies: ['127.0.0.1'] }))
  const all = await Promise.all(Array.from({ length: 6 }, () => raw(px.port, from('10.0.4.1', basic('slow', 'pw')), { ms: 8000 })))
  assert.equal(all.map((r) => statuses(r.text)[0]), [200, 200, 200, 200, 200, 200])
})

t('a user-id is compared in Unicode NFC (RFC 7617 §2.1): a decomposed "zoë" is the same user', async () => {
  const px = track(await proxy({ users: { 'zo\u00eb': sshaOf('pw') } }))
  assert.equal(statuses((await raw(px.port, get(basic('zo\u00eb', 'pw')))).text), [200])
  assert.equal(statuses((await raw(px.port, get(basic('zoe\u0308', 'pw')))).text), [200])
})

t('a client that leaves while its password is checked costs nothing more', async () => {
  const px = track(await proxy({ users: { slow: hashOf(['-B', '-C', '11'], 'pw') } }))
  const s = connect(px.port, '127.0.0.1')
  s.on('error', () => {})
  s.write(get(basic('slow', 'pw')).replace('Connection: close\r\n', ''))
  await sleep(10)
  // A reset, not a FIN: a half-closed client would still be owed its response.
  s.resetAndDestroy()
  await waitFor(() => px.server.connections === 0, 2000, 'the connection gone at once, not after the check')
  await sleep(300) // the check (~100 ms) finishes meanwhile, for nobody
  assert.is(up.requests.length, 0, 'nothing forwarded for a client that is gone')
  // Its check no longer counts against the client: two more in parallel are both checked (no 429).
  const two = await Promise.all([1, 2].map(() => raw(px.port, get(basic('slow', 'wrong')), { ms: 5000 })))
  assert.equal(two.map((r) => statuses(r.text)[0]), [401, 401])
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
  bad({ users: { 'a:b': sshaOf('x') } }, /^routes\[0\]\.auth\.users\.a:b: a user name must be non-empty and hold no ":" or control character/)
  bad({ users: { 'a\rb': sshaOf('x') } }, /^routes\[0\]\.auth\.users\.a\\rb: a user name must be non-empty/)
  bad({ users: { u: '$2y$13$' + 'a'.repeat(53) } }, /^routes\[0\]\.auth\.users\.u: bcrypt cost 13 is out of range/)
})

t('failed attempts are limited per client address: 10 at once, then 429 before any hash is checked', async () => {
  const users = { ann: sshaOf('right') }
  const px = track(await proxy({ realm: 'brute force', users }))
  for (let i = 0; i < 10; i++) assert.equal(statuses((await raw(px.port, get(basic('ann', `guess${i}`)))).text), [401], `guess ${i}`)
  const r = await raw(px.port, get(basic('ann', 'guess10')))
  assert.equal(statuses(r.text), [429])
  assert.match(r.text, /\r\nRetry-After: 6\r\n/, 'the next failure is allowed in 6 s (10/m)')
  assert.equal(statuses((await raw(px.port, get(basic('ann', 'right')))).text), [429], 'even the right password waits: the guesser cannot tell')
  const other = track(await proxy({ realm: 'brute force 2', users, failures: { rate: '1/h', burst: 0 } }))
  assert.equal(statuses((await raw(other.port, get(basic('ann', 'right')))).text), [200], 'a success counts nothing')
  assert.equal(statuses((await raw(other.port, get(basic('ann', 'right')))).text), [200])
  assert.equal(statuses((await raw(other.port, get(basic('ann', 'x')))).text), [401])
  assert.equal(statuses((await raw(other.port, get(basic('ann', 'y')))).text), [429])
  const off = track(await proxy({ realm: 'brute force 3', users, failures: false }))
  for (let i = 0; i < 12; i++) assert.equal(statuses((await raw(off.port, get(basic('ann', `g${i}`)))).text), [401], 'failures: false')
})

t('failed attempts sent in parallel cannot all pass: each check counts before it runs, a success gives it back', async () => {
  const file = tempFile('users')
  htpasswd('-cbB', '-C', '4', file, 'ann', 'right')
  const px = track(await proxy({ realm: 'parallel guesses', htpasswd: file }))
  const all = await Promise.all(Array.from({ length: 30 }, (_, i) => raw(px.port, get(basic('ann', `guess${i}`)))))
  const codes = all.map((r) => statuses(r.text)[0])
  assert.is(codes.filter((c) => c === 401).length, 10, `ten checked: ${codes}`)
  assert.is(codes.filter((c) => c === 429).length, 20)
  const ok = track(await proxy({ realm: 'parallel logins', htpasswd: file, failures: { rate: '1/h', burst: 1 } }))
  for (let i = 0; i < 5; i++) {
    // A new Authorization value each time (case of the scheme differs), so each is checked, not cached.
    const value = `${'Basic'.slice(0, 5 - (i % 5))}${'BASIC'.slice(5 - (i % 5))} ${Buffer.from('ann:right').toString('base64')}`
    assert.equal(statuses((await raw(ok.port, get(value))).text), [200], `login ${i}: a right password is given back`)
  }
})

t.run()
