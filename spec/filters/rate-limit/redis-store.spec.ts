import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { RedisStore, RedisStoreOptions, redact, backoff } from '../../../src/filters/rate-limit/redis-store.js'
import { LocalStore } from '../../../src/filters/rate-limit/local-store.js'
import type { Ask, Policy, Verdict, Verdicts } from '../../../src/filters/rate-limit/store.js'
import type { RedisConfig } from '../../../src/config/rate-limit.js'
import { EventLog } from '../../../src/log/events.js'
import { deadPort, guard, sleep, tempFile, waitFor } from '../../support/harness.js'
import { RedisServer } from '../../support/redis.js'

const t = suite('rate-limit: the Redis store, against a real redis-server')
const track = guard(t)
let shared: RedisServer
let n = 0

t.before(async () => { shared = await RedisServer.start() })
t.after(async () => { await shared.close() })

type Records = Record<string, unknown>[]

/** An event log in a temporary file; its records so far, or once `count` of `event` are written. */
function eventLog(): { log: EventLog; records(event?: string): Records; until(event: string, count: number): Promise<Records> } {
  const file = tempFile('events.log')
  const log = new EventLog({ path: file, format: 'json' })
  track({ close: async () => log.close() })
  return {
    log,
    records(event) {
      log.flushSync()
      const all = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
      return event === undefined ? all : all.filter((r) => r.event === event)
    },
    // A warn line goes out at once, but by an async write: wait for it to land.
    async until(event, count) {
      await waitFor(() => this.records(event).length >= count, 2000, `${count} "${event}" lines`)
      return this.records(event)
    },
  }
}

/** A store on `srv` under a prefix of its own (specs share one server), ready when `wait` says so. */
async function store(srv: { url: string }, cfg: Partial<RedisConfig> = {}, opts: RedisStoreOptions & { events?: EventLog; wait?: boolean } = {}): Promise<RedisStore> {
  const s = track(new RedisStore({ url: srv.url, prefix: `spec${++n}:`, timeout: 50, on_error: 'allow', ...cfg }, opts.events ?? null, opts))
  if (opts.wait !== false) await waitFor(() => s.up, 3000, 'the store to reach redis')
  return s
}

/** A plain client for looking at the keys (ZCARD, PTTL, GET). */
class RedisClient {
  readonly c: Redis
  constructor(url: string) {
    this.c = new Redis(url)
    this.c.on('error', () => {})
  }

  async close(): Promise<void> { this.c.disconnect() }
}

const rate = (interval: number, burst: number, delay = false): Policy => ({ kind: 'rate', interval, burst, delay })
const ask = (key: string, policy: Policy, more: Partial<Ask> = {}): Ask => ({ key, policy, dry: false, ...more })

/**
 * Both stores take the same asks back to back; ok and remaining agree, the times within `ms`. The
 * memory store gets whole ms: gcra.ts sums absolute times ((now + τ) − TAT), and with a fractional
 * performance.now() the sum can round under a whole request exactly at the boundary (remaining one
 * short on a fresh key); the Lua twin works relative to now.
 */
async function agree(local: LocalStore, redis: RedisStore, asks: Ask[], what: string, ms = 30): Promise<Verdict[]> {
  const l = local.take(asks, Math.round(performance.now()))
  const r = await redis.take(asks)
  assert.is((r as Verdicts).fault, undefined, `${what}: answered by redis`)
  assert.equal(r.map((v) => v.ok), l.map((v) => v.ok), `${what}: ok`)
  assert.equal(r.map((v) => v.remaining), l.map((v) => v.remaining), `${what}: remaining`)
  for (let i = 0; i < r.length; i++) {
    assert.ok(Math.abs(r[i].wait - l[i].wait) <= ms, `${what}: wait ${r[i].wait} vs ${l[i].wait}`)
    assert.ok(Math.abs(r[i].reset - l[i].reset) <= ms, `${what}: reset ${r[i].reset} vs ${l[i].reset}`)
    assert.ok(Number.isInteger(r[i].wait) && Number.isInteger(r[i].reset), `${what}: whole ms`)
  }
  return r
}

