/**
 * Protocol upgrades (RFC 9110 §7.8) with a real WebSocket handshake (RFC 6455 §4): after the peer's
 * 101 the proxy tunnels bytes both ways until a side closes or the tunnel is idle; any other answer
 * is passed on and the connection closed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, Server, IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  accessRecordsNow, proxyTo, RawClient, rawUpstream, recordUncaught, sleep, statuses, tempFile, waitFor, ProxyHandle,
} from '../support/harness.js'

const t = suite('upgrade')
const LOG = tempFile('access.log')
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
let peer: Server
let peerPort = 0
/** Upgrade requests the peer saw, and its side of each tunnel. */
const seen: IncomingMessage[] = []
const tunnels: Socket[] = []
let px: ProxyHandle
let uncaught: ReturnType<typeof recordUncaught>

function accept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64')
}

/** A masked client frame (RFC 6455 §5.2), text, payload under 126 bytes. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = randomBytes(4)
  const out = Buffer.alloc(6 + payload.length)
  out[0] = 0x81
  out[1] = 0x80 | payload.length
  mask.copy(out, 2)
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3]
  return out
}

const FLOOD = 32 << 20
const block = Buffer.alloc(1 << 20, 'f')

/** Sends FLOOD bytes, honouring drain, then closes. */
function flood(s: Socket): void {
  let sent = 0
  const more = (): void => {
    while (sent < FLOOD) {
      sent += block.length
      if (!s.write(block)) return
    }
    s.end()
  }
  s.on('drain', more)
  more()
}

function handshake(path: string, key: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
}

/** Opens a tunnel to `path` through the proxy; returns the client once the 101 head is in. */
async function open(path: string, key = randomBytes(16).toString('base64'), first = ''): Promise<RawClient> {
  const c = await RawClient.open(px.port)
  c.send(handshake(path, key) + first)
  await c.until('\r\n\r\n')
  return c
}

function afterHead(c: RawClient): string {
  return c.text.slice(c.text.indexOf('\r\n\r\n') + 4)
}

