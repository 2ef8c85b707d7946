// A listener with `proxy_protocol: true`: the PROXY header's source is the client (forwarding fields,
// access rules, the access log), before plain HTTP and before a TLS handshake; a header from an
// address not in proxy_protocol_from, a bad header or none in time closes the connection, logged.
// Against raw bytes and against a real HAProxy (send-proxy, send-proxy-v2).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { Duplex } from 'node:stream'
import { readFileSync } from 'node:fs'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, guard, waitFor, sleep, ProxyHandle } from '../support/harness.js'
import { TCP_FRONT, haproxyPath, startHaproxy } from '../support/haproxy.js'
import { pair, pem } from '../support/tls.js'
import { validate } from '../../src/config/validate.js'
import { Server } from '../../src/server/server.js'
import { EventLog } from '../../src/log/events.js'
import { FILTERS } from '../../src/filters/index.js'
import { refusedBy } from '../support/config.js'

const t = suite('server: PROXY protocol listeners')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

function proxy(listen: Record<string, unknown>, more: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return startProxy({ listen: [{ address: '127.0.0.1:0', proxy_protocol: true, ...listen }], upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, ...more })
}

/** The same, with its event log going to `events` (startProxy turns the event log off). */
async function logged(listen: Record<string, unknown>, events: string, more: Record<string, unknown> = {}): Promise<Server> {
  const config = validate({ listen: [{ address: '127.0.0.1:0', proxy_protocol: true, ...listen }], upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off', ...more })
  const server = new Server(config, new EventLog({ path: events, format: 'json' }), { filters: FILTERS })
  await server.listen()
  track({ close: () => server.close(100) })
  return server
}

/** A stream over `sock` whose first write goes out behind `header`, in one segment (TLS then writes through it). */
class Prefixed extends Duplex {
  #first = true
  readonly #sock: Socket
  readonly #header: Buffer
  constructor(sock: Socket, header: Buffer) {
    super()
    this.#sock = sock
    this.#header = header
    sock.on('data', (d: Buffer) => this.push(d))
    sock.on('end', () => this.push(null))
    sock.on('error', (e) => this.destroy(e))
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: string, cb: (e?: Error | null) => void): void {
    const out = this.#first ? Buffer.concat([this.#header, chunk]) : chunk
    this.#first = false
    this.#sock.write(out, cb)
  }
  override _final(cb: () => void): void { this.#sock.end(); cb() }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void { this.#sock.destroy(); cb(err) }
}

/** A v2 PROXY header for a TCP over IPv4 connection (§2.2), with optional TLVs. */
function v2(src: string, sport: number, dst = '127.0.0.1', dport = 80, tlvs = Buffer.alloc(0), cmd = 0x21): Buffer {
  const addr = Buffer.alloc(12)
  src.split('.').forEach((o, i) => { addr[i] = Number(o) })
  dst.split('.').forEach((o, i) => { addr[4 + i] = Number(o) })
  addr.writeUInt16BE(sport, 8)
  addr.writeUInt16BE(dport, 10)
  const head = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')
  const fixed = Buffer.from([cmd, 0x11, 0, 0])
  fixed.writeUInt16BE(addr.length + tlvs.length, 2)
  return Buffer.concat([head, fixed, addr, tlvs])
}

const GET = 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'

t('v1 and v2 headers name the client: X-Forwarded-For, Forwarded and the access log carry it', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ proxy_protocol_from: ['127.0.0.1'] }, { access_log: { path: log, format: 'json' } }))
  const a = await raw(px.port, 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\n' + GET)
  assert.equal(statuses(a.text), [200])
  assert.is(up.requests[0].headers['x-forwarded-for'], '203.0.113.7')
  assert.match(up.requests[0].headers.forwarded as string, /^for=203\.0\.113\.7;/)
  const b = await raw(px.port, [v2('198.51.100.9', 40000), GET])
  assert.equal(statuses(b.text), [200], 'header and request in separate writes')
  assert.is(up.requests[1].headers['x-forwarded-for'], '198.51.100.9')
  const c = await raw(px.port, 'PROXY TCP6 2001:db8::7 ::1 51000 80\r\n' + GET)
  assert.equal(statuses(c.text), [200])
  assert.is(up.requests[2].headers['x-forwarded-for'], '2001:db8::7')
  assert.equal((await accessRecords(px, log)).map((r) => r.client), ['203.0.113.7', '198.51.100.9', '2001:db8::7'])
})

t('LOCAL (v2) and UNKNOWN (v1): the socket\'s own address stands', async () => {
  const px = track(await proxy({ proxy_protocol_from: ['127.0.0.1'] }))
  assert.equal(statuses((await raw(px.port, Buffer.concat([v2('0.0.0.0', 0, '0.0.0.0', 0, Buffer.alloc(0), 0x20), Buffer.from(GET)]))).text), [200])
  assert.equal(statuses((await raw(px.port, 'PROXY UNKNOWN\r\n' + GET)).text), [200])
  assert.equal(up.requests.map((r) => r.headers['x-forwarded-for']), ['127.0.0.1', '127.0.0.1'])
})

