/**
 * The primary driven by calls, in this process: it forks real workers (dist/src/cluster/worker.js)
 * that serve real sockets. What no signal reaches is tested here: the combined counters, and the peer
 * health states that the primary's health checks send to the workers.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { validate } from '../../src/config/validate.js'
import { EventLog } from '../../src/log/events.js'
import { Primary } from '../../src/cluster/primary.js'
import type { Counters } from '../../src/cluster/counters.js'
import { createServer } from 'node:http'
import { deadPort, httpUpstream, HttpUpstream, RawClient, sleep, waitFor } from '../support/harness.js'
import { get, getOnce } from '../support/cluster.js'

const t = suite('cluster primary: counters, peer states')
let a: HttpUpstream
let primary: Primary | null = null
const clients: RawClient[] = []

function raw(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    workers: 2, listen: ['127.0.0.1:0'], upstreams: { u: { peers: [`127.0.0.1:${a.port}`] } },
    access_log: 'off', event_log: 'off', ...extra,
  }
}

function start(extra: Record<string, unknown> = {}): Primary {
  const config = validate(raw(extra))
  primary = new Primary(config, new EventLog({ path: 'off', format: 'text' }))
  return primary
}

/** The combined counters once `open` connections remain (a closed client's close reaches its worker a little later). */
async function settled(p: Primary, open: number): Promise<Counters> {
  const end = Date.now() + 2000
  for (;;) {
    const c = await p.counters()
    if (c.open === open || Date.now() > end) return c
    await sleep(10)
  }
}

t.before(async () => { a = await httpUpstream((_req, res) => res.end('from-a')) })
t.after.each(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await primary?.stop()
  primary = null
})
t.after(async () => { await a.close() })

