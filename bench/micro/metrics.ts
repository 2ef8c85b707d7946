/**
 * The metrics registry, measured (issue 13): the cost of counting one finished exchange, the way
 * server/connection.ts does it (a request counter with route, upstream, status class, code and cause;
 * the duration and time-to-head histograms; bytes in and out), in three ways:
 *
 * - prom-client (pinned, devDependency), labels passed per call: what most Node services write;
 * - prom-client with the children cached once per route (`labels(...)` kept): its best case;
 * - ours (src/admin/route-stats.ts): slots resolved at config compile, typed-array increments.
 *
 * One op = 100 exchanges over 4 routes and 3 statuses. Every row reads the clock once per exchange,
 * as the proxy must. Prints the table; with BENCH_MICRO_MD set, appends it there as Markdown.
 *
 *   node dist/bench/micro/metrics.js          env: BENCH_MICRO_MS (time per task, default 1500)
 */
import { appendFileSync } from 'node:fs'
import { Bench } from 'tinybench'
import client from 'prom-client'
import { CounterVec, HistogramVec, DURATION_BUCKETS } from '../../src/admin/registry.js'
import { RouteStats, type Stored } from '../../src/admin/route-stats.js'
import type { Exchange } from '../../src/proxy/exchange.js'

const TIME_MS = Number(process.env.BENCH_MICRO_MS ?? 1500)
const N = 100
const ROUTES = ['*/api', '*/static', 'www.example.com/', '*/']
const STATUSES = [200, 200, 200, 304, 200, 404]

/** What RouteStats reads of an exchange. */
interface Fake { status: number; cause: string; startedAt: number; headMs: number; bytesIn: number; bytesOut: number }
const exchanges: Fake[] = Array.from({ length: N }, (_, i) => ({
  status: STATUSES[i % STATUSES.length], cause: '--', startedAt: performance.now() - 1.5, headMs: 1.2, bytesIn: i % 3 === 0 ? 120 : 0, bytesOut: 512,
}))

function classOf(s: number): string { return `${Math.floor(s / 100)}xx` }

function prom(): { perCall: () => void; cached: () => void } {
  const reg = new client.Registry()
  const requests = new client.Counter({ name: 'b_requests_total', help: 'h', labelNames: ['route', 'upstream', 'class', 'code', 'cause'], registers: [reg] })
  const duration = new client.Histogram({ name: 'b_duration_seconds', help: 'h', labelNames: ['route', 'upstream'], buckets: [...DURATION_BUCKETS], registers: [reg] })
  const head = new client.Histogram({ name: 'b_head_seconds', help: 'h', labelNames: ['route', 'upstream'], buckets: [...DURATION_BUCKETS], registers: [reg] })
  const bytesIn = new client.Counter({ name: 'b_in_bytes_total', help: 'h', labelNames: ['route', 'upstream'], registers: [reg] })
  const bytesOut = new client.Counter({ name: 'b_out_bytes_total', help: 'h', labelNames: ['route', 'upstream'], registers: [reg] })
  const perCall = (): void => {
    for (let i = 0; i < N; i++) {
      const x = exchanges[i]
      const route = ROUTES[i & 3]
      const code = x.status >= 400 ? String(x.status) : ''
      requests.inc({ route, upstream: 'u', class: classOf(x.status), code, cause: x.cause })
      duration.observe({ route, upstream: 'u' }, (performance.now() - x.startedAt) / 1000)
      head.observe({ route, upstream: 'u' }, x.headMs / 1000)
      if (x.bytesIn > 0) bytesIn.inc({ route, upstream: 'u' }, x.bytesIn)
      bytesOut.inc({ route, upstream: 'u' }, x.bytesOut)
    }
  }
  // The best case: a child per label set, found once (as a per-route slot would be).
  const kids = ROUTES.map((route) => ({
    byStatus: new Map(STATUSES.map((s) => [s, requests.labels(route, 'u', classOf(s), s >= 400 ? String(s) : '', '--')])),
    duration: duration.labels(route, 'u'), head: head.labels(route, 'u'), bytesIn: bytesIn.labels(route, 'u'), bytesOut: bytesOut.labels(route, 'u'),
  }))
  const cached = (): void => {
    for (let i = 0; i < N; i++) {
      const x = exchanges[i]
      const k = kids[i & 3]
      k.byStatus.get(x.status)!.inc()
      k.duration.observe((performance.now() - x.startedAt) / 1000)
      k.head.observe(x.headMs / 1000)
      if (x.bytesIn > 0) k.bytesIn.inc(x.bytesIn)
      k.bytesOut.inc(x.bytesOut)
    }
  }
  return { perCall, cached }
}

function ours(): () => void {
  const f: Stored = {
    requests: new CounterVec('b_requests_total', 'h', ['route', 'upstream', 'class', 'code', 'cause']),
    duration: new HistogramVec('b_duration_seconds', 'h', ['route', 'upstream']),
    head: new HistogramVec('b_head_seconds', 'h', ['route', 'upstream']),
    bytesIn: new CounterVec('b_in_bytes_total', 'h', ['route', 'upstream']),
    bytesOut: new CounterVec('b_out_bytes_total', 'h', ['route', 'upstream']),
    authFailures: new CounterVec('b_auth_total', 'h', ['route', 'reason']),
  }
  const stats = ROUTES.map((r) => new RouteStats(f, r, 'u'))
  return () => {
    for (let i = 0; i < N; i++) stats[i & 3].exchange(exchanges[i] as unknown as Exchange)
  }
}

async function main(): Promise<void> {
  const p = prom()
  const bench = new Bench({ time: TIME_MS, warmupTime: Math.min(500, TIME_MS / 3) })
  bench.add('prom-client 15.1.3, labels per call', p.perCall)
  bench.add('prom-client 15.1.3, children cached per route', p.cached)
  bench.add('ours: slots at compile, typed arrays', ours())
  const tasks = bench.runSync()
  const rows = tasks.map((t) => {
    if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state}`)
    const ns = (t.result.latency.mean * 1e6) / N
    return { registry: t.name, 'per exchange': `${ns.toFixed(0)} ns`, rme: `±${t.result.latency.rme.toFixed(1)}%` }
  })
  console.log(`metrics: the cost of counting one exchange (5 families), ${N} exchanges per op; node ${process.version}`)
  console.table(rows)
  const out = process.env.BENCH_MICRO_MD
  if (out !== undefined && out !== '') {
    appendFileSync(out, ['', '### Metrics registry (tinybench)', '', 'Counting one finished exchange: a request counter (route, upstream, class, code, cause), two duration histograms, bytes in and out.', '',
      '| registry | per exchange | rme |', '|---|---|---|', ...rows.map((r) => `| ${r.registry} | ${r['per exchange']} | ${r.rme} |`), ''].join('\n'))
  }
}

void main()
