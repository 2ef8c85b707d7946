/**
 * What the soak watches in the proxy process, every few seconds: RSS and open file descriptors from
 * /proc/PID, heap in use and the event-loop delay from its admin /metrics (src/admin/process-metrics.ts:
 * nodejs_heap_size_used_bytes, nodejs_eventloop_delay_seconds, a cumulative histogram whose sum and
 * count give the mean delay of each interval). And the verdict: none of them grew past the allowed
 * share after warm-up, comparing medians of the first and last windows (robust to GC's sawtooth).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { cpus, loadavg } from 'node:os'

export interface Sample {
  /** Seconds since the start. */
  t: number
  rssMb: number
  heapMb: number
  fds: number
  /** Mean event-loop delay over the interval, ms. */
  loopMs: number
  /** Requests answered (any status) over the interval, per second. */
  rps: number
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) / 1024
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve(body))
    })
    req.on('timeout', () => req.destroy(new Error('metrics timed out')))
    req.on('error', reject)
    req.end()
  })
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)
  return m === null ? NaN : Number(m[1])
}

export class Sampler {
  readonly samples: Sample[] = []
  #loopSum = 0
  #loopCount = 0
  #answered = 0
  #at = Date.now()
  readonly #start = Date.now()

  constructor(readonly pid: () => number, readonly adminPort: number, readonly answered: () => number) {}

  async take(): Promise<Sample> {
    const text = await get(this.adminPort, '/metrics')
    const pid = this.pid()
    const sum = metric(text, 'nodejs_eventloop_delay_seconds_sum')
    const count = metric(text, 'nodejs_eventloop_delay_seconds_count')
    const now = Date.now()
    const done = this.answered()
    const s: Sample = {
      t: Math.round((now - this.#start) / 1000),
      rssMb: rss(pid),
      heapMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      fds: fds(pid),
      loopMs: count > this.#loopCount ? ((sum - this.#loopSum) / (count - this.#loopCount)) * 1000 : 0,
      rps: (done - this.#answered) / ((now - this.#at) / 1000),
    }
    this.#loopSum = sum
    this.#loopCount = count
    this.#answered = done
    this.#at = now
    this.samples.push(s)
    return s
  }
}

export function row(s: Sample): string {
  return `| ${s.t} | ${s.rssMb.toFixed(1)} | ${s.heapMb.toFixed(1)} | ${s.fds} | ${s.loopMs.toFixed(2)} | ${Math.round(s.rps)} |`
}
export const HEADER = '| s | RSS MB | heap MB | fds | loop delay ms (mean) | req/s |\n|---:|---:|---:|---:|---:|---:|'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export interface Growth { what: string; first: number; last: number; limit: number; grew: boolean }

/**
 * Medians of the window after warm-up (`warm` share of the run, then the next `window` share) and of
 * the last `window` share; for the heap, the lowest sample of each window instead (what is left after
 * a collection: the heap in use swings by half between collections, a leak raises the floor). A
 * figure grew when the last is over the first by more than `share` and by more than its floor (a few
 * fds or a fraction of a millisecond are noise, not growth).
 */
export function growth(samples: Sample[], warm = 0.2, window = 0.2, share = 0.1): Growth[] {
  const n = samples.length
  const a = Math.floor(n * warm)
  const w = Math.max(1, Math.floor(n * window))
  const first = samples.slice(a, a + w)
  const last = samples.slice(n - w)
  const FLOOR: Record<string, number> = { rssMb: 4, heapMb: 2, fds: 8, loopMs: 2 }
  return (['rssMb', 'heapMb', 'fds', 'loopMs'] as const).map((k) => {
    const pick = k === 'heapMb' ? (xs: number[]) => Math.min(...xs) : median
    const f = pick(first.map((s) => s[k]))
    const l = pick(last.map((s) => s[k]))
    const limit = Math.max(f * (1 + share), f + FLOOR[k])
    return { what: k, first: f, last: l, limit, grew: l > limit }
  })
}

/** One line on where a run was made: the machine is shared, so its load is part of the figure. */
export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(', ')} (a shared machine: other people's work ran meanwhile)`
}