t('counters: requests spread over the workers add up to one view, kept across a rolling restart', async () => {
  const p = start()
  const [{ port }] = await p.start()
  for (let i = 0; i < 8; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  const c = await RawClient.open(port)
  clients.push(c)
  for (let i = 0; i < 3; i++) assert.is(await get(c), 'from-a')

  const total = await settled(p, 1)
  const snaps = await p.snapshots()
  assert.equal(snaps.map((s) => s.slot), [1, 2])
  assert.ok(snaps.every((s) => s.counters.requests > 0 && s.counters.accepted > 0), 'both workers served')
  assert.equal({ ...total, upstream_opened: 0 }, { requests: 11, accepted: 9, refused: 0, denied: 0, open: 1, upstream_opened: 0 })
  assert.is(total.upstream_opened, snaps[0].counters.upstream_opened + snaps[1].counters.upstream_opened)
  assert.ok(total.upstream_opened >= 2 && total.upstream_opened <= 11, `pooled sockets: ${total.upstream_opened}`)

  c.destroy()
  const before = p.pids()
  await p.rollingRestart()
  assert.equal(p.pids().filter((x) => before.includes(x)), [], 'new workers')
  const after = await p.counters()
  assert.is(after.requests, 11, 'the stopped workers\' final counters are kept')
  assert.is(after.accepted, 9)
  assert.is(after.open, 0)
  assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  const final = await p.stop()
  assert.is(final.requests, 12)
})

t('peer states: broadcast to every worker, replayed to a worker forked later, the latest wins', async () => {
  const p = start()
  await p.start()
  const peer = `127.0.0.1:${a.port}`
  p.peerState({ group: 'u', peer, up: false })
  // The IPC channel keeps order: a snapshot asked after the broadcast answers after the state arrived.
  for (const s of await p.snapshots()) assert.equal(s.peers, [{ type: 'peer-state', group: 'u', peer, up: false }], `worker ${s.slot}`)

  const [old] = p.pids()
  process.kill(old!, 'SIGKILL')
  await waitFor(() => p.pids()[0] !== null && p.pids()[0] !== old, 3000, 'worker 1 restarted')
  const replayed = (await p.snapshots()).find((s) => s.slot === 1)!
  assert.is(replayed.pid, p.pids()[0])
  assert.equal(replayed.peers, [{ type: 'peer-state', group: 'u', peer, up: false }], 'replayed to the new worker')

  p.peerState({ group: 'u', peer, up: true })
  p.peerState({ group: 'u', peer: '127.0.0.1:1', up: false })
  for (const s of await p.snapshots()) {
    assert.equal(s.peers, [
      { type: 'peer-state', group: 'u', peer, up: true },
      { type: 'peer-state', group: 'u', peer: '127.0.0.1:1', up: false },
    ], `worker ${s.slot}`)
  }
  // A reload builds a new Runtime in every worker; each keeps the states it heard (its new Runtime
  // takes each peer's health over from the old one).
  await p.reload(p.config)
  assert.is((await p.snapshots())[1].peers.length, 2)
})

t('health checks run once, in the primary, and their verdict reaches every worker', async () => {
  let sick = false
  const b = await httpUpstream((req, res) => {
    if (req.url === '/hc' && sick) { res.statusCode = 503; res.end('sick'); return }
    res.end('from-b')
  })
  try {
    const p = start({
      upstreams: { u: { peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: { path: '/hc', interval: 100, timeout: 80, rise: 1, fall: 1, jitter: 0 } } },
    })
    const [{ port }] = await p.start()
    const probes = (): number => b.requests.filter((r) => r.url === '/hc').length
    const n0 = probes()
    await sleep(1000)
    // One prober: about ten probes a second, not one set per worker.
    const n = probes() - n0
    assert.ok(n >= 5 && n <= 14, `${n} probes in 1 s`)
    sick = true
    const peer = `127.0.0.1:${b.port}`
    await waitFor(() => probes() > n0 + n + 2, 2000, 'more probes')
    const down = await p.snapshots()
    for (const s of down) assert.equal(s.peers.map((x) => [x.peer, x.up, x.reason]), [[peer, false, '1 failed probes, last: status 503']], `worker ${s.slot}`)
    const traffic = (): number => b.requests.filter((r) => r.url !== '/hc').length
    const served = traffic()
    for (let i = 0; i < 10; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
    assert.is(traffic(), served, 'no request for the sick peer, from either worker')
    sick = false
    await waitFor(() => probes() > n0 + n + 6, 2000, 'more probes')
    const seen = new Set<string>()
    for (let i = 0; i < 10; i++) seen.add(await getOnce(port))
    assert.equal([...seen].sort(), ['HTTP/1.1 200 OK from-a', 'HTTP/1.1 200 OK from-b'], 'back in service on every worker')
  } finally {
    await b.close()
  }
})

t('a peer that a reload drops while down and a later one adds back healthy serves from every worker', async () => {
  const dead = await deadPort()
  const health = { interval: 60, timeout: 50, rise: 1, fall: 1, jitter: 0 }
  const cfg = (peers: number[]): Record<string, unknown> => ({ upstreams: { u: { peers: peers.map((x) => `127.0.0.1:${x}`), health, passive: false } } })
  const p = start(cfg([dead, a.port]))
  const [{ port }] = await p.start()
  await sleep(300) // a few probes: the dead peer is down in every worker
  await p.reload(validate(raw(cfg([a.port]))))
  const revived = createServer((_q, res) => res.end('from-revived'))
  await new Promise<void>((r) => revived.listen(dead, '127.0.0.1', r))
  try {
    await p.reload(validate(raw(cfg([dead, a.port]))))
    await sleep(200)
    const seen = new Set<string>()
    for (let i = 0; i < 12; i++) seen.add(await getOnce(port))
    assert.ok(seen.has('HTTP/1.1 200 OK from-revived'), `served: ${[...seen].join(', ')}`)
  } finally {
    await new Promise((r) => revived.close(r))
  }
})

t('a reload that changes workers forks the new ones, or stops the last ones gracefully', async () => {
  const p = start()
  const [{ port }] = await p.start()
  const two = p.pids()
  await p.reload(validate({ ...raw(), workers: 3 }))
  assert.is(p.pids().length, 3)
  assert.equal(p.pids().slice(0, 2), two, 'the running workers stay')
  const snaps = async (): Promise<number[]> => (await p.snapshots()).map((s) => s.counters.requests)
  for (let i = 0; i < 6; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  assert.equal(await snaps(), [2, 2, 2], 'round-robin over three')
  await p.reload(validate({ ...raw(), workers: 1 }))
  assert.equal(p.pids(), [two[0]])
  assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  // One pooled socket per worker for the six, and one more: a reload retires the pools it replaces.
  assert.equal(await settled(p, 0), { requests: 7, accepted: 7, refused: 0, denied: 0, open: 0, upstream_opened: 4 })
})

t('a port no worker can take: start() fails and leaves no worker behind', async () => {
  const taken = await httpUpstream()
  try {
    const p = start({ listen: [`127.0.0.1:${taken.port}`] })
    await p.start().then(() => assert.unreachable('started'), (err: Error) => assert.match(err.message, /EADDRINUSE/))
    assert.equal(p.pids(), [null, null])
  } finally {
    await taken.close()
  }
})

t.run()
