/**
 * The cluster store's two ends in this process: a ClusterStore whose channel carries each batch as
 * JSON to a RateLimits (the primary's side) and its answer back a turn later, as the IPC channel
 * does. What real IPC adds (exits, a primary that stops answering) is in spec/cluster/rate-limits.spec.ts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClusterStore } from '../../../src/filters/rate-limit/cluster-store.js'
import { AskBatch, decodeAsks, encodeAsks, VerdictBatch } from '../../../src/filters/rate-limit/cluster-wire.js'
import { RateLimits } from '../../../src/cluster/rate-limits.js'
import { maxKeys } from '../../../src/filters/rate-limit/stores.js'
import { validate } from '../../../src/config/validate.js'
import type { Ask, Policy, Verdict, Verdicts } from '../../../src/filters/rate-limit/store.js'
import { sleep } from '../../support/harness.js'

const t = suite('rate limit: the cluster store over a channel')

const config = (extra: Record<string, unknown> = {}): ReturnType<typeof validate> =>
  validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } }, access_log: 'off', event_log: 'off', ...extra })

/** Each spec's keys apart: the primary's store is this process's one LocalStore. */
let run = 0
const key = (k: string): string => `spec-cs-${run}\u0000${k}`
t.before.each(() => { run++ })

/** A worker's store wired to a primary's RateLimits through JSON, one turn each way. */
function pair(worker = 1, limits = new RateLimits(config()), timeout = 1000): { store: ClusterStore; sent: AskBatch[]; limits: RateLimits } {
  const sent: AskBatch[] = []
  const store: ClusterStore = new ClusterStore((m) => {
    const wire = JSON.parse(JSON.stringify(m)) as AskBatch
    sent.push(wire)
    setImmediate(() => {
      const reply = limits.answer(worker, wire)
      if (reply !== null) setImmediate(() => store.answer(JSON.parse(JSON.stringify(reply)) as VerdictBatch))
    })
    return true
  }, timeout)
  return { store, sent, limits }
}

const rate = (perSec: number, burst = 0, delay = false): Policy => ({ kind: 'rate', interval: 1000 / perSec, burst, delay })
const ask = (k: string, policy: Policy, more: Partial<Ask> = {}): Ask => ({ key: key(k), policy, dry: false, ...more })

t('the asks cross the wire as they were', () => {
  const asks: Ask[] = [
    ask('a', rate(10, 3)), ask('b', rate(0.5, 0, true), { dry: true }), ask('c', { kind: 'inflight', max: 4 }, { peek: true }),
    ask('d', { kind: 'inflight', max: 1 }, { dry: true, peek: false }), ask('e', rate(0.1, 9), { refund: true }),
  ]
  const back = decodeAsks(JSON.parse(JSON.stringify(encodeAsks(asks))) as (string | number)[])
  assert.equal(back, asks.map((a) => ({ ...a, peek: a.peek === true, refund: a.refund === true })))
})

t('one message per turn: every take and release of it, answered in order in one message', async () => {
  const { store, sent } = pair()
  const p = rate(10, 2) // 100 ms apart: the primary's clock moves between the four decisions
  const takes = [0, 1, 2, 3].map(() => store.take([ask('x', p), ask('y', { kind: 'inflight', max: 10 })]))
  store.release(key('y'))
  store.release(key('gone'))
  assert.ok(takes.every((x) => x instanceof Promise), 'nothing refused yet: every take waits for the primary')
  const out = await Promise.all(takes)
  assert.is(sent.length, 1)
  assert.is(sent[0].t.length, 4)
  assert.equal(sent[0].r, [key('y'), key('gone')])
  // A burst of 2 admits 3 at once; the 4th is refused and spends nothing of `y`.
  assert.equal(out.map((v) => v[0].ok), [true, true, true, false])
  assert.equal(out.map((v) => v[0].remaining), [2, 1, 0, 0])
  assert.equal(out.map((v) => v[1].remaining), [9, 8, 7, 7])

  store.release(key('y'))
  await sleep(5)
  assert.is(sent.length, 2, 'a turn of releases only is one message too')
  assert.is(sent[1].n, 0, 'and waits for no answer')
})

