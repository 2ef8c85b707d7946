// The cache in a cluster: each worker keeps its own memory store, so a purge (PURGE, or the purge
// function through the admin API) and an invalidation must reach every worker's entries.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { raw, tempFile, waitFor, deadPort } from '../support/harness.js'
import { BEARER, TOKEN, call } from '../support/admin.js'
import { Started, getOnce, twoWorkers } from '../support/cluster.js'
import { Origin } from '../filters/cache/origin.js'

const t = suite('cluster: the cache in every worker')
let origin: Origin
const started = new Started()

t.before(async () => { origin = await Origin.start() })
t.after.each(() => started.stopAll())
t.after(async () => { await origin.close() })

const send = (port: number, method: string, path: string): Promise<string> =>
  raw(port, `${method} ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, { ms: 5000 }).then((r) => r.text)

t('PURGE on one worker and a POST on one worker drop the entries of both', async () => {
  for (const p of ['/a', '/b']) origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
  const cfg = twoWorkers(origin.port, 'routes:\n  - { upstream: main, cache: { purge: { allow: [127.0.0.1/32] } } }\n')
  const port = await started.config(cfg, tempFile('cache.yaml')).started()
  // New connections go round-robin to the two workers: each stores its own copy.
  const fill = async (p: string): Promise<void> => { for (let i = 0; i < 6; i++) assert.match(await getOnce(port, p), /^HTTP\/1\.1 200 /) }
  await fill('/a')
  await fill('/b')
  assert.is(origin.count('/a'), 2)
  assert.is(origin.count('/b'), 2)
  assert.match(await send(port, 'PURGE', '/a'), /^HTTP\/1\.1 200 /)
  await new Promise((r) => setTimeout(r, 100))
  await fill('/a')
  assert.is(origin.count('/a'), 4, 'each worker fetched /a again')
  await send(port, 'POST', '/b')
  await waitFor(() => origin.count('/b') === 3, 2000, 'the POST')
  await new Promise((r) => setTimeout(r, 100))
  await fill('/b')
  assert.is(origin.count('/b'), 5, 'each worker fetched /b again')
})

t('POST /cache/purge on the admin API (in the primary) reaches every worker', async () => {
  origin.on('/c', () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
  const admin = await deadPort()
  const cfg = twoWorkers(origin.port, `routes:\n  - { upstream: main, cache: {} }\nadmin: { listen: "127.0.0.1:${admin}", token: ${TOKEN} }\n`)
  const port = await started.config(cfg, tempFile('cache-admin.yaml')).started()
  const fill = async (): Promise<void> => { for (let i = 0; i < 6; i++) assert.match(await getOnce(port, '/c'), /^HTTP\/1\.1 200 /) }
  await fill()
  assert.is(origin.count('/c'), 2)
  const r = await call(admin, 'POST', `/cache/purge?url=${encodeURIComponent('http://t/c')}`, BEARER)
  assert.is(r.status, 202)
  assert.is(JSON.parse(r.body).workers, 2)
  await new Promise((done) => setTimeout(done, 100))
  await fill()
  assert.is(origin.count('/c'), 4, 'each worker fetched /c again')
})

t.run()
