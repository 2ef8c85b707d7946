/**
 * The balancers, end to end: 10,000 requests through the proxy to real peers on loopback, counted at
 * the peers. One client connection carries one request at a time through the proxy, so each pick sees
 * no request in flight and every balancer must share by weight alone.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, HttpUpstream, proxyTo } from '../support/harness.js'
import { send } from '../support/pipelined.js'
import { Group } from '../../src/upstream/group.js'
import { validate } from '../../src/config/validate.js'

const t = suite('balance')
const track = guard(t)

async function peers(n: number): Promise<HttpUpstream[]> {
  const out: HttpUpstream[] = []
  for (let i = 0; i < n; i++) out.push(track(await httpUpstream()))
  return out
}

for (const balance of ['round_robin', 'least_conn', 'random_two'] as const) {
  t(`${balance}: 10,000 requests follow weights 5:3:2 within 1%`, async () => {
    const ups = await peers(3)
    const weights = [5, 3, 2]
    const px = track(await proxyTo([], {
      upstream: {
        peers: ups.map((u, i) => ({ address: `127.0.0.1:${u.port}`, weight: weights[i] })),
        balance,
        ...(balance === 'random_two' ? { seed: 12345 } : {}),
      },
    }))
    const seen = await send(px.url, 10_000)
    assert.is(seen.get(200), 10_000)
    ups.forEach((u, i) => {
      const share = u.requests.length / 10_000
      assert.ok(Math.abs(share - weights[i] / 10) <= 0.01, `${balance} peer ${i}: share ${share}, weight share ${weights[i] / 10}`)
    })
  })
}

t('round_robin is smooth: weights 5:1:1 give a a b a c a a', () => {
  const cfg = validate({
    upstreams: { u: { peers: [{ address: '10.0.0.1:80', weight: 5 }, '10.0.0.2:80', '10.0.0.3:80'] } },
  }).upstreams.get('u')!
  const g = new Group(cfg, validate({ upstreams: { u: { peers: [] } } }).timeouts, { maxHead: 1024, maxTarget: 1024 })
  const names = 'abc'
  const order = Array.from({ length: 14 }, () => names[g.peers.indexOf(g.pick(null, null)!)]).join(' ')
  assert.is(order, 'a a b a c a a a a b a c a a')
  g.retire()
})

t('least_conn sends to the peer with the fewest requests in flight', () => {
  const cfg = validate({ upstreams: { u: { peers: ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'], balance: 'least_conn' } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 })
  g.peers[0].inflight = 4
  g.peers[1].inflight = 1
  g.peers[2].inflight = 3
  for (let i = 0; i < 5; i++) assert.is(g.pick(null, null), g.peers[1])
  g.peers[1].inflight = 5
  assert.is(g.pick(null, null), g.peers[2])
  g.retire()
})

t('least_conn always finds a peer while every peer ramps up (its load shrinks as it is read)', () => {
  const cfg = validate({ upstreams: { u: { peers: ['10.0.0.1:80', '10.0.0.2:80'], balance: 'least_conn', slow_start: '60s' } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 })
  for (const p of g.peers) { p.ramp(Date.now() - 30_000, 60_000); p.inflight = 3 }
  let none = 0
  const end = Date.now() + 300 // long enough to cross many millisecond boundaries between the two reads
  while (Date.now() < end) for (let i = 0; i < 1000; i++) if (g.pick(null, null) === null) none++
  assert.is(none, 0)
  g.retire()
})

t('random_two prefers the less loaded of its two draws', () => {
  const cfg = validate({ upstreams: { u: { peers: ['10.0.0.1:80', '10.0.0.2:80'], balance: 'random_two', seed: 7 } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 })
  g.peers[0].inflight = 9
  // With two peers both are always drawn: the idle one wins every time.
  for (let i = 0; i < 50; i++) assert.is(g.pick(null, null), g.peers[1])
  g.retire()
})

t('a backup peer takes traffic only while no primary is available', async () => {
  const [a, b, backup] = await peers(3)
  const px = track(await proxyTo([], {
    upstream: { peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`, { address: `127.0.0.1:${backup.port}`, backup: true }] },
  }))
  await send(px.url, 20)
  assert.is(backup.requests.length, 0)
  const g = px.server.rt.groups.get('u')!
  g.setUp(g.peers[0], false, 'test')
  await send(px.url, 10)
  assert.is(backup.requests.length, 0, 'one primary left: still no backup')
  g.setUp(g.peers[1], false, 'test')
  await send(px.url, 10)
  assert.is(backup.requests.length, 10, 'no primary: the backup serves')
  g.setUp(g.peers[0], true, 'test')
  await send(px.url, 10)
  assert.is(backup.requests.length, 10, 'a primary is back: the backup is idle again')
})

t.run()