t('refused: a header from an address not in proxy_protocol_from, a bad header, no header in time; logged and counted', async () => {
  const events = tempFile('events.log')
  const one = await logged({ proxy_protocol_from: ['10.0.0.0/8'] }, events)
  const r1 = await raw(one.addresses()[0].port, 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\n' + GET)
  assert.ok(r1.closed && r1.text === '')
  const two = await logged({ proxy_protocol_from: ['127.0.0.1'] }, events, { timeouts: { header: '300ms' } })
  const port = two.addresses()[0].port
  for (const bad of [GET, 'PROXY TCP4 203.0.113.7 127.0.0.1 051000 80\r\n' + GET, 'PROXY TCP4 203.0.113.7  127.0.0.1 1 80\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n']) {
    const r = await raw(port, bad)
    assert.ok(r.closed && r.text === '', JSON.stringify(bad))
  }
  const t0 = Date.now()
  const slow = await raw(port, 'PROXY TCP4 203.0.113.7', { ms: 3000 })
  assert.ok(slow.closed && Date.now() - t0 < 2500, 'cut after timeouts.header')
  assert.is(up.requests.length, 0)
  await waitFor(() => one.denied === 1 && two.denied === 5)
  one.events.flushSync()
  two.events.flushSync()
  const lines = readFileSync(events, 'utf8').split('\n').filter((l) => l.includes('connection refused')).map((l) => JSON.parse(l).reason as string)
  assert.match(lines[0], /not in proxy_protocol_from/)
  assert.ok(lines.some((l) => l.startsWith('bad PROXY protocol header')))
  assert.ok(lines.some((l) => l === 'no complete PROXY protocol header in time'))
})

t('the listener\'s access rules apply to the address the header names', async () => {
  const px = track(await proxy({ proxy_protocol_from: ['127.0.0.1'], access: { deny: ['203.0.113.0/24'] } }))
  const r = await raw(px.port, 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\n' + GET)
  assert.ok(r.closed && r.text === '')
  assert.equal(statuses((await raw(px.port, 'PROXY TCP4 198.51.100.1 127.0.0.1 51000 80\r\n' + GET)).text), [200])
})

t('a TLS listener: the header comes before the handshake, in the same write as the ClientHello or not', async () => {
  const px = track(await proxy({ proxy_protocol_from: ['127.0.0.1'], tls: { certificates: [pair('rsa')] } }))
  for (const together of [false, true]) {
    const s = connect(px.port, '127.0.0.1')
    await new Promise<void>((r) => s.once('connect', r))
    const header = Buffer.from('PROXY TCP4 192.0.2.44 127.0.0.1 5000 443\r\n', 'latin1')
    if (!together) s.write(header)
    const text = await new Promise<string>((resolve, reject) => {
      const ts = tlsConnect({ socket: together ? new Prefixed(s, header) : s, servername: 'a.test', ca: pem('ca.pem') }, () => ts.write(GET))
      let got = ''
      ts.on('data', (d) => { got += d.toString('latin1') })
      ts.on('end', () => { resolve(got); ts.destroy() })
      ts.on('error', reject)
    })
    assert.equal(statuses(text), [200])
  }
  assert.equal(up.requests.map((r) => [r.headers['x-forwarded-for'], r.headers['x-forwarded-proto']]), [['192.0.2.44', 'https'], ['192.0.2.44', 'https']])
})


for (const send of ['send-proxy', 'send-proxy-v2', 'send-proxy-v2 proxy-v2-options crc32c,authority']) {
  t(`a real HAProxy in front (${send}): the client's address reaches the peer`, async () => {
    assert.ok(haproxyPath() !== null, 'haproxy is not installed: apt-get install haproxy (.ci/run installs it)')
    const px = track(await proxy({ proxy_protocol_from: ['127.0.0.1'] }))
    const hap = await startHaproxy(TCP_FRONT, { UPSTREAM: px.port, SEND: send })
    track({ close: () => hap.stop() })
    // A client from another loopback address, so the header's source differs from HAProxy's own.
    const text = await new Promise<string>((resolve) => {
      const c = connect({ port: hap.port, host: '127.0.0.1', localAddress: '127.0.0.5' })
      let got = ''
      c.on('data', (d) => { got += d.toString('latin1') })
      c.on('close', () => resolve(got))
      c.on('error', () => resolve(got))
      c.write(GET)
    })
    assert.equal(statuses(text), [200], hap.output())
    assert.is(up.requests[0].headers['x-forwarded-for'], '127.0.0.5')
    await sleep(10)
  })
}

t('config: proxy_protocol needs the addresses it is taken from; they default to trusted_proxies', () => {
  const ups = { upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  refusedBy(() => validate({ ...ups, listen: [{ address: ':8080', proxy_protocol: true }] }),
    'listen[0].proxy_protocol_from: is required with proxy_protocol (the CIDRs of the load balancers; trusted_proxies is the default)')
  refusedBy(() => validate({ ...ups, listen: [{ address: ':8080', proxy_protocol_from: ['10.0.0.0/8'] }] }), 'listen[0].proxy_protocol_from: needs proxy_protocol: true')
  refusedBy(() => validate({ ...ups, listen: [{ address: ':8080', proxy_protocol: true, proxy_protocol_from: ['10.0.0/8'] }] }), 'listen[0].proxy_protocol_from[0]: "10.0.0/8" is not an IP address or CIDR')
  refusedBy(() => validate({ ...ups, listen: [{ address: ':8080', proxy_protocol: 'yes' }] }), 'listen[0].proxy_protocol: must be true or false')
  const c = validate({ ...ups, trusted_proxies: ['10.0.0.0/8'], listen: [{ address: ':8080', proxy_protocol: true }] })
  assert.equal(c.listen[0].proxy_protocol, ['10.0.0.0/8'])
})

t.run()
