/**
 * The cluster store for real: the CLI with `workers: 2`, whose workers' stores (the ClusterStore of
 * storeFor()) are driven from here through a fixture loaded into them (support/rate-limit-worker.ts),
 * so every take crosses the real IPC channel to the real primary, before the rate_limit filter does.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { sleep, tempFile } from '../support/harness.js'
import { CliProc, Started, twoWorkers } from '../support/cluster.js'
import { Control } from '../support/rate-limit-worker.js'
import type { Ask, Policy } from '../../src/filters/rate-limit/store.js'

const t = suite('cluster: the rate-limit store across workers')
const started = new Started()
let control: Control

/** A route whose memory store holds at most `maxKeys` keys (the primary's bound; the filter is not needed). */
const yaml = (maxKeys: number): string => twoWorkers(1, `routes:\n  - path: /\n    upstream: main\n    rate_limit: { limits: [{ name: all, key: global, rate: 1/s }], store: { memory: { max_keys: ${maxKeys} } } }\n`)

async function start(maxKeys = 1000, file = tempFile('rl.yaml')): Promise<CliProc> {
  writeFileSync(file, yaml(maxKeys))
  const p = started.cli(['--config', file], control.env())
  await p.started()
  return p
}

const rate = (perSec: number, burst = 0): Policy => ({ kind: 'rate', interval: 1000 / perSec, burst, delay: false })
const ask = (key: string, policy: Policy): Ask => ({ key, policy, dry: false })
const oks = (v: { ok: boolean }[][]): boolean[] => v.map((x) => x[0].ok)

t.before(async () => { control = await Control.open() })
t.after.each(() => started.stopAll())
t.after(() => control.close())

t('two workers keep one limit; a refusal is then answered in the worker, without IPC', async () => {
  await start()
  const [w1, w2] = [await control.worker(1), await control.worker(2)]
  const k = [ask('all\u0000global', rate(4, 1))] // 4/s, 2 at once

  const first = await w1.take(k, 2)
  assert.equal(oks(first.verdicts), [true, true])
  assert.is(first.sent, 1, 'two takes of one turn: one message')
  const refused = await w2.take(k)
  assert.equal(oks(refused.verdicts), [false], 'the other worker\'s takes count')
  assert.is(refused.sent, 1)
  const wait = refused.verdicts[0][0].wait
  assert.ok(wait > 0 && wait <= 250, `wait ${wait}`)

  const flood = await w2.take(k, 50)
  assert.is(flood.sync, 50, 'answered at once')
  assert.is(flood.sent, 0, 'no message')
  assert.ok(flood.verdicts.every((v) => !v[0].ok && v[0].remaining === 0 && v[0].wait > 0 && v[0].wait <= wait))
  assert.is(flood.cached, 50)
  assert.is((await w1.take(k)).sent, 1, 'worker 1 has no refusal cached: it asks')

  await sleep(wait + 10)
  const after = await w2.take(k)
  assert.equal(oks(after.verdicts), [true], 'once the wait is over, the primary admits again')
  assert.is(after.sent, 1)
})

t('the inflight places of a worker that crashes, or is replaced, are given back', async () => {
  const p = await start()
  const w1 = await control.worker(1)
  const w2 = await control.worker(2)
  const busy = [ask('uploads\u0000u1', { kind: 'inflight', max: 2 })]
  assert.equal(oks((await w1.take(busy, 2)).verdicts), [true, true])
  assert.equal(oks((await w2.take(busy)).verdicts), [false])

  let from = p.err.length
  process.kill(w1.pid, 'SIGKILL')
  await p.line(/error worker crashed worker=1/, 3000, from)
  assert.equal(oks((await w2.take(busy, 3)).verdicts), [true, true, false], 'worker 1\'s two places are free')

  // Worker 2 holds two places. A release frees one it holds; one it does not hold frees nothing, not
  // even the place the new worker 1 holds.
  await w2.release('uploads\u0000u1')
  const w1b = await control.worker(1, w1.pid)
  assert.equal(oks((await w1b.take(busy)).verdicts), [true])
  await w2.release('uploads\u0000u1', 'uploads\u0000u1')
  assert.equal(oks((await w2.take(busy, 2)).verdicts), [true, false], 'worker 1 still holds its place')

  // Worker 2 stopped alone (SIGTERM): gone gracefully, its exchanges never released; replaced.
  from = p.err.length
  process.kill(w2.pid, 'SIGTERM')
  await p.line(/warn worker exited worker=2/, 3000, from)
  assert.equal(oks((await w1b.take(busy, 2)).verdicts), [true, false], 'worker 2\'s place is free')
  await control.worker(2, w2.pid) // the replacement is up before the stop
})

t('fail open: while the primary does not answer, takes are admitted after 1 s, marked and counted', async () => {
  const p = await start()
  const w1 = await control.worker(1)
  const w2 = await control.worker(2)
  const k = [ask('all\u0000global', rate(1))]
  const one = [ask('uploads\u0000u1', { kind: 'inflight', max: 1 })]
  assert.equal(oks((await w1.take(k)).verdicts), [true])
  process.kill(p.child.pid!, 'SIGSTOP')
  let blind
  const began = Date.now()
  try {
    blind = await w1.take([...k, ...one], 2)
  } finally {
    process.kill(p.child.pid!, 'SIGCONT')
  }
  const took = Date.now() - began
  assert.ok(took >= 990 && took < 2000, `answered after ${took} ms`)
  assert.equal(oks(blind.verdicts), [true, true], 'admitted blind')
  assert.equal(blind.fault, [true, true])
  assert.is(blind.faults, 2)
  await sleep(100) // the primary's late answer, and the release it brings about
  // The primary answers again. Its late answer (k refused; the place taken once, refused once)
  // resolved nothing twice, cached nothing, and gave back the place it took for a blind request.
  const next = await w1.take(k)
  assert.equal(oks(next.verdicts), [false])
  assert.equal(next.fault, [false])
  assert.is(next.sent, 1)
  assert.is(next.faults, 2)
  assert.equal(oks((await w2.take(one)).verdicts), [true], 'the place is free')
  // The two blind requests end: their releases stay in worker 1, and free nothing of worker 2's.
  assert.is((await w1.release('uploads\u0000u1', 'uploads\u0000u1')).sent, 0)
  assert.equal(oks((await w2.take(one)).verdicts), [false])
})

t('the counters survive a reload; max_keys follows the config', async () => {
  const file = tempFile('rl.yaml')
  const p = await start(2, file)
  const w1 = await control.worker(1)
  const w2 = await control.worker(2)
  const slow = rate(1 / 3600)
  const take = async (w: typeof w1, key: string): Promise<boolean> => (await w.take([ask(key, slow)])).verdicts[0][0].ok
  assert.ok(await take(w1, 'a'))
  assert.ok(await take(w1, 'b'))
  assert.ok(await take(w1, 'c'), 'a third key: the oldest generation goes')
  assert.ok(await take(w1, 'a'), 'a was forgotten: max_keys 2 (two generations of one key)')

  writeFileSync(file, yaml(10))
  const from = p.err.length
  p.child.kill('SIGHUP')
  await p.line(/info reloaded/, 5000, from)
  for (const key of ['d', 'e', 'f']) assert.ok(await take(w1, key))
  assert.not.ok(await take(w2, 'a'), 'a is still counted: the same store, now bound by 10')
  assert.not.ok(await take(w2, 'f'))
})

t.run()
