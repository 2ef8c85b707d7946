/**
 * The process's own metrics, under the names Prometheus client libraries use for them (process_*,
 * nodejs_*), so existing dashboards read them: memory, open file descriptors, start time, garbage
 * collection time and the event loop's delay. Kept per process (`worker` label in a cluster).
 *
 * The event-loop delay comes from perf_hooks.monitorEventLoopDelay (an HDR histogram sampled every
 * 10 ms by libuv): at each scrape its percentiles are folded into our fixed buckets and it is reset,
 * so the family is a true cumulative histogram however often it is scraped.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks'
import { readdirSync } from 'node:fs'
import { Buckets, collected, type Family } from './registry.js'

/** 1 ms to 10 s: a healthy loop stays in the first buckets; a blocked one shows in the last. */
const LOOP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

const RESOLUTION_MS = 10
let loop: IntervalHistogram | null = null
const loopBuckets = new Buckets(LOOP_BUCKETS)
let gcSeconds = 0
let gcObserver: PerformanceObserver | null = null
const startTime = Math.round(Date.now() / 1000 - process.uptime())

/** The histogram records each timer interval whole (ns): the delay is what passed beyond the resolution. */
function delay(ns: number): number {
  return Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000
}

/** Folds what the HDR histogram holds since the last scrape into the buckets, then resets it. */
function foldLoop(): void {
  const h = loop!
  const n = h.count
  if (n === 0) return
  // percentiles: percentile → value (ns) at which that share of samples lies; a bucket takes the
  // samples up to the largest percentile whose value is within its bound.
  const points = [...h.percentiles].sort((a, b) => a[0] - b[0])
  let taken = 0
  for (let i = 0; i < LOOP_BUCKETS.length; i++) {
    let pct = 0
    for (const [p, v] of points) if (delay(v) <= LOOP_BUCKETS[i]) pct = p
    const upTo = Math.round((n * pct) / 100)
    if (upTo > taken) { loopBuckets.counts[i] += upTo - taken; taken = upTo }
  }
  loopBuckets.counts[LOOP_BUCKETS.length] += n - taken
  loopBuckets.sum += delay(h.mean) * n
  loopBuckets.count += n
  h.reset()
}

function openFds(): number {
  try { return readdirSync('/proc/self/fd').length - 1 } catch { return 0 } // less the fd readdir itself held
}

/** Starts the event-loop and GC watchers (once per process) and returns the families. */
export function processFamilies(): Family[] {
  if (loop === null) {
    loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    loop.enable()
    gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcSeconds += e.duration / 1000 })
    gcObserver.observe({ entryTypes: ['gc'] })
  }
  return [
    collected('process_resident_memory_bytes', 'gauge', 'Resident set size.', [], 'worker', () => [{ labels: [], value: process.memoryUsage.rss() }]),
    collected('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use.', [], 'worker', () => [{ labels: [], value: process.memoryUsage().heapUsed }]),
    collected('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap allocated.', [], 'worker', () => [{ labels: [], value: process.memoryUsage().heapTotal }]),
    collected('process_open_fds', 'gauge', 'Open file descriptors (sockets included).', [], 'worker', () => [{ labels: [], value: openFds() }]),
    collected('process_start_time_seconds', 'gauge', 'When the process started, seconds since the epoch.', [], 'worker', () => [{ labels: [], value: startTime }]),
    collected('nodejs_gc_duration_seconds_total', 'counter', 'Time spent in garbage collection.', [], 'worker', () => [{ labels: [], value: gcSeconds }]),
    collected('nodejs_eventloop_delay_seconds', 'histogram', 'Event-loop delay, sampled every 10 ms.', [], 'worker', () => { foldLoop(); return [loopBuckets.sample([])] }, LOOP_BUCKETS),
  ]
}

/** Stops the watchers (a process that exits cleanly, or a spec). */
export function stopProcessWatch(): void {
  loop?.disable()
  gcObserver?.disconnect()
  loop = null
  gcObserver = null
}
