// The arithmetic of the limits (filters/rate-limit/gcra.ts) through the memory store, on a clock the
// spec sets: exact to the millisecond, with nothing timed.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalStore } from '../../../src/filters/rate-limit/local-store.js'
import type { Ask, Policy } from '../../../src/filters/rate-limit/store.js'

const t = suite('rate limit: GCRA')

const rate = (interval: number, burst: number, delay = false): Policy => ({ kind: 'rate', interval, burst, delay })
const ask = (key: string, policy: Policy, dry = false, peek = false): Ask => ({ key, policy, dry, peek })

t('reject: burst + 1 at once, then one per interval, to the millisecond', () => {
  const s = new LocalStore(100)
  const p = rate(100, 2) // 10/s, burst 2
  const at = (now: number) => s.take([ask('k', p)], now)[0]
  assert.equal(at(0), { ok: true, wait: 0, remaining: 2, reset: 100 })
  assert.equal(at(0), { ok: true, wait: 0, remaining: 1, reset: 200 })
  assert.equal(at(0), { ok: true, wait: 0, remaining: 0, reset: 300 })
  const no = at(0)
  assert.equal(no, { ok: false, wait: 100, remaining: 0, reset: 300 }, 'the next conforms at TAT − τ = 100')
  assert.is(at(99).ok, false, '1 ms early')
  assert.equal(at(100), { ok: true, wait: 0, remaining: 0, reset: 300 })
  assert.is(at(100).ok, false)
  // Idle long enough, the whole burst is back, and no more.
  assert.equal(at(10_000), { ok: true, wait: 0, remaining: 2, reset: 100 })
})

t('a fractional clock never turns a whole second into two, nor a burst into one less', () => {
  // (now + 1000) − now is 1000.0000000000036 at this now: computed so, a reset of 1 s would round up to 2.
  const now = 31788.11820874894
  const s = new LocalStore(100)
  const v = s.take([ask('k', rate(1000, 4))], now)[0]
  assert.equal(v, { ok: true, wait: 0, remaining: 4, reset: 1000 })
  const third = rate(1000 / 3, 2)
  assert.is(s.take([ask('t', third)], 16276.198270131159)[0].remaining, 2)
})

t('reject with burst 0: one per interval exactly', () => {
  const s = new LocalStore(100)
  const p = rate(5, 0) // 200/s
  let admitted = 0
  for (let now = 0; now < 1000; now += 0.5) if (s.take([ask('k', p)], now)[0].ok) admitted++
  assert.is(admitted, 200, 'offered 2000/s for 1 s at 200/s')
})

t('delay: at most burst wait, each at its turn; more are refused', () => {
  const s = new LocalStore(100)
  const p = rate(100, 2, true)
  const at = (now: number) => s.take([ask('k', p)], now)[0]
  assert.equal(at(0), { ok: true, wait: 0, remaining: 2, reset: 100 })
  assert.equal(at(0), { ok: true, wait: 100, remaining: 1, reset: 200 })
  assert.equal(at(0), { ok: true, wait: 200, remaining: 0, reset: 300 })
  assert.equal(at(0), { ok: false, wait: 100, remaining: 0, reset: 300 })
  assert.equal(at(150), { ok: true, wait: 150, remaining: 0, reset: 250 })
})

t('all or nothing: a refusal by one limit spends nothing of another; dry runs commit alone', () => {
  const s = new LocalStore(100)
  const wide = rate(10, 100)
  const narrow = rate(1000, 0)
  assert.ok(s.take([ask('n', narrow)], 0)[0].ok)
  const [w, n] = s.take([ask('w', wide), ask('n', narrow)], 0)
  assert.is(n.ok, false)
  assert.is(w.ok, true, 'the wide limit would admit')
  assert.is(s.take([ask('w', wide)], 0)[0].remaining, 100, 'but spent nothing: its whole burst (101) minus this one')
  const [d, n2] = s.take([ask('d', narrow, true), ask('n', narrow)], 0)
  assert.is(n2.ok, false)
  assert.is(d.ok, true)
  assert.is(s.take([ask('d', narrow, true)], 0)[0].ok, false, 'the dry-run ask committed on its own verdict')
})

t('peek judges without committing', () => {
  const s = new LocalStore(100)
  const p = rate(1000, 0)
  assert.ok(s.take([ask('k', p, false, true)], 0)[0].ok)
  assert.ok(s.take([ask('k', p, false, true)], 0)[0].ok)
  assert.ok(s.take([ask('k', p)], 0)[0].ok)
  assert.is(s.take([ask('k', p, false, true)], 0)[0].ok, false)
})

t('inflight: max places, given back by release', () => {
  const s = new LocalStore(100)
  const p: Policy = { kind: 'inflight', max: 2 }
  assert.equal(s.take([ask('k', p)], 0)[0], { ok: true, wait: 0, remaining: 1, reset: 0 })
  assert.ok(s.take([ask('k', p)], 0)[0].ok)
  assert.is(s.take([ask('k', p)], 0)[0].ok, false)
  s.release('k')
  assert.ok(s.take([ask('k', p)], 0)[0].ok)
  s.release('k'); s.release('k'); s.release('k')
  assert.is(s.take([ask('k', p)], 0)[0].remaining, 1, 'a release too many does not go below zero')
})

t('max_keys: keys least recently admitted go first, a generation at a time; evictions of live keys are counted', () => {
  const s = new LocalStore(4) // two generations of two keys
  const p = rate(1_000_000, 0)
  const now = performance.now()
  s.take([ask('a', p)], now)
  s.take([ask('b', p)], now) // young {a, b} is full: it becomes the old generation
  s.take([ask('c', p)], now)
  s.take([ask('a', rate(1_000_000, 5))], now) // a, read from the old generation, admitted again: young {c, a}, full
  assert.is(s.evicted, 1, 'b went with the old generation, its TAT still ahead')
  s.take([ask('d', p)], now)
  assert.is(s.size, 3)
  assert.is(s.take([ask('c', p)], now)[0].ok, false, 'c is still there, its debt kept')
  assert.is(s.take([ask('b', p)], now)[0].ok, true, 'b was dropped: it starts afresh')
})

t('a key refused on and on keeps its debt: a flood of new keys does not push it out', () => {
  const s = new LocalStore(10)
  const spent = rate(1_000_000, 0)
  const now = performance.now()
  assert.ok(s.take([ask('debtor', spent)], now)[0].ok)
  for (let i = 0; i < 1000; i++) {
    s.take([ask(`fresh${i}`, spent)], now)
    assert.is(s.take([ask('debtor', spent)], now)[0].ok, false, `after ${i + 1} new keys`)
  }
})

t('max_keys bounds the keys whatever comes: 100,000 distinct keys through a bound of 1,000', () => {
  const s = new LocalStore(1000)
  const p = rate(10, 0)
  let most = 0
  for (let i = 0; i < 100_000; i++) {
    s.take([ask(`k${i}`, p)], i / 100)
    most = Math.max(most, s.size)
  }
  assert.ok(most <= 1000, `held ${most}`)
  assert.ok(s.size >= 500, 'the young generation at least')
})

t.run()
