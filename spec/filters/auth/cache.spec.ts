import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CredentialCache, CACHE_SIZE } from '../../../src/filters/auth/cache.js'

const t = suite('auth cache')

const value = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`

t('a hit after add gives the user and the stored hash; another value misses', () => {
  const c = new CredentialCache()
  assert.is(c.get(c.key(value('bob', 'pw'))), undefined)
  c.add(c.key(value('bob', 'pw')), 'bob', 'H')
  assert.equal(c.get(c.key(value('bob', 'pw'))), { user: 'bob', hash: 'H' })
  assert.is(c.get(c.key(value('bob', 'pw2'))), undefined)
  assert.is(c.get(c.key(value('bob', 'PW'))), undefined)
  assert.is(c.get(c.key(value('alice', 'pw'))), undefined)
  assert.is(c.get(c.key(`basic ${value('bob', 'pw').slice(6)}`)), undefined, 'another spelling is another key (verified on its own)')
  assert.is(c.size, 1)
  c.add(c.key(value('bob', 'pw')), 'bob', 'H2')
  assert.is(c.size, 1, 'adding again is one entry')
  assert.equal(c.get(c.key(value('bob', 'pw'))), { user: 'bob', hash: 'H2' })
})

t('bounded: entries not used for a generation go first, recently used ones stay', () => {
  const c = new CredentialCache(4) // two generations of two
  c.add(c.key(value('a', 'pw')), 'a', 'H')
  c.add(c.key(value('b', 'pw')), 'b', 'H') // young full: a, b become the old generation
  c.add(c.key(value('c', 'pw')), 'c', 'H')
  // a is used: it moves to the young generation, which is full again (c, a) and turns old; b, left
  // behind in the former old generation, is dropped.
  assert.ok(c.get(c.key(value('a', 'pw'))))
  assert.is(c.get(c.key(value('b', 'pw'))), undefined, 'b, never used again, went first')
  assert.ok(c.get(c.key(value('c', 'pw'))))
  assert.ok(c.size <= 4)
  const big = new CredentialCache()
  for (let i = 0; i < CACHE_SIZE * 3; i++) big.add(big.key(value(`u${i}`, 'pw')), `u${i}`, 'H')
  assert.ok(big.size <= CACHE_SIZE, `size ${big.size}`)
  assert.is(big.get(big.key(value('u0', 'pw'))), undefined)
  assert.ok(big.get(big.key(value(`u${CACHE_SIZE * 3 - 1}`, 'pw'))))
  big.clear()
  assert.is(big.size, 0)
})

t('an entry used all along survives any number of others', () => {
  const c = new CredentialCache(8)
  c.add(c.key(value('hot', 'pw')), 'hot', 'H')
  for (let i = 0; i < 100; i++) {
    c.add(c.key(value(`cold${i}`, 'pw')), `cold${i}`, 'H')
    assert.ok(c.get(c.key(value('hot', 'pw'))), `round ${i}`)
  }
})

t('each cache has its own random key: an entry of one is no entry of another', () => {
  const a = new CredentialCache()
  const b = new CredentialCache()
  a.add(a.key(value('bob', 'hunter2')), 'bob', 'H')
  assert.ok(a.get(a.key(value('bob', 'hunter2'))))
  assert.is(b.get(b.key(value('bob', 'hunter2'))), undefined)
})

t.run()
