// Which store a rate_limit gets, and its life: a Redis store a reload drops stays open while the
// exchanges of the old config may still hold its leases (closed at once, their releases failed and
// the places stayed held 300 s); closeStores ends them all. And the fields' numbers stay sf-integers.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { closeStores, pruneStores, storeFor } from '../../../src/filters/rate-limit/stores.js'
import { RedisStore } from '../../../src/filters/rate-limit/redis-store.js'
import { stateItem } from '../../../src/filters/rate-limit/fields.js'
import { validate } from '../../../src/config/validate.js'
import { sleep, waitFor } from '../../support/harness.js'
import { RedisServer } from '../../support/redis.js'

const t = suite('rate limit: stores and fields')
let redis: RedisServer

t.before(async () => { redis = await RedisServer.start() })
t.after(async () => { await closeStores(); await redis.close() })

t('a Redis store dropped by a reload stays open for its leases; closeStores closes it', async () => {
  const cfg = { redis: { url: redis.url, prefix: 'prune:', timeout: 50, on_error: 'allow' as const } }
  const config = validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } })
  const s = storeFor(cfg, null, config) as RedisStore
  await waitFor(() => s.up, 3000, 'the store to reach Redis')
  const held = await s.take([{ key: 'conc', policy: { kind: 'inflight', max: 1 }, dry: false }])
  assert.ok(held[0].ok)
  await pruneStores(config) // the new config names no Redis store
  await sleep(100)
  assert.ok(s.up, 'still open after the reload')
  s.release('conc') // an exchange of the old config ends: its place goes back through the old store
  await sleep(100)
  const again = await s.take([{ key: 'conc', policy: { kind: 'inflight', max: 1 }, dry: false }])
  assert.ok(again[0].ok, 'the place was given back')
  assert.is.not(storeFor(cfg, null, config), s, 'a config that names it again gets a new store')
  await closeStores()
  await sleep(50)
  assert.not.ok(s.up, 'closed at shutdown')
})

t('t is an sf-integer: at most 15 digits (RFC 9651 §3.3.1)', () => {
  const l = validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', rate_limit: { limits: [{ name: 'x', key: 'global', rate: '1/1000000d' }] } }] })
    .routes[0].features.rate_limit!.limits[0]
  assert.is(stateItem(l, { ok: false, wait: 1e18, remaining: 0, reset: 1e21 }), '"x";r=0;t=999999999999999')
})

t.run()
