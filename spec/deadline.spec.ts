import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Deadline } from '../src/deadline.js'
import { sleep } from './support/harness.js'

const t = suite('deadline')

t('fires once, at the last deadline set, however often it was pushed back', async () => {
  const fired: number[] = []
  const start = performance.now()
  const d = new Deadline(60, () => fired.push(performance.now() - start))
  d.arm()
  for (let i = 0; i < 5; i++) { await sleep(20); d.arm() } // pushed back to ~100 + 60 ms
  await sleep(120)
  assert.is(fired.length, 1)
  assert.ok(fired[0] >= 155, `fired at ${fired[0]} ms, before the last deadline`)
  assert.ok(fired[0] < 260, `fired at ${fired[0]} ms, far past the deadline`)
})

t('disarm and cancel stop it; arm starts it again', async () => {
  let n = 0
  const d = new Deadline(20, () => n++)
  d.arm()
  d.disarm()
  await sleep(50)
  assert.is(n, 0)
  d.arm()
  await sleep(50)
  assert.is(n, 1)
  d.arm()
  d.cancel()
  await sleep(50)
  assert.is(n, 1)
})

t.run()
