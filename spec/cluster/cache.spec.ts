// The cache in a cluster: each worker keeps its own memory store, so a purge (PURGE, or the purge
// function through the admin API) and an invalidation must reach every worker's entries.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { raw, tempFile, waitFor } from '../support/harness.js'
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

t.run()