t('reject mode agrees with the memory store: burst, refusal with a sane wait, remaining, then admitted again', async () => {
  const local = new LocalStore(100)
  const s = await store(shared)
  const a = [ask('k', rate(200, 2))]
  const seen = []
  for (let i = 0; i < 4; i++) seen.push((await agree(local, s, a, `take ${i + 1}`))[0])
  assert.equal(seen.map((v) => v.ok), [true, true, true, false], 'burst 2: three at once, then refused')
  assert.equal(seen.map((v) => v.remaining), [2, 1, 0, 0])
  assert.ok(seen[3].wait > 150 && seen[3].wait <= 200, `Retry-After about one interval: ${seen[3].wait}`)
  assert.ok(seen[3].reset > 550 && seen[3].reset <= 600, `full again after three intervals: ${seen[3].reset}`)
  await sleep(seen[3].wait + 15)
  const again = await agree(local, s, a, 'after the wait')
  assert.ok(again[0].ok, 'admitted once the wait is over')
})

t('the rate key expires when its TAT passes; a fractional interval keeps its digits; a flushed script is sent again', async () => {
  const s = await store(shared, { prefix: 'ttl:' })
  const raw = track(new RedisClient(shared.url))
  await s.take([ask('third', rate(1000 / 3, 0))])
  const ttl = await raw.c.pttl('ttl:third')
  assert.ok(ttl > 300 && ttl <= 335, `PTTL about one interval: ${ttl}`)
  const tat = await raw.c.get('ttl:third')
  assert.ok(tat !== null && /^\d+\.\d+$/.test(tat), `the TAT keeps its fraction: ${tat}`)
  const [v] = await s.take([ask('third', rate(1000 / 3, 0))])
  assert.not.ok(v.ok)
  assert.ok(v.wait > 300 && v.wait <= 334, `wait ${v.wait}`)
  // The server forgets its scripts (SCRIPT FLUSH; a restart does the same): EVALSHA gets NOSCRIPT, EVAL follows.
  await raw.c.script('FLUSH')
  const [w] = await s.take([ask('third', rate(1000 / 3, 0))])
  assert.not.ok(w.ok, 'answered by redis, not by on_error (allow)')
  assert.is(s.faults, 0)
})

t('delay mode agrees: up to burst wait their turn, the next is refused', async () => {
  const local = new LocalStore(100)
  const s = await store(shared)
  const a = [ask('d', rate(100, 2, true))]
  const seen = []
  for (let i = 0; i < 4; i++) seen.push((await agree(local, s, a, `take ${i + 1}`))[0])
  assert.equal(seen.map((v) => v.ok), [true, true, true, false])
  assert.is(seen[0].wait, 0)
  assert.ok(seen[1].wait > 80 && seen[1].wait <= 100, `second waits one interval: ${seen[1].wait}`)
  assert.ok(seen[2].wait > 180 && seen[2].wait <= 200, `third waits two: ${seen[2].wait}`)
  assert.ok(seen[3].wait > 80 && seen[3].wait <= 100, `the refused one may come back when the queue has room: ${seen[3].wait}`)
})

t('dry-run refuses nothing but reports; peek never commits; a refusal spends nothing of the other enforced asks', async () => {
  const local = new LocalStore(100)
  const s = await store(shared)
  const wide = rate(1000, 5)
  const dry = [ask('w1', wide), ask('tight1', rate(1000, 0), { dry: true })]
  await agree(local, s, dry, 'dry 1')
  const d2 = await agree(local, s, dry, 'dry 2')
  assert.equal(d2.map((v) => v.ok), [true, false], 'the dry ask reports a refusal')
  assert.is(d2[0].remaining, 4, 'and the enforced one was spent all the same')

  const peek = [ask('p', rate(1000, 1), { peek: true })]
  for (let i = 0; i < 3; i++) assert.is((await agree(local, s, peek, `peek ${i + 1}`))[0].remaining, 1, 'a peek spends nothing')
  assert.is((await agree(local, s, [ask('p', rate(1000, 1))], 'take after peeks'))[0].remaining, 1)

  const both = [ask('w2', wide), ask('tight2', rate(1000, 0))]
  await agree(local, s, both, 'both 1')
  const b2 = await agree(local, s, both, 'both 2')
  assert.equal(b2.map((v) => v.ok), [true, false])
  assert.is(b2[0].remaining, 5, 'admitted by its own limit, not spent: as many left as after the first')
  const b3 = await agree(local, s, both, 'both 3')
  assert.is(b3[0].remaining, 5, 'still nothing spent')
  assert.is((await agree(local, s, [ask('w2', wide)], 'alone'))[0].remaining, 4, 'spent once before, now twice')
})