t.before(async () => {
  uncaught = recordUncaught()
  peer = createServer((_req, res) => res.end('plain'))
  peer.on('upgrade', (req: IncomingMessage, s: Socket, head: Buffer) => {
    seen.push(req)
    s.on('error', () => {})
    if (req.url === '/refuse') {
      s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno')
      return
    }
    tunnels.push(s)
    const go = (): void => {
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n` +
        (req.url === '/greet' ? 'hello from the peer' : ''))
      if (req.url === '/flood') { flood(s); return }
      if (head.length > 0) s.write(head) // bytes that came with the handshake: echo them too
      s.on('data', (d: Buffer) => {
        if (d.includes('bye')) s.end('goodbye')
        else s.write(d)
      })
      s.on('end', () => s.end())
    }
    if (req.url === '/late') setTimeout(go, 100)
    else go()
  })
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r))
  peerPort = (peer.address() as AddressInfo).port
  px = await proxyTo([peerPort], { timeouts: { tunnel_idle: '300ms' }, access_log: { path: LOG, format: 'json' } })
})

t.after(async () => {
  await px.close()
  for (const s of tunnels) s.destroy()
  peer.closeAllConnections()
  await new Promise<void>((r) => peer.close(() => r()))
  uncaught.stop()
  assert.equal(uncaught.errors, [], 'no error reached uncaughtException')
})

t.before.each(() => { seen.length = 0; tunnels.length = 0 })

t('a WebSocket handshake gets the peer\'s 101, then frames echo both ways until the client closes', async () => {
  const key = randomBytes(16).toString('base64')
  const c = await open('/ws', key)
  assert.match(c.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/)
  assert.match(c.text, /\r\nUpgrade: websocket\r\n/i)
  assert.match(c.text, /\r\nConnection: upgrade\r\n/i)
  assert.match(c.text, new RegExp(`\\r\\nSec-WebSocket-Accept: ${accept(key).replace(/[+/]/g, '\\$&')}\\r\\n`))
  const h = seen[0].headers
  assert.is(h.upgrade, 'websocket')
  assert.match(String(h.connection), /upgrade/i)
  assert.is(h['sec-websocket-key'], key)
  for (const msg of ['one', 'two', 'three']) {
    const f = frame(msg)
    c.clear()
    c.send(f)
    await waitFor(() => c.data.equals(f), 1000, `the echo of "${msg}"`)
  }
  c.destroy()
  await waitFor(() => tunnels[0].destroyed, 1000, 'the peer side to close')
  await waitFor(() => px.server.connections === 0, 1000, 'the client connection to be gone')
  let rec: Record<string, unknown> | undefined
  await waitFor(() => (rec = accessRecordsNow(px, LOG).find((r) => r.target === '/ws')) !== undefined, 1000, 'the log record')
  assert.is(rec!.status, 101)
  assert.is(rec!.cause, '--')
  assert.ok((rec!.bytes_in as number) >= 3 * 9, 'tunnelled bytes are counted')
})

t('bytes sent with the handshake reach the peer; bytes sent with the 101 reach the client', async () => {
  const early = frame('early')
  const c = await open('/greet', undefined, early.toString('latin1'))
  await c.until('hello from the peer')
  await waitFor(() => c.data.includes(early), 1000, 'the early frame echoed')
  assert.ok(afterHead(c).startsWith('hello from the peer'))
  c.destroy()
})

t('bytes the client sends while the 101 is pending are not lost', async () => {
  const c = await RawClient.open(px.port)
  c.send(handshake('/late', randomBytes(16).toString('base64')))
  await sleep(30)
  const early = frame('before the 101')
  c.send(early)
  await c.until('101 Switching Protocols')
  await waitFor(() => c.data.includes(early), 1000, 'the early frame echoed')
  c.destroy()
})

t('the peer closes: the client gets the last bytes, then the close', async () => {
  const c = await open('/ws')
  c.send('bye') // the echo peer does not unmask frames: a raw marker
  await c.untilClosed(1000)
  assert.ok(afterHead(c).endsWith('goodbye'))
  await waitFor(() => px.server.connections === 0, 1000, 'the client connection to be gone')
})

t('the client half-closes: its last frame is echoed, then the peer closes and so does the tunnel', async () => {
  const c = await open('/ws')
  const last = frame('last words')
  c.clear()
  c.socket.end(last)
  await c.untilClosed(1000)
  assert.ok(c.data.equals(last))
  await waitFor(() => tunnels[0].destroyed, 1000, 'the peer side to close')
})

t('the peer sends a lot and closes while the client reads slowly: every byte arrives', async () => {
  const c = await RawClient.open(px.port)
  let got = 0
  c.socket.removeAllListeners('data')
  c.socket.on('data', (d: Buffer) => { got += d.length })
  c.send(handshake('/flood', randomBytes(16).toString('base64')))
  await waitFor(() => got > 0, 1000, 'the 101')
  c.socket.pause()
  await sleep(150)
  c.socket.resume()
  await c.untilClosed(5000)
  assert.ok(got > FLOOD && got < FLOOD + 300, `${got - FLOOD} bytes over the flood (the head)`)
})

t('timeouts.tunnel_idle closes a silent tunnel, but not a busy one', async () => {
  const c = await open('/ws')
  for (let i = 0; i < 5; i++) {
    await sleep(100)
    c.send(frame(`tick ${i}`))
  }
  assert.not.ok(c.ended || c.closed, 'traffic keeps the tunnel open past tunnel_idle')
  const t0 = Date.now()
  await c.untilClosed(2000)
  const ms = Date.now() - t0
  assert.ok(ms >= 250 && ms < 1000, `closed after ${ms} ms of silence`)
  await waitFor(() => tunnels[0].destroyed, 1000, 'the peer side to close')
})

t('a non-101 answer to an upgrade request is passed on, and the connection closed', async () => {
  const c = await RawClient.open(px.port)
  c.send(handshake('/refuse', randomBytes(16).toString('base64')) + frame('never').toString('latin1'))
  await c.untilClosed(1000)
  assert.equal(statuses(c.text), [403])
  assert.match(c.text, /Connection: close/i)
  assert.ok(c.text.endsWith('\r\n\r\nno'))
  assert.is(px.server.rt.groups.get('u')!.peers[0].pool.idleCount, 0, 'the peer socket is not pooled')
})

t('a 101 to a request that asked for no upgrade: 502', async () => {
  const bad = await rawUpstream((s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'))
  const p2 = await proxyTo([bad.port])
  const c = await RawClient.open(p2.port)
  c.send('GET /no-upgrade HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  await c.untilClosed(1000)
  assert.equal(statuses(c.text), [502])
  c.destroy()
  await p2.close()
  await bad.close()
})

t.run()
