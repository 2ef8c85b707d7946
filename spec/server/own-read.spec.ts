/**
 * Accepted plain sockets read through one shared buffer (src/server/own-read.ts): the handle moves
 * to a new Socket, and every stream behaviour the connection relies on must hold as with Node's own
 * reads: bytes whole and in order across many sockets at once, each chunk its own memory, the
 * server's connection count, half-close, pause, and bytes put back with unshift.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, Server, Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ownReads } from '../../src/server/own-read.js'
import { sleep, waitFor } from '../support/harness.js'

const t = suite('own-read')

// What each test opened, closed after it even when it fails (an open socket keeps the run alive).
const servers: Server[] = []
const sockets: Socket[] = []
t.after.each(() => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const srv of servers.splice(0)) if (srv.listening) srv.close()
})

/** A server whose connections go through ownReads and are handed to `on`. */
async function serve(on: (s: Socket, raw: Socket) => void): Promise<{ srv: Server; port: number }> {
  const srv = createServer({ allowHalfOpen: true, noDelay: true })
  servers.push(srv)
  srv.on('connection', (raw) => {
    const s = ownReads(raw, srv, true)
    sockets.push(s)
    on(s, raw)
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return { srv, port: (srv.address() as AddressInfo).port }
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port }, () => resolve(c))
    sockets.push(c)
    c.on('error', reject)
  })
}

/** Deterministic bytes: piece `i` of client `k`, `n` long. */
function piece(k: number, i: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = (k * 7919 + i * 104729 + 1) >>> 0
  for (let j = 0; j < n; j++) { x = (x * 1103515245 + 12345) >>> 0; b[j] = x >>> 24 }
  return b
}

t('twenty sockets at once: every byte arrives in order, and each chunk kept stays as it was read', async () => {
  const kept = new Map<number, Buffer[]>()
  const moved: boolean[] = []
  const { srv, port } = await serve((s, raw) => {
    moved.push(s !== raw)
    let id = -1
    s.on('data', (c: Buffer) => {
      if (id < 0) id = c[0] // the first byte names the client
      const list = kept.get(id) ?? []
      list.push(c) // kept, not copied: a view of a shared buffer would be read over
      kept.set(id, list)
    })
    s.on('end', () => s.end())
  })
  const sent = new Map<number, ReturnType<typeof createHash>>()
  let rnd = 12345
  const next = (m: number): number => { rnd = (rnd * 1103515245 + 12345) >>> 0; return rnd % m }
  await Promise.all(Array.from({ length: 20 }, async (_, k) => {
    const c = await open(port)
    const h = createHash('sha256')
    sent.set(k, h)
    const first = Buffer.from([k])
    h.update(first)
    c.write(first)
    for (let i = 0; i < 60; i++) {
      const b = piece(k, i, 1 + next(i % 10 === 0 ? 90000 : 700))
      h.update(b)
      if (!c.write(b)) await new Promise((r) => c.once('drain', r))
      if (i % 7 === 0) await sleep(1)
    }
    c.end()
    await new Promise((r) => c.on('close', r))
  }))
  assert.ok(moved.length === 20 && moved.every(Boolean), 'each accepted handle moved to a socket reading the shared buffer')
  for (const [k, h] of sent) {
    const got = createHash('sha256').update(Buffer.concat(kept.get(k) ?? [])).digest('hex')
    assert.is(got, h.digest('hex'), `client ${k}`)
  }
  await new Promise((r) => srv.close(r))
})

t('the server counts each connection off when it closes: getConnections goes to 0 and close() completes', async () => {
  const { srv, port } = await serve((s) => { s.on('data', () => {}); s.on('end', () => s.end()) })
  const cs = await Promise.all([open(port), open(port), open(port)])
  const count = (): Promise<number> => new Promise((r) => srv.getConnections((_e, n) => r(n)))
  for (let i = 0; i < 100 && await count() !== 3; i++) await sleep(10)
  assert.is(await count(), 3)
  let closed = false
  srv.close(() => { closed = true })
  await sleep(50)
  assert.not.ok(closed, 'open connections keep the server from closing')
  for (const c of cs) c.end()
  await waitFor(() => closed, 2000, 'server close after the last connection')
  assert.is(await count(), 0)
})