t('two stores (two proxies) on one Redis keep one limit: 50/s for 2 s', async () => {
  const a = await store(shared, { prefix: 'fleet:', timeout: 1000 })
  const b = await store(shared, { prefix: 'fleet:', timeout: 1000 })
  // A burst, so the count is the limit's and not the hammer's: with burst 0 each admission starts
  // the next interval at its own arrival, and every late arrival loses its lateness (GCRA, as it should).
  const burst = 4
  const asks = [ask('all', rate(20, burst))]
  let admitted = 0
  let takes = 0
  const start = performance.now()
  const hammer = async (s: RedisStore): Promise<void> => {
    while (performance.now() - start < 2000) {
      const [v] = await s.take(asks)
      takes++
      if (v.ok) admitted++
    }
  }
  await Promise.all([a, a, a, b, b, b].map(hammer))
  const expected = burst + 1 + Math.floor((performance.now() - start) / 20)
  assert.is(a.faults + b.faults, 0, 'every take was answered by redis')
  assert.ok(takes > 4 * expected, `both hammered well over the limit (${takes} takes)`)
  assert.ok(Math.abs(admitted - expected) <= expected * 0.05, `admitted ${admitted}, expected ${expected} ±5%`)
})

/** A counter of INFO commandstats (`calls`, `failed_calls`...), 0 when the command never ran since the reset. */
async function cmdstat(c: Redis, cmd: string, field = 'calls'): Promise<number> {
  const m = new RegExp(`^cmdstat_${cmd}:.*\\b${field}=(\\d+)`, 'm').exec(await c.info('commandstats'))
  return m === null ? 0 : Number(m[1])
}

t('the takes of one turn go as ONE script call (one EVALSHA), decided in order, each as the memory store decides it', async () => {
  const srv = track(await RedisServer.start())
  const raw = track(new RedisClient(srv.url))
  const s = await store(srv, { prefix: 'turn:', timeout: 1000 })
  await s.take([ask('warm', rate(1000, 0))]) // the connection's first call sends the script (EVAL); EVALSHA after
  await raw.c.config('RESETSTAT')
  const local = new LocalStore(100)
  const r = rate(1000, 20)
  // Four kinds in turn, 50 of each, over keys shared across takes, so each verdict depends on the
  // takes before it in the call: a take, a peek, a take refused by a second limit (it spends nothing
  // of the first), an inflight place with a dry-run ask (which commits alone).
  const takes: Ask[][] = []
  for (let i = 0; i < 200; i++) {
    const k = i % 4
    takes.push(k === 0 ? [ask('r', r)]
      : k === 1 ? [ask('r', r, { peek: true })]
      : k === 2 ? [ask('r', r), ask('tight', rate(1000, 0))]
      : [ask('in', { kind: 'inflight', max: 3 }), ask('dry', rate(1000, 1), { dry: true })])
  }
  const calls = s.calls
  const pending = takes.map((a) => s.take(a))
  const now = Math.round(performance.now())
  const want = takes.map((a) => local.take(a, now))
  const got = await Promise.all(pending)
  assert.is(s.calls - calls, 1, 'one call for the turn')
  assert.is(await cmdstat(raw.c, 'evalsha'), 1, 'one EVALSHA reached redis')
  assert.is(await cmdstat(raw.c, 'eval'), 0, 'and no EVAL')
  for (let i = 0; i < takes.length; i++) {
    const w = want[i]
    const g = got[i]
    assert.is(g.fault, undefined, `take ${i}: answered by redis`)
    assert.equal(g.map((v) => [v.ok, v.remaining]), w.map((v) => [v.ok, v.remaining]), `take ${i}: ok and remaining`)
    // Both at one now; the Lua's TAT goes through now + ahead, where a double keeps 1/4096 ms.
    for (let j = 0; j < g.length; j++) assert.ok(Math.abs(g[j].wait - w[j].wait) <= 1 && Math.abs(g[j].reset - w[j].reset) <= 1, `take ${i}: times ${JSON.stringify(g[j])} vs ${JSON.stringify(w[j])}`)
  }
  // Read back in order: the rate key spent by kinds 0 and 2 until the second one met 'tight'.
  assert.equal(got.slice(0, 8).map((v) => v.map((x) => x.remaining)), [[20], [19], [19, 0], [2, 1], [18], [17], [18, 0], [1, 0]])
  assert.ok(got[76][0].ok && !got[80][0].ok, 'the burst of 21 spent by take 76 (takes 0, 2, then every 4th), take 80 refused')
  assert.ok(await raw.c.get('turn:tight') !== null, 'tight spent by take 2')
  assert.is(await raw.c.zcard('turn:in'), 3, 'three places leased, no more')
  for (let i = 0; i < 3; i++) s.release('in')
  await sleep(20)
  assert.is(await raw.c.zcard('turn:in'), 0, 'the leases of a batch are released as any')
  assert.is(s.faults, 0)
})

