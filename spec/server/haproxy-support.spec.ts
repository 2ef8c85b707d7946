// spec/support/haproxy.ts against the real thing: HAProxy in mode tcp sends a PROXY header (v2 with a
// CRC32C TLV, then v1) to a raw server of this spec, and ProxyHeaderReader reads in it the client's
// real address and port, and the bytes after it.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, Server, Socket, AddressInfo } from 'node:net'
import { ProxyHeaderReader, ProxyRead } from '../../src/server/proxy-protocol.js'
import { Haproxy, TCP_FRONT, fill, haproxyPath, startHaproxy } from '../support/haproxy.js'
import { waitFor } from '../support/harness.js'

const t = suite('server/haproxy-support')


/** A raw TCP server: what each connection sent, read through a ProxyHeaderReader as it arrived. */
interface Raw { server: Server; port: number; reads: ProxyRead[]; after: Buffer[]; sockets: Socket[] }

async function rawServer(): Promise<Raw> {
  const raw: Raw = { server: createServer(), port: 0, reads: [], after: [], sockets: [] }
  raw.server.on('connection', (s) => {
    raw.sockets.push(s)
    const reader = new ProxyHeaderReader()
    const i = raw.reads.length
    raw.reads.push({ state: 'more' })
    raw.after.push(Buffer.alloc(0))
    s.on('error', () => {})
    s.on('data', (d: Buffer) => {
      if (raw.reads[i].state === 'more') {
        raw.reads[i] = reader.push(d)
        const r = raw.reads[i]
        if (r.state === 'done') raw.after[i] = Buffer.from(r.rest)
      } else raw.after[i] = Buffer.concat([raw.after[i], d])
    })
  })
  await new Promise<void>((r) => raw.server.listen(0, '127.0.0.1', r))
  raw.port = (raw.server.address() as AddressInfo).port
  return raw
}

let hap: Haproxy | null = null
let raw: Raw | null = null
let client: Socket | null = null

t.after.each(async () => {
  client?.destroy()
  for (const s of raw?.sockets ?? []) s.destroy()
  await new Promise<void>((r) => (raw === null ? r() : raw.server.close(() => r())))
  await hap?.stop()
  hap = raw = client = null
})

async function through(send: string): Promise<{ read: ProxyRead; after: string; local: { address: string; port: number } }> {
  raw = await rawServer()
  hap = await startHaproxy(TCP_FRONT, { UPSTREAM: raw.port, SEND: send })
  const c = connect(hap.port, '127.0.0.1')
  client = c
  await new Promise<void>((r, j) => { c.once('connect', r); c.once('error', j) })
  c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  const rs = raw
  await waitFor(() => rs.reads.length > 0 && rs.reads[0].state !== 'more' && rs.after[0].length >= 27, 5000, `the header and the request; haproxy: ${hap.output()}`)
  return { read: rs.reads[0], after: rs.after[0].toString('latin1'), local: { address: c.localAddress!, port: c.localPort! } }
}

/** A spec that cannot run is a failure, never a silent pass: CI installs HAProxy (.ci/run). */
function needHaproxy(): void {
  assert.ok(haproxyPath() !== null, 'haproxy is not installed: apt-get install haproxy (.ci/run installs it)')
}

t('fill: every placeholder filled, a missing one is an error', () => {
  assert.is(fill('a {{X}} b {{Y}} {{X}}', { X: 1, Y: 'z' }), 'a 1 b z 1')
  assert.throws(() => fill('{{NOPE}}', {}), /no value for \{\{NOPE\}\}/)
})

t('send-proxy-v2 (with a CRC32C TLV): the client\'s real address and port, then the request untouched', async () => {
  needHaproxy()
  const { read, after, local } = await through('send-proxy-v2 proxy-v2-options crc32c')
  if (read.state !== 'done') throw new Error(`not read: ${JSON.stringify(read)}`)
  assert.is(read.header.version, 2)
  assert.is(read.header.command, 'proxy')
  assert.equal(read.header.source, { address: local.address, port: local.port, family: 'IPv4' })
  assert.equal(read.header.destination, { address: '127.0.0.1', port: hap!.port, family: 'IPv4' })
  assert.is(read.header.consumed, 16 + 12 + 7, 'an INET block and one TLV: the CRC32C, which verified')
  assert.is(after, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
})

t('send-proxy (v1): the same, as a text line', async () => {
  needHaproxy()
  const { read, after, local } = await through('send-proxy')
  if (read.state !== 'done') throw new Error(`not read: ${JSON.stringify(read)}`)
  assert.is(read.header.version, 1)
  assert.equal(read.header.source, { address: local.address, port: local.port, family: 'IPv4' })
  assert.equal(read.header.destination, { address: '127.0.0.1', port: hap!.port, family: 'IPv4' })
  assert.is(read.header.consumed, `PROXY TCP4 ${local.address} 127.0.0.1 ${local.port} ${hap!.port}\r\n`.length)
  assert.is(after, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
})

t('stop() ends HAProxy by its pid; a config HAProxy refuses rejects with its words', async () => {
  needHaproxy()
  const h = await startHaproxy(TCP_FRONT, { UPSTREAM: 9, SEND: '' })
  process.kill(h.pid, 0) // running
  await h.stop()
  assert.throws(() => process.kill(h.pid, 0), /ESRCH/)
  try {
    await startHaproxy('frontend x\n    bind 127.0.0.1:{{PORT}}\n    no-such-keyword\n')
    assert.unreachable('started')
  } catch (err) {
    assert.match((err as Error).message, /haproxy did not listen .*no-such-keyword/s)
  }
})

t.run()
