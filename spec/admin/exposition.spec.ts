/**
 * The registry and the text format: slots, buckets, escaping, and the merge of several processes'
 * families (sum, worker, max), checked by the real promtool (Debian's prometheus package).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { CounterVec, HistogramVec, Registry, Buckets, collected } from '../../src/admin/registry.js'
import { merge, render } from '../../src/admin/exposition.js'
import { guard, httpUpstream, raw } from '../support/harness.js'
import { adminProxy, scrape } from '../support/admin.js'

const t = suite('metrics exposition')
const track = guard(t)

/** `promtool check metrics` on `text`: its exit code and what it said (lint problems, parse errors). */
function promtool(text: string): { code: number; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` }
}

t('promtool is installed (prometheus): these specs need the real tool', () => {
  assert.match(execFileSync('promtool', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) + '', /promtool/)
})

t('counters and histograms by slot; the text has HELP, TYPE, cumulative buckets, _sum and _count', () => {
  const r = new Registry()
  const c = r.add(new CounterVec('x_requests_total', 'Requests.', ['route']))
  const h = r.add(new HistogramVec('x_duration_seconds', 'Durations.', ['route'], [0.1, 1]))
  const a = c.slot('a')
  assert.is(c.slot('a'), a, 'one slot per label set')
  const b = c.slot('b "quoted" \\ \n')
  c.inc(a)
  c.values[a] += 2
  c.inc(b, 5)
  const s = h.slot('a')
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe(s, v)
  const text = render(r.read())
  assert.match(text, '# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\nx_requests_total{route="a"} 3\n')
  assert.match(text, 'x_requests_total{route="b \\"quoted\\" \\\\ \\n"} 5\n')
  assert.match(text, 'x_duration_seconds_bucket{route="a",le="0.1"} 2\nx_duration_seconds_bucket{route="a",le="1"} 3\nx_duration_seconds_bucket{route="a",le="+Inf"} 4\n')
  assert.match(text, 'x_duration_seconds_sum{route="a"} 3.65\nx_duration_seconds_count{route="a"} 4\n')
  assert.is(promtool(text).code, 0, promtool(text).out)
})

t('slots grow past the first allocation without losing counts', () => {
  const c = new CounterVec('y_total', 'Y.', ['n'])
  const h = new HistogramVec('y_seconds', 'Y.', ['n'])
  for (let i = 0; i < 100; i++) { c.inc(c.slot(String(i)), i); h.observe(h.slot(String(i)), i / 1000) }
  const counts = c.read().samples as { value: number }[]
  assert.is(counts[99].value, 99)
  assert.is((h.read().samples[99] as { count: number }).count, 1)
})

t('merge: sum adds by label set, worker keeps each process apart, max keeps one', () => {
  const part = (n: number) => [
    collected('m_total', 'counter', 'M.', ['k'], 'sum', () => [{ labels: ['a'], value: n }]),
    collected('m_bytes', 'gauge', 'M.', [], 'worker', () => [{ labels: [], value: n * 10 }]),
    collected('m_expiry', 'gauge', 'M.', [], 'max', () => [{ labels: [], value: 100 + n }]),
    collected('m_seconds', 'histogram', 'M.', [], 'sum', () => { const b = new Buckets([1]); b.observe(n); return [b.sample([])] }, [1]),
  ].map((f) => f.read())
  const text = render(merge([part(1), part(2)], ['primary', '1']))
  assert.match(text, 'm_total{k="a"} 3\n')
  assert.match(text, 'm_bytes{worker="primary"} 10\nm_bytes{worker="1"} 20\n')
  assert.match(text, 'm_expiry 102\n')
  assert.match(text, 'm_seconds_bucket{le="1"} 1\nm_seconds_bucket{le="+Inf"} 2\nm_seconds_sum 3\nm_seconds_count 2\n')
  assert.is(promtool(text).code, 0, promtool(text).out)
})

t('promtool check metrics passes on the real output of a proxy that served requests', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`], health: { interval: '1s' } } }, routes: [{ path: '/', upstream: 'u', rate_limit: { limits: [{ name: 'spec-promtool', key: 'client_ip', rate: '100/s' }] } }] }))
  for (let i = 0; i < 3; i++) await raw(ap.port, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const text = await scrape(ap.adminPort)
  const r = promtool(text)
  assert.is(r.code, 0, r.out)
  assert.is(r.out.trim(), '', `no lint problem: ${r.out}`)
  // And promtool does fail on a broken exposition (so the check above means something).
  assert.is.not(promtool(text.replace('# TYPE rawproxy_requests_total counter', '# TYPE rawproxy_requests_total histogram')).code, 0)
})

t.run()
