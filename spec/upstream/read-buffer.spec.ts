/**
 * The read buffer of an upstream socket (upstream-conn.ts: `onread`), driven directly with an owner
 * that keeps chunks or not: a kept chunk is never read over, and reads that nothing keeps go back to
 * whole buffers (an independent review found that the first version did not).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { UpstreamConn, type UpstreamOwner } from '../../src/upstream/upstream-conn.js'
import { sleep, waitFor } from '../support/harness.js'

const t = suite('read-buffer')

function fakePeer(port: number): unknown {
  return {
    host: '127.0.0.1', port, tls: null, label: 'p', limits: { maxHead: 65536, maxTarget: 8192 },
    timeouts: { connect: 5000, upstream_response: 30000, upstream_idle: 30000 },
    pool: { forget() {} }, stats: {},
  }
}

/** A peer that writes `total` bytes once connected, in `piece`-sized writes. */
async function source(total: number, piece: number, first = 0): Promise<{ port: number; close(): void; sock: () => Socket | null }> {
  let sk: Socket | null = null
  const srv = createServer((s) => {
    sk = s
    s.on('error', () => {})
    const b = Buffer.alloc(piece, 120)
    let sent = 0
    const pump = (): void => {
      while (sent < total) { sent += piece; if (!s.write(b)) { s.once('drain', pump); return } }
    }
    if (first > 0) { s.write(Buffer.alloc(first, 119)); sent = first; setTimeout(pump, 50) } else pump()
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return { port: (srv.address() as AddressInfo).port, close: () => { sk?.destroy(); srv.close() }, sock: () => sk }
}

t('after one kept chunk, a long response that nothing keeps is read in whole buffers again, not in the rest of the first', async () => {
  const total = 32 << 20
  const src = await source(total, 65536, 12000)
  const sizes: number[] = []
  let got = 0
  let keepFirstBytes = 12000 // keep the first read(s) until this many bytes are kept
  const owner: UpstreamOwner = {
    onUpstreamConnect() {},
    onUpstreamDrain() {},
    onUpstreamClose() {},
    onUpstreamBody() {},
    onUpstreamData(_c, chunk) {
      sizes.push(chunk.length)
      got += chunk.length
      if (keepFirstBytes > 0) { keepFirstBytes -= chunk.length; return false }
      return true
    },
  }
  // The socket must be BUSY to keep the window: attach after connect.
  const c = new UpstreamConn(fakePeer(src.port) as never, owner)
  c.attach(owner)
  try {
    await waitFor(() => got >= total, 20000, 'all bytes')
  } finally { c.destroy(); src.close() }
  const after = sizes.slice(1)
  const max = Math.max(...after)
  assert.ok(max > 16384, `every read after a kept chunk was at most ${max} bytes (${after.length} reads for 32 MiB)`)
})

t('kept chunks are never read over: random keeps, parks and re-takes inside the callback, pauses, random piece sizes', async () => {
  for (let round = 0; round < 20; round++) {
    let seed = 777 + round
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
    const total = 6 << 20
    let sk: Socket | null = null
    const srv = createServer((s) => {
      sk = s
      s.on('error', () => {})
      let sent = 0
      const pump = (): void => {
        let k = 1 + Math.floor(rnd() * 6)
        while (sent < total && k-- > 0) {
          const r = rnd()
          const n = Math.min(total - sent, r < 0.2 ? 1 + Math.floor(rnd() * 50) : r < 0.4 ? [4096, 4095, 4097, 12288, 16384, 65536][Math.floor(rnd() * 6)] : Math.floor(rnd() * 70000) + 1)
          const b = Buffer.alloc(n)
          for (let i = 0; i < n; i++) b[i] = (sent + i) * 13 & 0xff
          s.write(b); sent += n
        }
        if (sent < total) { if (rnd() < 0.5) setImmediate(pump); else setTimeout(pump, 1) }
      }
      pump()
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const kept: { ref: Buffer; copy: Buffer }[] = []
    let got = 0
    let bad = 0
    let c: UpstreamConn
    const owner: UpstreamOwner = {
      onUpstreamConnect() {}, onUpstreamDrain() {}, onUpstreamClose() {}, onUpstreamBody() {},
      onUpstreamData(_c, chunk) {
        for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ((got + i) * 13 & 0xff)) { bad++; break }
        got += chunk.length
        const r = rnd()
        if (r < 0.1) { c.park(60000); c.attach(owner) } // parked and re-taken by a pipelined request
        if (r > 0.97) { c.socket.pause(); setTimeout(() => c.socket.resume(), 2) }
        if (rnd() < 0.6) { kept.push({ ref: chunk, copy: Buffer.from(chunk) }); return false }
        return true
      },
    }
    c = new UpstreamConn(fakePeer((srv.address() as AddressInfo).port) as never, owner)
    c.attach(owner)
    try {
      await waitFor(() => got >= total, 20000, 'all bytes')
      await sleep(5)
    } finally { c.destroy(); (sk as Socket | null)?.destroy(); srv.close() }
    const over = kept.filter((k) => !k.ref.equals(k.copy)).length
    assert.is(bad, 0, 'bytes in order')
    assert.is(over, 0, `round ${round}: ${over} of ${kept.length} kept chunks were read over`)
  }
})

t.run()