t('a refusal is cached: later takes of the key are refused at once, without a message', async () => {
  const { store, sent } = pair()
  const p = rate(4) // one per 250 ms
  assert.ok((await store.take([ask('k', p)]))[0].ok)
  const refused = (await store.take([ask('k', p), ask('other', rate(1000))]))
  assert.not.ok(refused[0].ok)
  assert.ok(refused[0].wait > 0 && refused[0].wait <= 250, `wait ${refused[0].wait}`)
  assert.ok(refused[1].ok, 'the other limit admitted it, and spent nothing')
  const messages = sent.length

  const again = store.take([ask('other', rate(1000)), ask('k', p)])
  assert.ok(Array.isArray(again), 'answered synchronously')
  const v = again as Verdict[]
  assert.is(v[1].ok, false)
  assert.is(v[1].remaining, 0)
  assert.ok(v[1].wait > 0 && v[1].wait <= refused[0].wait, `wait ${v[1].wait} counts down`)
  assert.ok(v[1].reset > 0 && v[1].reset <= refused[0].reset)
  assert.equal(v[0], { ok: true, wait: 0, remaining: 0, reset: 0 }, 'the other ask is not judged')
  for (let i = 0; i < 100; i++) assert.ok(Array.isArray(store.take([ask('k', p)])))
  await sleep(5)
  assert.is(sent.length, messages, 'no message for 101 refusals')
  assert.is(store.cached, 101)

  // Not from the cache: a take with a dry-run ask (the primary counts it), the key under another
  // policy (a reload changed the limit).
  assert.instance(store.take([ask('k', p), ask('d', rate(1), { dry: true })]), Promise)
  assert.instance(store.take([ask('k', rate(5))]), Promise)

  // Once the wait is over, the primary decides again, and admits.
  await sleep(refused[0].wait + 5)
  const later = store.take([ask('k', p)])
  assert.instance(later, Promise)
  assert.ok((await later)[0].ok)
})

t('the cache is bounded: past 10,000 keys refused, the oldest is forgotten (and asked again)', async () => {
  const { store } = pair()
  const hour = rate(1 / 3600)
  const keys = Array.from({ length: 10_001 }, (_, i) => [ask(`many${i}`, hour)])
  await Promise.all(keys.map((k) => store.take(k)))
  const refused = await Promise.all(keys.map((k) => store.take(k)))
  assert.ok(refused.every((v) => !v[0].ok))
  assert.instance(store.take(keys[0]), Promise, 'the first refused key went for room')
  assert.ok(Array.isArray(store.take(keys[1])))
  assert.ok(Array.isArray(store.take(keys[10_000])))
})

t('a refused peek is cached (as exact as a take: auth\'s failure checks in a flood); delay mode and dry runs are not', async () => {
  const { store } = pair()
  const one = rate(1)
  assert.ok((await store.take([ask('peek', one)]))[0].ok) // spends the one place
  assert.not.ok((await store.take([ask('peek', one, { peek: true })]))[0].ok)
  assert.ok(Array.isArray(store.take([ask('peek', one, { peek: true })])), 'after a refused peek: answered from the cache')
  assert.ok((await store.take([ask('dry', one)]))[0].ok)
  assert.not.ok((await store.take([ask('dry', one, { dry: true })]))[0].ok)
  assert.instance(store.take([ask('dry', one)]), Promise, 'after a refused dry run: asked again')
  const slow = rate(1, 1, true)
  assert.ok((await store.take([ask('dl', slow)]))[0].ok)
  const turn = (await store.take([ask('dl', slow)]))[0]
  assert.ok(turn.ok && turn.wait > 900, 'waits its turn')
  assert.not.ok((await store.take([ask('dl', slow)]))[0].ok)
  assert.instance(store.take([ask('dl', slow)]), Promise)
})

t('fail open: a batch not answered in time resolves admitted and counted; a late answer is dropped', async () => {
  const sent: AskBatch[] = []
  const store = new ClusterStore((m) => { sent.push(m); return true }, 100)
  // The store's timer is unref'd (a worker's sockets keep it alive); here, this one does.
  const alive = setTimeout(() => {}, 1000)
  const began = performance.now()
  const out = await Promise.all([store.take([ask('a', rate(1))]), store.take([ask('b', rate(1)), ask('c', { kind: 'inflight', max: 1 })])])
  const took = performance.now() - began
  assert.ok(took >= 99 && took < 200, `failed open after ${took} ms`)
  assert.equal(out, [[{ ok: true, wait: 0, remaining: 0, reset: 0 }], [{ ok: true, wait: 0, remaining: 0, reset: 0 }, { ok: true, wait: 0, remaining: 0, reset: 0 }]])
  assert.is(store.faults, 2)
  assert.ok(out.every((v) => (v as Verdicts).fault === true), 'marked: the numbers count nothing')
  store.answer({ type: 'rl-v', n: sent[0].n, v: [0, 5000, 0, 5000, 0, 5000, 0, 5000, 0, 1000, 0, 0] })
  assert.instance(store.take([ask('a', rate(1))]), Promise, 'the late refusal was not cached')

  const closed = new ClusterStore(() => false, 100)
  assert.equal(await closed.take([ask('a', rate(1))]), [{ ok: true, wait: 0, remaining: 0, reset: 0 }], 'a closed channel fails open at once')
  assert.is(closed.faults, 1)
  clearTimeout(alive)
})

