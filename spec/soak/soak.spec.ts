/**
 * The short slice of the soak (`make soak` runs ten minutes): 35 s of every kind of traffic through
 * the CLI, plain and TLS, with reloads and peer kills. No crash, no client error outside what the
 * soak expects (bench/soak/traffic.ts), every kind of traffic succeeded, the reloads and restarts
 * happened, and the open file descriptors did not grow. RSS and heap are judged by `make soak` only:
 * 35 s is mostly warm-up. And the growth verdict itself can say "grew".
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { describeSoak, runSoak } from '../../bench/soak/soak.js'
import { growth, type Sample } from '../../bench/soak/sample.js'

const t = suite('soak')

t('35 s of mixed traffic with reloads and peer kills: no unexpected error, no crash, fds steady', async () => {
  const r = await runSoak({ durationMs: 35_000, sampleEvery: 1000, reloadEvery: 8000, peerEvery: 12_000, scale: 2 })
  const text = describeSoak(r)
  assert.is(r.crashes.length, 0, text)
  assert.is(r.unexpectedCount, 0, text)
  for (const kind of ['keep-alive', 'keep-alive tls', 'churn', 'churn tls', 'upload', 'upload tls', 'slow writer', 'slow reader']) {
    assert.ok((r.counts.get(`${kind} ok`) ?? 0) > 0, `${kind}: ${text}`)
  }
  assert.ok((r.counts.get('reset 502 (expected)') ?? 0) > 0, `a peer's reset is a 502: ${text}`)
  assert.ok(r.reloads >= 3, `reloads: ${text}`)
  assert.ok(r.peerRestarts >= 2, `peer restarts: ${text}`)
  assert.not.ok(r.growth.find((g) => g.what === 'fds')!.grew, text)
})

const at = (i: number, rss: number, heap: number): Sample => ({ t: i, rssMb: rss, heapMb: heap, fds: 40, loopMs: 1, rps: 100 })

t('growth: steady figures pass, a figure that climbs after warm-up is caught', () => {
  const flat = Array.from({ length: 50 }, (_, i) => at(i, 100 + (i % 3), 20 + (i % 5)))
  assert.not.ok(growth(flat).some((g) => g.grew))
  const leak = Array.from({ length: 50 }, (_, i) => at(i, 100 + i, 20 + i / 2))
  assert.equal(growth(leak).filter((g) => g.grew).map((g) => g.what), ['rssMb', 'heapMb'])
})

t.run()