t('half-close: the client ends its side, the server still answers on its own', async () => {
  const { srv, port } = await serve((s) => {
    const got: Buffer[] = []
    s.on('data', (c: Buffer) => got.push(c))
    s.on('end', () => { s.end(`got ${Buffer.concat(got).toString()}`) })
  })
  const c = await open(port)
  let answer = ''
  c.on('data', (d) => { answer += d.toString() })
  c.end('hello')
  await new Promise((r) => c.on('close', r))
  assert.is(answer, 'got hello')
  srv.close()
})

t('pause stops reading at once, resume goes on, and bytes put back with unshift come first', async () => {
  let server: Socket | null = null
  const got: Buffer[] = []
  const { srv, port } = await serve((s) => {
    server = s
    s.once('data', (c: Buffer) => {
      s.pause()
      got.push(c)
      // The PROXY protocol reader's move: the bytes after the header go back into the stream.
      s.unshift(Buffer.from('<back>'))
    })
  })
  const c = await open(port)
  c.write('first')
  await waitFor(() => got.length === 1, 2000, 'first chunk')
  const big = piece(1, 1, 8 << 20)
  c.write(big)
  await sleep(200)
  const s = server as unknown as Socket
  assert.ok(s.bytesRead < 1 << 20, `paused: read ${s.bytesRead} bytes`)
  s.on('data', (d: Buffer) => got.push(d))
  s.resume()
  await waitFor(() => got.reduce((a, b) => a + b.length, 0) === 5 + 6 + big.length, 5000, 'the rest')
  assert.is(got[1].toString(), '<back>')
  assert.ok(Buffer.concat(got.slice(2)).equals(big))
  c.destroy()
  srv.close()
})

t('a socket that did not come from this server is left as it was', async () => {
  const other = createServer()
  let same = false
  const { srv, port } = await serve(() => {})
  srv.removeAllListeners('connection')
  srv.on('connection', (raw) => { same = ownReads(raw, other, true) === raw; raw.destroy() })
  const c = await open(port)
  await waitFor(() => same, 2000, 'left as it was')
  c.destroy()
  srv.close()
})

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Collected, and the ArrayBuffers it freed swept (V8 frees their memory after the pause, in the background). */
async function settle(): Promise<number> {
  for (let i = 0; i < 5; i++) { gc(); await sleep(20) }
  return process.memoryUsage().arrayBuffers
}

t('a socket that waits holds no buffer: 100 idle connections after a 64 KiB read each keep a few KiB in all (an own-buffer version kept 64 KiB each)', async () => {
  let got = 0
  const { srv, port } = await serve((s) => { s.on('data', (c: Buffer) => { got += c.length }) })
  const cs: Socket[] = []
  try {
    const before = await settle()
    const body = Buffer.alloc(65536, 7)
    for (let i = 0; i < 100; i++) {
      const c = await open(port)
      cs.push(c)
      c.write(body) // one write of exactly the read size: read whole, at once
    }
    await waitFor(() => got === 100 * 65536, 5000, 'all bytes read')
    const held = await settle() - before
    assert.ok(held < 100 * 8192, `held ${(held / 1024).toFixed(0)} KiB for 100 idle connections`)
  } finally {
    for (const c of cs) c.destroy()
    srv.close()
  }
})

t('a data listener that throws cannot let a later read write over a chunk it kept', async () => {
  const errors: unknown[] = []
  const onErr = (e: unknown): void => { errors.push(e) }
  process.prependListener('uncaughtException', onErr)
  const saved = process.listeners('uncaughtException').filter((l) => l !== onErr)
  for (const l of saved) process.off('uncaughtException', l)
  let kept: Buffer | null = null
  let copy: Buffer | null = null
  let full = 0
  const { srv, port } = await serve((s) => {
    s.pause()
    setTimeout(() => s.resume(), 100) // the kernel fills up: the reads that follow are full
    s.on('data', (c: Buffer) => {
      full = c.length === 65536 ? full + 1 : 0
      // The second full read in a row: the one an own-buffer version handed on without a copy.
      if (kept === null && full === 2) {
        kept = c
        copy = Buffer.from(c)
        throw new Error('a bug in a data listener')
      }
    })
    s.on('end', () => s.end())
  })
  const data = piece(3, 3, 4 << 20)
  const c = await open(port)
  c.end(data)
  await new Promise((r) => c.on('close', r))
  process.off('uncaughtException', onErr)
  for (const l of saved) process.on('uncaughtException', l)
  assert.is(errors.length, 1, 'the throw reached the process')
  assert.ok(kept !== null && copy !== null && (kept as Buffer).equals(copy as Buffer), 'the kept chunk is as it was read')
  srv.close()
})

t.run()