t('a turn beyond 256 takes or 512 keys goes in further calls, in order; a take of more keys goes alone', async () => {
  const s = await store(shared, { prefix: 'big:', timeout: 1000 })
  let calls = s.calls
  const one = Array.from({ length: 600 }, () => s.take([ask('b', rate(1000, 999))]))
  const v = await Promise.all(one)
  assert.is(s.calls - calls, 3, '256 + 256 + 88')
  assert.equal(v.map((x) => x[0].remaining), Array.from({ length: 600 }, (_, i) => 999 - i), 'each take saw the ones before it, across calls')
  calls = s.calls
  const wide = Array.from({ length: 12 }, (_, i) => ask(`w${i}`, rate(1000, 99)))
  const many = await Promise.all(Array.from({ length: 100 }, () => s.take(wide)))
  assert.is(s.calls - calls, 3, '42 takes of 12 keys a call (504), then 42, then 16')
  assert.equal(many.map((x) => x[11].remaining), Array.from({ length: 100 }, (_, i) => 99 - i))
  calls = s.calls
  const huge = Array.from({ length: 700 }, (_, i) => ask(`h${i}`, rate(1000, 1)))
  const [h1, h2, h3] = await Promise.all([s.take([ask('x', rate(1000, 1))]), s.take(huge), s.take([ask('x', rate(1000, 1))])])
  assert.is(s.calls - calls, 3, 'the take of 700 keys alone, between the others')
  assert.ok(h2.length === 700 && h2.every((x) => x.ok && x.remaining === 1))
  assert.equal([h1[0].remaining, h3[0].remaining], [1, 0])
  assert.is(s.faults, 0)
})

t('inflight: max 2, the third refused, release frees a place; an unreleased lease expires', async () => {
  const s = await store(shared, { prefix: 'inf:' }, { leaseMs: 300 })
  const raw = track(new RedisClient(shared.url))
  const a = [ask('u', { kind: 'inflight', max: 2 })]
  const v = [await s.take(a), await s.take(a), await s.take(a)].map((r) => r[0])
  assert.equal(v, [{ ok: true, wait: 0, remaining: 1, reset: 0 }, { ok: true, wait: 0, remaining: 0, reset: 0 }, { ok: false, wait: 1000, remaining: 0, reset: 0 }])
  assert.is(await raw.c.zcard('inf:u'), 2)
  s.release('u')
  await sleep(20)
  assert.is(await raw.c.zcard('inf:u'), 1, 'release removed one lease')
  assert.ok((await s.take(a))[0].ok, 'the freed place is taken')
  assert.not.ok((await s.take(a))[0].ok)
  assert.ok((await s.take([ask('u', { kind: 'inflight', max: 2 }, { peek: true })]))[0].ok === false, 'a peek sees the set full')
  const other = await store(shared, { prefix: 'inf:' })
  other.release('u')
  await sleep(20)
  assert.is(await raw.c.zcard('inf:u'), 2, 'a store releases only leases it holds')
  // Leases of 300 ms: one taken now, one 200 ms later. At 350 ms the first has expired and the
  // second holds (so does the set, whose TTL follows its newest lease): one place is free.
  const b = [ask('v', { kind: 'inflight', max: 2 })]
  assert.ok((await s.take(b))[0].ok)
  await sleep(200)
  assert.ok((await s.take(b))[0].ok)
  assert.not.ok((await s.take(b))[0].ok, 'full')
  await sleep(150)
  assert.equal(await s.take(b), [{ ok: true, wait: 0, remaining: 0, reset: 0 }], 'the first lease expired: its place is free')
  assert.not.ok((await s.take(b))[0].ok, 'the second still holds')
  await sleep(310)
  assert.is(await raw.c.exists('inf:v'), 0, 'an idle set vanishes with its last lease')
  assert.is(s.releaseErrors, 0)
})

