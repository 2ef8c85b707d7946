/**
 * The memory bound of the rate limiter's memory store: 1,000,000 distinct client addresses, one
 * decision each, through a store of the default bound (`max_keys` 100,000) and of a bound of
 * 1,000,000. Prints RSS and heap growth after a full GC, and the bytes per key. Run with
 * `node --expose-gc dist/bench/micro/rate-limit-memory.js [max_keys] [no-head]` (bench/run.sh does,
 * once per bound, each in a fresh process).
 */
import { writeFileSync } from 'node:fs'
import { LocalStore } from '../../src/filters/rate-limit/local-store.js'
import type { Ask } from '../../src/filters/rate-limit/store.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')
const MB = 1024 * 1024

function measure(maxKeys: number, clients: number): { rss: number; heap: number; size: number; evicted: number } {
  gc!()
  const rss0 = process.memoryUsage().rss
  const heap0 = process.memoryUsage().heapUsed
  const s = new LocalStore(maxKeys)
  const policy = { kind: 'rate', interval: 10, burst: 5, delay: false } as const
  for (let i = 0; i < clients; i++) {
    // The key as the filter writes it (rate-limit.ts): scope, limit name, client address.
    const a: Ask[] = [{ key: `defaults\u0000per-client\u0000${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, policy, dry: false }]
    s.take(a)
  }
  gc!()
  const m = process.memoryUsage()
  return { rss: (m.rss - rss0) / MB, heap: (m.heapUsed - heap0) / MB, size: s.size, evicted: s.evicted }
}

// One bound per process (RSS that V8 took stays taken: a second measure would start above it).
const max = Number(process.argv[2] ?? 100_000)
const lines = process.argv[3] === 'no-head' ? [] : ['| max_keys | distinct clients | keys held | evicted while live | heap growth | RSS growth | heap per key |', '|---:|---:|---:|---:|---:|---:|---:|']
{
  const r = measure(max, 1_000_000)
  lines.push(`| ${max.toLocaleString('en-US')} | 1,000,000 | ${r.size.toLocaleString('en-US')} | ${r.evicted.toLocaleString('en-US')} | ${r.heap.toFixed(1)} MB | ${r.rss.toFixed(1)} MB | ${Math.round(r.heap * MB / r.size)} B |`)
}
const out = lines.join('\n')
console.log(out)
if (process.env.BENCH_MICRO_MD) writeFileSync(process.env.BENCH_MICRO_MD, (lines.length > 1 ? '\n### Rate limit: memory bound (1,000,000 distinct client addresses)\n\n' : '') + out + '\n', { flag: 'a' })
