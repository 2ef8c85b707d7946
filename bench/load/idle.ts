/**
 * Memory per idle keep-alive client connection (issue 5): N client connections (BENCH_IDLE_CONNS,
 * 10,000) are opened to the proxy and left idle, and the proxy's RSS is read from /proc before and
 * after. Two steps on the same connections:
 *   1. "connected": the TCP connections are accepted, no byte sent;
 *   2. "after 1 request": each has sent one GET through to the peer and read its response, and
 *      now waits in keep-alive (what a browser's spare connection looks like).
 * Bytes per connection = RSS growth over the baseline (taken after warm-up traffic, see measureIdle)
 * / N. The designs: rawproxy, and nginx with one worker (bench/load/nginx-idle.conf) when nginx is
 * installed (bench/run.sh idle installs it).
 * Only 127.0.0.1 is used; every socket and process is closed at the end.
 */
import { connect, Socket } from 'node:net'
import { readFileSync } from 'node:fs'

/** Resident set size of `pid` in bytes (VmRSS in /proc/PID/status). */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

export interface IdleResult {
  design: string
  conns: number
  baseline: number
  connected: number
  afterRequest: number
}

const WARM_CONNS = 250
const WARM_REQUESTS = 40
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n', 'latin1')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function open(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.removeListener('error', fail); ok(s) })
    s.once('error', fail)
  })
}

/** One request on `s`, resolved when a whole response (the peer's 12-byte body) has arrived. */
function request(s: Socket): Promise<void> {
  return new Promise((ok, fail) => {
    let got = ''
    const onData = (d: Buffer): void => {
      got += d.toString('latin1')
      if (got.endsWith('hello world\n')) {
        s.removeListener('data', onData).removeListener('error', fail)
        if (!got.startsWith('HTTP/1.1 200')) fail(new Error(`bad response: ${got.slice(0, 40)}`))
        else ok()
      }
    }
    s.on('data', onData).once('error', fail)
    s.write(REQUEST)
  })
}

/** Runs `f` over `items`, at most `width` at a time (10,000 connects at once would overflow the backlog). */
async function batched<T>(items: T[], width: number, f: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(f))
}

/** Settles, then reads RSS: the proxy's allocations of the last step are done and its GC has had a turn. */
async function settled(pid: number): Promise<number> {
  await sleep(1500)
  return rss(pid)
}

/**
 * Measures one design listening on `port` whose process is `pid`. Warm-up traffic first (WARM_CONNS
 * connections, WARM_REQUESTS requests each, then closed), so that the baseline already holds what
 * serving requests costs once, whatever the number of connections: compiled code, pools, and a
 * garbage-collected heap grown to its working size under load (without it, V8's young generation
 * growing during the measured step showed as ~3 KiB "per connection").
 */
export async function measureIdle(design: string, port: number, pid: number, conns: number): Promise<IdleResult> {
  const warm = await Promise.all(Array.from({ length: WARM_CONNS }, () => open(port)))
  await Promise.all(warm.map(async (s) => { for (let i = 0; i < WARM_REQUESTS; i++) await request(s) }))
  for (const s of warm) s.destroy()
  const baseline = await settled(pid)
  const socks: Socket[] = []
  try {
    await batched(Array.from({ length: conns }, (_, i) => i), 250, async () => { socks.push(await open(port)) })
    const connected = await settled(pid)
    await batched(socks, 250, request)
    const afterRequest = await settled(pid)
    return { design, conns, baseline, connected, afterRequest }
  } finally {
    for (const s of socks) s.destroy()
  }
}

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`

/** The result as Markdown rows (also printed). */
export function idleTable(rows: IdleResult[]): string {
  const lines = [
    '| design | connections | RSS before | RSS connected | RSS after 1 request each | per connection, connected | per connection, after 1 request |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of rows) {
    lines.push(`| ${r.design} | ${r.conns.toLocaleString('en-US')} | ${mib(r.baseline)} | ${mib(r.connected)} | ${mib(r.afterRequest)} | ` +
      `${kib((r.connected - r.baseline) / r.conns)} | ${kib((r.afterRequest - r.baseline) / r.conns)} |`)
  }
  return lines.join('\n')
}