t('redis killed mid-run: takes resolve by on_error within the timeout, one warn per outage; restarted, limits resume and one info', async () => {
  const srv = track(await RedisServer.start())
  const ev = eventLog()
  const allow = await store(srv, { on_error: 'allow' }, { events: ev.log })
  const deny = await store(srv, { on_error: 'deny' }, { events: ev.log })
  const one = [ask('k', rate(1000, 0))]
  const inflight = [ask('i', { kind: 'inflight', max: 1 })]
  assert.ok((await allow.take(one))[0].ok && (await deny.take(one))[0].ok)
  assert.not.ok((await deny.take(one))[0].ok, 'counted in redis')
  await srv.stop()
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now()
    const [ra, rd] = await Promise.all([allow.take(one), deny.take(one)])
    assert.ok(performance.now() - t0 < 50 + 100, 'answered within about the timeout')
    assert.is(ra.fault, true)
    assert.equal(ra, [{ ok: true, wait: 0, remaining: 0, reset: 0 }], 'allow: admitted')
    assert.is(rd.fault, true)
    assert.equal(rd, [{ ok: false, wait: 1000, remaining: 0, reset: 0 }], 'deny: refused')
    if (i % 10 === 0) await sleep(10)
  }
  // A place admitted by on_error holds no lease: its release must not free a real one later.
  assert.ok((await allow.take(inflight))[0].ok)
  assert.ok(allow.faults >= 41 && deny.faults >= 40, `faults counted: ${allow.faults}, ${deny.faults}`)
  assert.is(allow.outages, 1)
  assert.is(deny.outages, 1)
  const down = await ev.until('rate limit store down', 2)
  assert.is(down.length, 2, 'one warn per store, not per request')
  assert.is(down[0].level, 'warn')
  assert.is(down[0].url, srv.url)
  assert.type(down[0].error, 'string')

  await srv.restart()
  await waitFor(() => allow.up && deny.up, 5000, 'the stores to see redis back')
  const [v1] = await deny.take(one)
  const [v2] = await deny.take(one)
  assert.ok(v1.ok && !v2.ok, 'limits resume (the new server starts empty)')
  assert.ok((await allow.take(inflight))[0].ok, 'a real lease')
  allow.release('i')
  await sleep(20)
  assert.not.ok((await allow.take(inflight))[0].ok, 'the first release paid the on_error place: the real lease stays')
  allow.release('i')
  await sleep(20)
  assert.ok((await allow.take(inflight))[0].ok, 'the second release freed it')
  const back = await ev.until('rate limit store back', 2)
  assert.is(back.length, 2)
  assert.is(back[0].level, 'info')
  assert.ok(typeof back[0].down_ms === 'number' && back[0].down_ms > 0, `outage duration: ${back[0].down_ms}`)
  assert.is(ev.records('rate limit store down').length, 2, 'no more warns')
})

t('a Redis that never existed: no throw, on_error applies, one warn', async () => {
  const port = await deadPort()
  const ev = eventLog()
  const allow = await store({ url: `redis://127.0.0.1:${port}` }, { on_error: 'allow' }, { events: ev.log, wait: false })
  const deny = await store({ url: `redis://u:secret@127.0.0.1:${port}/0` }, { on_error: 'deny' }, { events: ev.log, wait: false })
  await ev.until('rate limit store down', 2)
  for (let i = 0; i < 5; i++) {
    const ra = allow.take([ask('k', rate(1000, 0)), ask('dry', rate(1000, 0), { dry: true })])
    const rd = deny.take([ask('k', rate(1000, 0)), ask('dry', rate(1000, 0), { dry: true })])
    assert.not.instance(ra, Promise, 'the breaker is open: answered at once')
    assert.equal((await ra).map((v) => v.ok), [true, true])
    assert.equal((await rd).map((v) => v.ok), [false, true], 'deny refuses the enforced asks only')
    assert.is((await rd).fault, true)
  }
  await sleep(1100)
  const down = ev.records('rate limit store down')
  assert.is(down.length, 2, 'still one warn each, through the retries')
  assert.not.match(JSON.stringify(down), /secret/, 'the password is not logged')
  assert.is(down[1].url, `redis://u:***@127.0.0.1:${port}/0`)
  assert.not.ok(allow.up)
})

