/**
 * Consistent hashing: a key keeps its peer, and adding or removing one of N peers moves only about
 * 1/N of the keys (and only to or from that peer).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, HttpUpstream, proxyTo } from '../support/harness.js'
import { send } from '../support/pipelined.js'
import { Group } from '../../src/upstream/group.js'
import { validate } from '../../src/config/validate.js'
import type { Peer } from '../../src/upstream/peer.js'

const t = suite('hash')
const track = guard(t)
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)

function ring(n: number, skip = -1): Group {
  const addrs = Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:80`).filter((_, i) => i !== skip)
  const cfg = validate({ upstreams: { u: { peers: addrs, balance: 'hash' } } })
  return new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 })
}

function owners(g: Group): string[] {
  return KEYS.map((k) => (g.pick(k, null) as Peer).label)
}

t('adding an 11th peer moves about 1/11 of the keys, all of them to the new peer', () => {
  const before = owners(ring(10))
  const after = owners(ring(11))
  const moved = KEYS.filter((_, i) => before[i] !== after[i])
  const share = moved.length / KEYS.length
  assert.ok(share > 0.5 / 11 && share < 1.5 / 11, `moved ${share}`)
  for (let i = 0; i < KEYS.length; i++) if (before[i] !== after[i]) assert.is(after[i], '10.0.0.11:80')
})

t('removing one of 10 peers moves only the keys it owned', () => {
  const before = owners(ring(10))
  const after = owners(ring(10, 3))
  const moved = KEYS.filter((_, i) => before[i] !== after[i])
  for (let i = 0; i < KEYS.length; i++) if (before[i] !== after[i]) assert.is(before[i], '10.0.0.4:80')
  const share = moved.length / KEYS.length
  assert.ok(share > 0.5 / 10 && share < 1.5 / 10, `moved ${share}`)
})

t('keys spread over the peers by weight', () => {
  const cfg = validate({ upstreams: { u: { peers: ['10.0.0.1:80', { address: '10.0.0.2:80', weight: 3 }], balance: 'hash' } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 })
  const heavy = owners(g).filter((o) => o === '10.0.0.2:80').length / KEYS.length
  assert.ok(Math.abs(heavy - 0.75) < 0.05, `heavy share ${heavy}`)
})

t('a peer that goes down hands its keys to the next peers on the ring; the others keep theirs', () => {
  const g = ring(5)
  const before = owners(g)
  g.setUp(g.peers[2], false, 'test')
  const during = owners(g)
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === '10.0.0.3:80') assert.is.not(during[i], '10.0.0.3:80')
    else assert.is(during[i], before[i])
  }
  g.setUp(g.peers[2], true, 'test')
  assert.equal(owners(g), before, 'back up: every key returns')
  g.retire()
})

async function upstreams(n: number): Promise<HttpUpstream[]> {
  const out: HttpUpstream[] = []
  for (let i = 0; i < n; i++) out.push(track(await httpUpstream()))
  return out
}

function peerOf(ups: HttpUpstream[], user: string): number[] {
  return ups.flatMap((u, i) => (u.requests.some((r) => r.headers['x-user'] === user) ? [i] : []))
}

t('end to end, on a header: each user sticks to one peer', async () => {
  const ups = await upstreams(3)
  const px = track(await proxyTo(ups.map((u) => u.port), { upstream: { balance: 'hash', hash_key: 'header:X-User' } }))
  const seen = await send(px.url, 600, (i) => ({ 'x-user': `u${i % 60}` }))
  assert.is(seen.get(200), 600)
  for (let k = 0; k < 60; k++) assert.is(peerOf(ups, `u${k}`).length, 1, `user u${k} reached one peer`)
  assert.ok(ups.every((u) => u.requests.length > 0), 'every peer has some users')
})

t('end to end, on a cookie and on the path', async () => {
  const ups = await upstreams(3)
  const px = track(await proxyTo(ups.map((u) => u.port), { upstream: { balance: 'hash', hash_key: 'cookie:sid' } }))
  await send(px.url, 300, (i) => ({ cookie: `theme=dark; sid=s${i % 30}` }))
  for (let k = 0; k < 30; k++) {
    const at = ups.flatMap((u, i) => (u.requests.some((r) => r.headers.cookie === `theme=dark; sid=s${k}`) ? [i] : []))
    assert.is(at.length, 1, `session s${k} reached one peer`)
  }
  await px.close()
  const px2 = track(await proxyTo(ups.map((u) => u.port), { upstream: { balance: 'hash', hash_key: 'path' } }))
  for (const u of ups) u.requests.length = 0
  const res = await Promise.all([1, 2, 3].map(() => fetch(`${px2.url}/same/path?q=1`)))
  await Promise.all(res.map((r) => r.text()))
  assert.is(ups.filter((u) => u.requests.length > 0).length, 1, 'one path, one peer')
})

t('a request without the key is balanced round-robin', async () => {
  const ups = await upstreams(2)
  const px = track(await proxyTo(ups.map((u) => u.port), { upstream: { balance: 'hash', hash_key: 'header:X-User' } }))
  await send(px.url, 100)
  assert.is(ups[0].requests.length, 50)
  assert.is(ups[1].requests.length, 50)
})

t.run()