t('an inflight place admitted blind: its release frees nothing; the place the primary took late is given back', async () => {
  const limits = new RateLimits(config())
  const held: AskBatch[] = []
  let open = false
  const deliver = (wire: AskBatch): void => {
    setImmediate(() => {
      const reply = limits.answer(1, wire)
      if (reply !== null) setImmediate(() => store.answer(JSON.parse(JSON.stringify(reply)) as VerdictBatch))
    })
  }
  const store: ClusterStore = new ClusterStore((m) => {
    const wire = JSON.parse(JSON.stringify(m)) as AskBatch
    if (open) deliver(wire)
    else held.push(wire)
    return true
  }, 100)
  const alive = setTimeout(() => {}, 1000)
  const one = { kind: 'inflight', max: 1 } as const
  const blind = await store.take([ask('up', one), ask('r', rate(1000))])
  assert.is((blind as Verdicts).fault, true)
  assert.ok(blind.every((v) => v.ok))
  assert.is(limits.held(1, key('up')), 0, 'the primary has not seen it yet')

  open = true
  for (const m of held.splice(0)) deliver(m)
  await sleep(10)
  assert.is(limits.held(1, key('up')), 0, 'it took the place, and the late answer gave it back')
  assert.is(limits.store.inflight(key('up')), 0)
  store.release(key('up')) // the blind request ends: no message, nothing freed
  const other = await store.take([ask('up', one)])
  assert.ok(other[0].ok)
  assert.is(limits.held(1, key('up')), 1)
  store.release(key('up'))
  await sleep(5)
  assert.is(limits.held(1, key('up')), 0, 'a real place is released as ever')
  clearTimeout(alive)
})

t('the primary\'s ledger: places held per worker, given back on release or when the worker is gone', async () => {
  const limits = new RateLimits(config())
  const w1 = pair(1, limits)
  const w2 = pair(2, limits)
  const one = { kind: 'inflight', max: 2 } as const
  assert.ok((await w1.store.take([ask('up', one)]))[0].ok)
  assert.ok((await w1.store.take([ask('up', one)]))[0].ok)
  assert.not.ok((await w2.store.take([ask('up', one)]))[0].ok)
  assert.is(limits.held(1, key('up')), 2)
  assert.is(limits.held(2, key('up')), 0)

  w2.store.release(key('up')) // holds none: must not free worker 1's
  assert.not.ok((await w2.store.take([ask('up', one)]))[0].ok)
  // Not held: a peek, or a place in a take another limit refused; a dry-run place is.
  assert.ok((await w2.store.take([ask('up2', one, { peek: true })]))[0].ok)
  assert.is(limits.held(2, key('up2')), 0)
  assert.equal((await w2.store.take([ask('up2', one), ask('up', one)])).map((v) => v.ok), [true, false])
  assert.is(limits.held(2, key('up2')), 0)
  assert.equal((await w2.store.take([ask('up2', one, { dry: true }), ask('up', one)])).map((v) => v.ok), [true, false])
  assert.is(limits.held(2, key('up2')), 1)

  limits.gone(1)
  assert.is(limits.held(1, key('up')), 0)
  assert.ok((await w2.store.take([ask('up', one)]))[0].ok, 'worker 1\'s places are back')
  assert.is(limits.held(2, key('up')), 1)
  w2.store.release(key('up'))
  await sleep(5)
  assert.is(limits.held(2, key('up')), 0)
  assert.is(limits.store.inflight(key('up')), 0)
})

t('max_keys of the primary: the largest of any memory-store rate_limit, defaults and routes', () => {
  const rl = (n: number | null): Record<string, unknown> => ({ limits: [{ name: 'a', key: 'global', rate: '1/s' }], ...(n === null ? {} : { store: { memory: { max_keys: n } } }) })
  assert.is(maxKeys(config()), 100_000, 'no limit: the default')
  assert.is(maxKeys(config({ defaults: { rate_limit: rl(50) } })), 50)
  assert.is(maxKeys(config({ defaults: { rate_limit: rl(50) }, routes: [{ path: '/a', upstream: 'u', rate_limit: rl(700) }, { path: '/b', upstream: 'u', rate_limit: false }] })), 700)
  const redis = { limits: [{ name: 'a', key: 'global', rate: '1/s' }], store: { redis: { url: 'redis://127.0.0.1:1' } } }
  assert.is(maxKeys(config({ routes: [{ path: '/a', upstream: 'u', rate_limit: redis }, { path: '/b', upstream: 'u', rate_limit: rl(null) }] })), 100_000)

  const limits = new RateLimits(config({ defaults: { rate_limit: rl(3) } }))
  assert.is(limits.store.maxKeys, 3)
  limits.reload(config({ defaults: { rate_limit: rl(9) } }))
  assert.is(limits.store.maxKeys, 9)
  limits.reload(config())
  assert.is(limits.store.maxKeys, 100_000)
})

t('a refund is never answered from the refusal cache: it reaches the primary (auth\'s right password)', async () => {
  const { store } = pair()
  const p = rate(1 / 60)
  assert.ok((await store.take([ask('r', p)]))[0].ok)
  assert.not.ok((await store.take([ask('r', p)]))[0].ok) // cached now
  assert.ok(Array.isArray(store.take([ask('r', p)])), 'a take is answered from the cache')
  const refund = store.take([ask('r', p, { refund: true })])
  assert.instance(refund, Promise, 'the refund goes to the primary')
  assert.ok((await refund)[0].ok)
})

t.run()