t('a Redis that does not answer (SIGSTOP): the call resolves by on_error after the timeout; answers again, the breaker closes', async () => {
  const srv = track(await RedisServer.start())
  track({ close: async () => srv.resume() })
  const ev = eventLog()
  const deny = await store(srv, { on_error: 'deny', timeout: 80, prefix: 'stop:' }, { events: ev.log })
  assert.ok((await deny.take([ask('k', rate(10, 0))]))[0].ok)
  srv.pause()
  const t0 = performance.now()
  // Three takes in one turn: one call, whose timeout answers each by on_error, each counted.
  const [r, r2, r3] = await Promise.all([deny.take([ask('k', rate(10, 0))]), deny.take([ask('k', rate(10, 0))]), deny.take([ask('held', { kind: 'inflight', max: 5 })])])
  const took = performance.now() - t0
  assert.ok(took >= 75 && took < 200, `resolved after the timeout: ${took} ms`)
  assert.is(r.fault, true)
  assert.not.ok(r[0].ok)
  assert.ok(r2.fault === true && r3.fault === true && !r2[0].ok && !r3[0].ok, 'every take of the call')
  assert.is(deny.faults, 3, 'counted per take')
  assert.is(deny.calls, 2)
  const next = deny.take([ask('k', rate(10, 0))])
  assert.not.instance(next, Promise, 'the breaker is open: no call until redis answers')
  assert.is((await ev.until('rate limit store down', 1))[0].error, 'no answer within 80 ms')
  await sleep(200)
  srv.resume()
  await waitFor(() => deny.up, 3000, 'the probe to close the breaker')
  await sleep(20)
  assert.ok((await deny.take([ask('k2', rate(10, 0))]))[0].ok)
  // The late call ran once Redis woke: the place it leased was given back at its reply.
  const raw = track(new RedisClient(srv.url))
  for (let i = 0; i < 100 && await cmdstat(raw.c, 'zrem') === 0; i++) await sleep(10)
  assert.is(await cmdstat(raw.c, 'zrem'), 1, 'one ZREM, for the late lease')
  assert.is(await raw.c.zcard('stop:held'), 0)
  assert.is((await ev.until('rate limit store back', 1)).length, 1)
  assert.is(ev.records('rate limit store down').length, 1)
  assert.is(deny.outages, 1)
})

t('helpers: the password is redacted from the URL; the reconnect backoff grows to 2 s and goes on', () => {
  assert.is(redact('rediss://:pw@h:6380/1'), 'rediss://:***@h:6380/1')
  assert.is(redact('redis://h:6379'), 'redis://h:6379')
  assert.is(redact('not a url'), '(invalid url)')
  const b = [1, 2, 3, 4, 5, 6, 50, 1e6].map(backoff)
  assert.ok(b[0] >= 90 && b[0] <= 110 && b[1] >= 180 && b[1] <= 220, `from 100 ms, doubling: ${b}`)
  for (const d of b.slice(5)) assert.ok(d >= 1800 && d <= 2200, `capped at about 2 s: ${d}`)
})

t('a key of the other kind (a limit changed from a rate to max_inflight under one name) is started afresh, not a fault for everyone', async () => {
  const s = await store(shared)
  const raw = track(new RedisClient(shared.url))
  const prefix = `spec${n}:`
  await raw.c.set(`${prefix}conc`, '12345')
  await raw.c.zadd(`${prefix}rate`, Date.now() + 60_000, 'someone')
  const v = await s.take([ask('conc', { kind: 'inflight', max: 1 }), ask('rate', rate(1000, 0))])
  assert.is((v as Verdicts).fault, undefined, 'answered by the counters')
  assert.equal(v.map((x) => x.ok), [true, true])
  assert.is(s.faults, 0)
  assert.is(await raw.c.type(`${prefix}conc`), 'zset')
  assert.is(await raw.c.type(`${prefix}rate`), 'string')
  s.release('conc')
})

t.run()
