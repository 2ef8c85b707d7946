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

t('a callback that throws does not stall the other deadlines of its duration', async () => {
  const errors: unknown[] = []
  const onError = (e: unknown): void => { errors.push(e) }
  process.on('uncaughtException', onError)
  try {
    let later = 0
    new Deadline(37, () => { throw new Error('a bug') }).arm()
    await sleep(10)
    new Deadline(37, () => later++).arm() // same lane, due after the throwing one
    await sleep(120)
    assert.is(errors.length, 1)
    assert.is(later, 1, 'the next deadline of the lane still fired')
  } finally {
    process.off('uncaughtException', onError)
  }
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

t('deadlines of one duration share a lane: each fires once, in the order last armed, and may re-arm itself', async () => {
  const order: string[] = []
  let again = true
  const a = new Deadline(40, () => order.push('a'))
  const b = new Deadline(40, () => order.push('b'))
  const c: Deadline = new Deadline(40, () => { order.push('c'); if (again) { again = false; c.arm() } })
  const other = new Deadline(15, () => order.push('other'))
  a.arm(); b.arm(); c.arm()
  await sleep(10)
  a.arm() // now the last of the lane
  other.arm()
  b.disarm()
  await sleep(150)
  assert.equal(order, ['other', 'c', 'a', 'c'])
})

t.run()
