/**
 * A default never makes a setting written beside it invalid (issue 15): where two fields are held to
 * each other (a timeout within its interval, a cap above its base, an object within its store), the
 * one left out yields to the one written. Both written and at odds: refused with the path and reason.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { validate } from '../../src/config/validate.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { CACHE_DEFAULTS } from '../../src/config/cache.js'
import { refusedBy } from '../support/config.js'

const t = suite('config-defaults')

const up = (extra: Record<string, unknown>): Record<string, unknown> => ({ upstreams: { api: { peers: ['127.0.0.1:9000'], ...extra } } })
const group = (extra: Record<string, unknown>) => validate(up(extra)).upstreams.get('api')!
const route = (features: Record<string, unknown>) => validate({ ...up({}), routes: [{ upstream: 'api', ...features }] }).routes[0].features

t('health: interval alone, shorter than the default timeout, gets a timeout that fits', () => {
  assert.equal(pick(group({ health: { interval: '500ms' } }).health!), { interval: 500, timeout: 500 })
  assert.equal(pick(group({ health: { interval: '5s' } }).health!), { interval: 5000, timeout: DEFAULTS.health.timeout }, 'a longer one keeps the default')
})

t('health: timeout alone, longer than the default interval, gets an interval that fits', () => {
  assert.equal(pick(group({ health: { timeout: '3s' } }).health!), { interval: 3000, timeout: 3000 })
  assert.equal(pick(group({ health: { timeout: '200ms' } }).health!), { interval: DEFAULTS.health.interval, timeout: 200 })
})

t('health: both written and at odds is refused with the path', () => {
  refusedBy(() => validate(up({ health: { interval: '500ms', timeout: '1s' } })), 'upstreams.api.health.timeout: must not be longer than interval')
})

t('passive: ejection alone, longer than the default cap, raises the cap; max_ejection alone shorter than the default base lowers the base', () => {
  const long = group({ passive: { ejection: '10m' } }).passive
  assert.equal([long.ejection, long.max_ejection], [600_000, 600_000])
  const short = group({ passive: { max_ejection: '5s' } }).passive
  assert.equal([short.ejection, short.max_ejection], [5000, 5000])
  const plain = group({}).passive
  assert.equal([plain.ejection, plain.max_ejection], [DEFAULTS.passive.ejection, DEFAULTS.passive.max_ejection])
  refusedBy(() => validate(up({ passive: { ejection: '10m', max_ejection: '1m' } })), 'upstreams.api.passive.max_ejection: must not be shorter than ejection')
})

t('limits: max_target alone above the default head cap gets a head cap with room for the fields', () => {
  const big = validate({ ...up({}), limits: { max_target: 65536 } }).limits
  assert.equal([big.max_target, big.max_head], [65536, 65536 + DEFAULTS.limits.max_head - DEFAULTS.limits.max_target])
  const small = validate({ ...up({}), limits: { max_head: 4096 } }).limits
  assert.equal([small.max_head, small.max_target], [4096, 4096], 'a small head cap alone brings the target cap within it')
  assert.equal(validate(up({})).limits, DEFAULTS.limits)
  const both = validate({ ...up({}), limits: { max_head: 65536, max_target: 4096 } }).limits
  assert.equal([both.max_head, both.max_target], [65536, 4096], 'both written: taken as written')
  refusedBy(() => validate({ ...up({}), limits: { max_head: 4096, max_target: 65536 } }), 'limits.max_target: must not be larger than max_head (4096): a longer target is refused by max_head first, with 431 instead of 414')
})

t('cache: max_object_size alone above the default store size gets a store that holds it', () => {
  const mem = route({ cache: { max_object_size: '512m' } }).cache!
  assert.equal([mem.max_object_size, mem.store], [512 * 2 ** 20, { memory: { max_size: 512 * 2 ** 20 } }])
  const disk = route({ cache: { max_object_size: '2g', store: { disk: { path: '/tmp/rawproxy-defaults-spec' } } } }).cache!
  assert.equal(disk.store, { disk: { path: '/tmp/rawproxy-defaults-spec', max_size: 2 * 2 ** 30 } })
  const plain = route({ cache: true }).cache!
  assert.equal([plain.max_object_size, plain.store], [CACHE_DEFAULTS.max_object_size, { memory: { max_size: CACHE_DEFAULTS.max_size } }])
  const small = route({ cache: { store: { memory: { max_size: '1m' } } } }).cache!
  assert.is(small.max_object_size, 2 ** 20, 'a small store alone: the object cap within it')
  refusedBy(() => route({ cache: { max_object_size: '2m', store: { memory: { max_size: '1m' } } } }),
    `routes[0].cache.max_object_size: must not be larger than the store's max_size (${2 ** 20})`)
})

t('rate_limit: mode delay at a slow rate lets at least one request wait (a burst of 0 would delay none)', () => {
  const limits = route({ rate_limit: { limits: [
    { name: 'slow', key: 'client_ip', rate: '1/s', mode: 'delay' },
    { name: 'fast', key: 'client_ip', rate: '200/s', mode: 'delay' },
    { name: 'strict', key: 'client_ip', rate: '1/s', mode: 'delay', burst: 0 },
    { name: 'reject', key: 'client_ip', rate: '1/s' },
  ] } }).rate_limit!.limits
  assert.equal(limits.map((l) => [l.name, l.burst]), [['slow', 1], ['fast', 20], ['strict', 0], ['reject', 0]])
})

function pick(h: { interval: number; timeout: number }): { interval: number; timeout: number } {
  return { interval: h.interval, timeout: h.timeout }
}

t.run()
