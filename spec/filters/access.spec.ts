import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, guard, ProxyHandle, waitFor } from '../support/harness.js'
import { validate } from '../../src/config/validate.js'
import { Server } from '../../src/server/server.js'
import { EventLog } from '../../src/log/events.js'
import { FILTERS } from '../../src/filters/index.js'

const t = suite('filters: access and the real client address')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

/** A proxy that trusts 127.0.0.1, so each request names its client in X-Forwarded-For. */
function proxy(access: unknown, more: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, trusted_proxies: ['127.0.0.1'], routes: [{ upstream: 'u', access }], ...more })
}

async function from(px: ProxyHandle, xff: string): Promise<number> {
  const r = await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: ${xff}\r\nConnection: close\r\n\r\n`)
  return statuses(r.text)[0]
}

t('the most specific entry decides; at equal prefixes deny wins; IPv6 and IPv4-mapped addresses', async () => {
  const px = track(await proxy({
    allow: ['10.0.0.0/8', '10.1.2.0/24', '2001:db8::/32', '192.0.2.7'],
    deny: ['10.1.0.0/16', '192.0.2.7/32', '2001:db8:bad::/48'],
  }))
  assert.is(await from(px, '10.9.9.9'), 200, '/8 allows')
  assert.is(await from(px, '10.1.9.9'), 403, '/16 inside it denies')
  assert.is(await from(px, '10.1.2.3'), 200, '/24 inside that allows again')
  assert.is(await from(px, '192.0.2.7'), 403, 'the same /32 in both: deny')
  assert.is(await from(px, '2001:db8::1'), 200)
  assert.is(await from(px, '2001:db8:bad::1'), 403)
  assert.is(await from(px, '[2001:db8::1]:4711'), 200, 'a bracketed address with a port')
  assert.is(await from(px, '::ffff:10.9.9.9'), 200, 'IPv4-mapped is folded to IPv4')
  assert.is(await from(px, '172.16.0.1'), 403, 'an allow list makes the default deny')
})

t('default: allow when only deny entries are given; default may be set', async () => {
  const px = track(await proxy({ deny: ['203.0.113.0/24'] }))
  assert.is(await from(px, '198.51.100.1'), 200)
  assert.is(await from(px, '203.0.113.9'), 403)
  const px2 = track(await proxy({ allow: ['198.51.100.0/24'], default: 'allow', deny: ['198.51.100.66'] }))
  assert.is(await from(px2, '8.8.8.8'), 200)
  assert.is(await from(px2, '198.51.100.66'), 403)
})

t('the real client: the rightmost X-Forwarded-For entry that is not a trusted proxy; Forwarded when there is no XFF', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ deny: ['203.0.113.0/24'] }, { trusted_proxies: ['127.0.0.1', '10.0.0.0/8'], access_log: { path: log, format: 'json' } }))
  // A client cannot hide behind an address it writes itself: only hops we trust are skipped.
  assert.is(await from(px, '198.51.100.1, 203.0.113.5, 10.0.0.2'), 403, 'rightmost untrusted: 203.0.113.5')
  assert.is(await from(px, '203.0.113.5, 198.51.100.1'), 200, 'the forged left entry is not the client')
  const fwd = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=198.51.100.1, for="[2001:db8::1]:80";proto=https, for=203.0.113.9\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(fwd.text), [403])
  const two = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.1\r\nX-Forwarded-For: 198.51.100.2\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(two.text), [200], 'several XFF fields are one list, in order')
  assert.is(await from(px, 'garbage, 10.0.0.3'), 200, 'past an entry that is no address, the last trusted hop is the client')
  const recs = await accessRecords(px, log)
  assert.equal(recs.map((r) => r.client), ['203.0.113.5', '198.51.100.1', '203.0.113.9', '198.51.100.2', '10.0.0.3'])
  assert.equal(recs[0].filter, 'access')
  assert.equal(recs[0].cause, 'PR')
})

t('an IPv6 address with a zone id is the address: the zone names the hop\'s interface, not the client', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ deny: ['2001:db8::/32'] }, { access_log: { path: log, format: 'json' } }))
  assert.is(await from(px, '2001:db8::1%eth0'), 403)
  assert.is(await from(px, '[2001:db8::1%25eth0]:80'), 403)
  assert.is(await from(px, '2001:db9::1%eth0'), 200)
  assert.equal((await accessRecords(px, log)).map((r) => r.client), ['2001:db8::1', '2001:db8::1%25eth0', '2001:db9::1'].map((a) => a.replace('%25eth0', '')))
})

t('from a client that is not a trusted proxy, X-Forwarded-For is ignored', async () => {
  const px = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', access: { deny: ['127.0.0.1'] } }] }))
  assert.is(await from(px, '198.51.100.1'), 403, 'the socket peer 127.0.0.1 is the client')
})

t('allow_file: one CIDR a line with comments; read again on reload', async () => {
  const file = tempFile('allow.txt')
  writeFileSync(file, '# office\n198.51.100.0/24   # first floor\n\n  2001:db8::/32\n')
  const cfg = (): Record<string, unknown> => ({
    listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', trusted_proxies: ['127.0.0.1'],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', access: { allow_file: file } }],
  })
  const px = track(await startProxy(cfg()))
  assert.is(await from(px, '198.51.100.9'), 200)
  assert.is(await from(px, '203.0.113.9'), 403)
  writeFileSync(file, '203.0.113.0/24\n')
  await px.server.reload(validate(cfg()))
  assert.is(await from(px, '198.51.100.9'), 403)
  assert.is(await from(px, '203.0.113.9'), 200)
  writeFileSync(file, '203.0.113.0/24\n10.0.0.300/8\n')
  assert.throws(() => validate(cfg()), /routes\[0\]\.access\.allow_file: .* line 2: "10\.0\.0\.300\/8" is not an IP address or CIDR/)
})

t('100,000 entries from a file: loaded, and looked up right', async () => {
  const file = tempFile('big.txt')
  const lines: string[] = []
  for (let i = 0; i < 100_000; i++) lines.push(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`)
  writeFileSync(file, lines.join('\n'))
  const px = track(await proxy({ deny_file: file }))
  assert.is(await from(px, '11.134.159.200'), 403, 'entry 100,000 - 1 = 11.134.159.0/24')
  assert.is(await from(px, '11.134.160.1'), 200)
})

