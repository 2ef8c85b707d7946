/**
 * Kill a peer under load, then restart it. A client keeps sending GETs over keep-alive the whole time
 * and must see no error; the dead peer must be out within `fall × interval`, and once restarted it
 * must get traffic again, ramping up over `slow_start`. The peer is a real child process, killed with
 * SIGKILL, so the proxy sees what a crash looks like on the wire.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, ChildProcess } from 'node:child_process'
import { Client } from 'undici'
import { guard, httpUpstream, deadPort, proxyTo, waitFor, sleep } from '../support/harness.js'

const t = suite('failover')
const track = guard(t)

const PEER = `require('node:http').createServer((q, s) => s.end('ok')).listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))`

async function startPeer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', PEER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', () => reject(new Error('peer exited')))
  })
  return child
}

/** Clients sending GETs back to back over keep-alive until `stop`; counts answers and errors. */
function load(url: string, clients: number): { ok: number; errors: string[]; stop(): Promise<void> } {
  const out = { ok: 0, errors: [] as string[], stop: async () => {} }
  let running = true
  const loops = Array.from({ length: clients }, async () => {
    const c = new Client(url)
    while (running) {
      try {
        const r = await c.request({ path: '/', method: 'GET' })
        await r.body.dump()
        if (r.statusCode === 200) out.ok++
        else out.errors.push(`status ${r.statusCode}`)
      } catch (err) {
        out.errors.push(String(err))
      }
    }
    await c.close()
  })
  out.stop = async () => { running = false; await Promise.all(loops) }
  return out
}

const INTERVAL = 100
const FALL = 2

t('kill a peer under load, then restart it: no client error, out within fall × interval, back with a ramp', async () => {
  const a = track(await httpUpstream())
  const b = track(await httpUpstream())
  const port = await deadPort()
  let child = await startPeer(port)
  track({ close: async () => { child.kill('SIGKILL') } })
  const px = track(await proxyTo([a.port, b.port, port], {
    upstream: { health: { interval: INTERVAL, timeout: 80, rise: 2, fall: FALL, jitter: 0 }, slow_start: 1500 },
  }))
  const peer = (): { state: string; requests: number } => px.server.rt.status()[0].peers[2]
  const traffic = load(px.url, 4)
  try {
    await waitFor(() => peer().requests > 100, 3000, 'traffic to the third peer')
    const killedAt = performance.now()
    child.kill('SIGKILL')
    await waitFor(() => peer().state === 'down', 2000, 'the killed peer down')
    const ejectMs = performance.now() - killedAt
    const atDeath = peer().requests
    await sleep(300)
    assert.is(peer().requests, atDeath, 'no request is sent to the dead peer once it is down')

    const restartedAt = performance.now()
    child = await startPeer(port)
    await waitFor(() => peer().state !== 'down', 3000, 'the restarted peer up')
    const recoverMs = performance.now() - restartedAt
    // Slow start: the share of the restarted peer grows from a tenth of its weight to all of it.
    const r0 = peer().requests
    const ok0 = traffic.ok
    await sleep(300)
    const early = (peer().requests - r0) / (traffic.ok - ok0)
    await waitFor(() => peer().state === 'up', 3000, 'the ramp over')
    const r1 = peer().requests
    const ok1 = traffic.ok
    await sleep(300)
    const late = (peer().requests - r1) / (traffic.ok - ok1)
    console.log(`  failover: ${traffic.ok} answers, ${traffic.errors.length} errors; out ${ejectMs.toFixed(0)} ms after the kill ` +
      `(fall × interval = ${FALL * INTERVAL} ms); up ${recoverMs.toFixed(0)} ms after the restart; share ${early.toFixed(3)} early in the ramp, ${late.toFixed(3)} after`)
    assert.ok(ejectMs <= FALL * INTERVAL + 100, `out after ${ejectMs} ms`)
    assert.ok(early < 0.25, `early share ${early}`)
    assert.ok(late > 0.28, `late share ${late}`)
  } finally {
    await traffic.stop()
  }
  assert.equal(traffic.errors, [], 'the client saw no error')
  assert.ok(traffic.ok > 500)
})

t.run()
