import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { CredentialCache, CACHE_SIZE } from '../../../src/filters/auth/cache.js'
import { readHtpasswd } from '../../../src/config/htpasswd.js'
import { tempFile } from '../../support/harness.js'
import { sshaOf } from './tools.js'

const t = suite('auth cache')

t('a hit after add; a miss for another password, user or hash', () => {
  const c = new CredentialCache()
  assert.not.ok(c.has('bob', 'pw', 'H'))
  c.add('bob', 'pw', 'H')
  assert.ok(c.has('bob', 'pw', 'H'))
  assert.not.ok(c.has('bob', 'pw2', 'H'))
  assert.not.ok(c.has('bob', 'PW', 'H'))
  assert.not.ok(c.has('alice', 'pw', 'H'))
  assert.not.ok(c.has('bob', 'pw', 'H2'))
  assert.is(c.size, 1)
  c.add('bob', 'pw', 'H')
  assert.is(c.size, 1, 'adding again is one entry')
})

t('the fields cannot run into each other', () => {
  const c = new CredentialCache()
  c.add('a:b', 'c', 'H')
  assert.not.ok(c.has('a', 'b:c', 'H'))
  assert.not.ok(c.has('a:', 'bc', 'H'))
  c.add('1', '2', '3')
  assert.not.ok(c.has('1', '23', ''))
  assert.not.ok(c.has('12', '', '3'))
  assert.not.ok(c.has('1', '', '23'))
})

t('bounded: the least recently used entry goes first', () => {
  const c = new CredentialCache(3)
  c.add('a', 'pw', 'H')
  c.add('b', 'pw', 'H')
  c.add('c', 'pw', 'H')
  assert.ok(c.has('a', 'pw', 'H')) // a is now the most recent
  c.add('d', 'pw', 'H')
  assert.is(c.size, 3)
  assert.not.ok(c.has('b', 'pw', 'H'), 'b was the least recently used')
  assert.ok(c.has('a', 'pw', 'H'))
  assert.ok(c.has('c', 'pw', 'H'))
  assert.ok(c.has('d', 'pw', 'H'))
  const big = new CredentialCache()
  for (let i = 0; i < CACHE_SIZE + 10; i++) big.add(`u${i}`, 'pw', 'H')
  assert.is(big.size, CACHE_SIZE)
  assert.not.ok(big.has('u9', 'pw', 'H'))
  assert.ok(big.has('u10', 'pw', 'H'))
  big.clear()
  assert.is(big.size, 0)
})

t('a password changed in the file (then a reload) never hits the old entry', () => {
  const file = tempFile('users')
  writeFileSync(file, `bob:${sshaOf('old')}\n`)
  const c = new CredentialCache()
  const before = readHtpasswd(file, 'a').get('bob')!
  c.add('bob', 'old', before.hash) // what the filter does after a successful verification
  assert.ok(c.has('bob', 'old', before.hash))
  writeFileSync(file, `bob:${sshaOf('new')}\n`)
  const after = readHtpasswd(file, 'a').get('bob')!
  assert.not.ok(c.has('bob', 'old', after.hash), 'the old password')
  assert.not.ok(c.has('bob', 'new', after.hash), 'not verified yet')
})

t('each cache has its own random key: an entry of one is no entry of another', () => {
  const a = new CredentialCache()
  const b = new CredentialCache()
  a.add('bob', 'hunter2', 'H')
  assert.ok(a.has('bob', 'hunter2', 'H'))
  assert.not.ok(b.has('bob', 'hunter2', 'H'))
})

t.run()