t('a listener\'s access rules close a refused connection at accept, logged and counted', async () => {
  const events = tempFile('events.log')
  const config = validate({
    // Two listeners on port 0 need two addresses (the server keys its listeners by address).
    listen: [{ address: '127.0.0.1:0', access: { deny: ['127.0.0.0/8'] } }, { address: '127.0.0.2:0', access: { allow: ['127.0.0.0/8'] } }],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off',
  })
  const server = new Server(config, new EventLog({ path: events, format: 'json' }), { filters: FILTERS })
  await server.listen()
  track({ close: () => server.close(100) })
  const [denied, allowed] = server.addresses()
  const s = connect(denied.port, '127.0.0.1')
  const closed = await new Promise<boolean>((resolve) => {
    s.on('error', () => {})
    s.on('close', () => resolve(true))
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
    s.on('data', () => resolve(false))
  })
  assert.ok(closed, 'closed with no answer')
  await waitFor(() => server.denied === 1)
  assert.is(up.requests.length, 0)
  const ok = await new Promise<string>((resolve) => {
    const c = connect({ port: allowed.port, host: '127.0.0.2' })
    let got = ''
    c.on('data', (d) => { got += d.toString('latin1') })
    c.on('close', () => resolve(got))
    c.on('error', () => {})
    c.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  })
  assert.equal(statuses(ok), [200])
  server.events.flushSync()
  const { readFileSync } = await import('node:fs')
  const line = readFileSync(events, 'utf8').split('\n').filter((l) => l.includes('connection refused')).map((l) => JSON.parse(l))[0]
  assert.is(line.client, '127.0.0.1')
  assert.match(line.reason, /access rules/)
})

t.run()
