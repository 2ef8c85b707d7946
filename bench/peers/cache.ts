/**
 * The cache section of bench-peers (issue 11, "Speed"): rawproxy with `cache: {}`, nginx with
 * `proxy_cache` and Varnish, each with its own store, served hits of 1 KiB and 64 KiB bodies; and the
 * miss path (the peer answers `Cache-Control: no-store`: the cache looks up, forwards, stores nothing)
 * against the plain proxy, 1 KiB. Same peer, same pinning, same wrk runs and measures as the matrix,
 * at 50 keep-alive connections (the matrix's key cell).
 *
 * Before a design is measured in a row, the runner checks it: a hit row asks twice and the second
 * answer must say hit (rawproxy: `Cache-Status` with `hit`; nginx and Varnish: `X-Cache: HIT`); a
 * miss row asks twice and the second must say forwarded (or, for the plain proxy, carry no cache
 * field). A design that fails is not measured in that row and the reason is printed and written to
 * the results. After the measured run a hit row is asked once more: an entry lost meanwhile (evicted,
 * expired) throws the figure away, since it was not all hits.
 */
import { get } from 'node:http'
import { CACHE_DESIGNS, CacheDesign, CacheVerdict } from './designs.js'
import { CacheResults, CacheRow, Result, cacheRowLabel } from './matrix.js'
import { Proc, freePort, ready, stop, tail } from '../load/procs.js'
import type { Run } from '../load/report.js'

/** wrk's connections in every row: the matrix's key cell (50 keep-alive). */
export const CACHE_CONNECTIONS = 50

const HIT_DESIGNS = ['rawproxy-cache', 'nginx-cache', 'varnish']

/** The rows, in order: hits of 1 KiB and 64 KiB, then the miss path of 1 KiB beside the plain proxy. */
export const CACHE_ROWS: readonly CacheRow[] = [
  { kind: 'hit', size: 1024, path: '/cache/1024', designs: HIT_DESIGNS },
  { kind: 'hit', size: 65536, path: '/cache/65536', designs: HIT_DESIGNS },
  { kind: 'miss', size: 1024, path: '/nostore/1024', designs: ['rawproxy', 'rawproxy-cache', 'nginx-cache', 'varnish'] },
]

export const CACHE_NAMES: readonly string[] = CACHE_DESIGNS.map((d) => d.name)

interface Answer { status: number; bytes: number; headers: Record<string, string | string[] | undefined> }

/** One GET on a new connection, the whole body read; fails after 5 s. */
export function probe(port: number, path: string): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let bytes = 0
      res.on('data', (d: Buffer) => { bytes += d.length }).on('end', () => ok({ status: res.statusCode ?? 0, bytes, headers: res.headers }))
    })
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')))
    req.on('error', fail)
  })
}

const wanted = (row: CacheRow, design: string): CacheVerdict => (row.kind === 'hit' ? 'hit' : design === 'rawproxy' ? 'none' : 'miss')

/** The cache fields of an answer, as the report shows them: `cache-status: ...; age: 0`, or `no cache fields`. */
function fields(a: Answer): string {
  const shown = ['cache-status', 'x-cache', 'age', 'x-varnish'].filter((h) => a.headers[h] !== undefined).map((h) => `${h}: ${String(a.headers[h])}`)
  return shown.length === 0 ? 'no cache fields' : shown.join('; ')
}

/**
 * Whether `design` answers `row` as it must: `why` is null when it does, else the reason; `seen` is
 * the cache fields of the answer judged. `warm` asks once before, to store the entry.
 */
export async function verify(d: CacheDesign, port: number, row: CacheRow, warm: boolean): Promise<{ why: string | null; seen: string }> {
  try {
    if (warm) await probe(port, row.path)
    const a = await probe(port, row.path)
    const seen = fields(a)
    if (a.status !== 200 || a.bytes !== row.size) return { why: `GET ${row.path} got ${a.status} with ${a.bytes} body bytes, want 200 with ${row.size}`, seen }
    const v = d.verdict(a.headers)
    const want = wanted(row, d.name)
    if (v === want) return { why: null, seen }
    return { why: `GET ${row.path}${warm ? ' (the second)' : ''} was a ${v === 'none' ? 'response with no cache field' : v}, want ${want === 'none' ? 'no cache field' : `a ${want}`} (${seen})`, seen }
  } catch (err) {
    return { why: `GET ${row.path}: ${(err as Error).message}`, seen: '' }
  }
}

export interface Live { port: number; proc: Proc }

export interface CacheHooks {
  peerPort: number
  dir: string
  cpu: number | null
  rounds: number
  /** The designs to run (BENCH_DESIGNS), by name. */
  wanted: readonly string[]
  /** One measured run (with its retries and its line of output) of `path` through `live`. */
  measure(design: string, path: string, connections: number, live: Live): Promise<Run & { rss: number }>
  summarise(design: string, runs: (Run & { rss: number })[]): Result
}

/**
 * Starts the section's designs, runs every row (designs in turns, shifted by one each row), stops them
 * all by their process group; returns the results and the names of designs that failed to start, died,
 * or were refused in some row.
 */
export async function cacheSection(h: CacheHooks): Promise<{ results: CacheResults; failed: string[] }> {
  const designs: CacheResults['designs'] = []
  const live = new Map<string, Live>()
  const failed: string[] = []
  const fail = (name: string): void => { if (!failed.includes(name)) failed.push(name) }
  try {
    for (const d of CACHE_DESIGNS.filter((x) => h.wanted.includes(x.name))) {
      const why = d.missing()
      if (why !== null) {
        console.log(`peers: cache: skipping ${d.name}: ${why}`)
        designs.push({ name: d.name, about: d.about, skipped: why })
        continue
      }
      const port = await freePort()
      const proc = d.start({ port, peerPort: h.peerPort, dir: h.dir, cpu: h.cpu })
      try {
        await ready(proc, port, 20_000) // varnishd compiles its VCL with cc first
        live.set(d.name, { port, proc })
        designs.push({ name: d.name, about: d.about, skipped: null })
      } catch (err) {
        const msg = (err as Error).message.split('\n')[0]
        console.error(`peers: cache: ${d.name} FAILED to start, skipped: ${msg}\n${tail(proc)}`)
        designs.push({ name: d.name, about: d.about, skipped: `failed to start: ${msg}` })
        fail(d.name)
        await stop(proc)
      }
    }
    const rows: CacheResults['rows'] = []
    for (const [i, row] of CACHE_ROWS.entries()) {
      const names = row.designs.filter((n) => live.has(n))
      console.log(`\n[cache ${i + 1}/${CACHE_ROWS.length}] ${cacheRowLabel(row)} · GET ${row.path} · ${CACHE_CONNECTIONS} conn · keep-alive`)
      const refused: Record<string, string> = {}
      const seen: Record<string, string> = {}
      const checked: string[] = []
      for (const n of names) {
        const d = CACHE_DESIGNS.find((x) => x.name === n)!
        const v = await verify(d, live.get(n)!.port, row, true)
        seen[n] = v.seen
        const why = v.why
        if (why === null) { checked.push(n); continue }
        refused[n] = why
        fail(n)
        console.error(`  ${n.padEnd(14)} REFUSED: ${why}`)
      }
      const runs = new Map<string, (Run & { rss: number })[]>(checked.map((n) => [n, []]))
      const order = checked.map((_, k) => checked[(k + i) % checked.length])
      for (let round = 0; round < h.rounds; round++) {
        for (const n of order) {
          if (refused[n] !== undefined) continue
          const u = live.get(n)!
          if (u.proc.child.exitCode !== null || u.proc.child.signalCode !== null) {
            refused[n] = `exited (${u.proc.child.exitCode ?? u.proc.child.signalCode})`
            fail(n)
            console.error(`peers: cache: ${n} EXITED:\n${tail(u.proc)}`)
            continue
          }
          runs.get(n)!.push(await h.measure(n, row.path, CACHE_CONNECTIONS, u))
          // Still a hit (or still forwarded) after the load: the run measured what the row says.
          const { why } = await verify(CACHE_DESIGNS.find((x) => x.name === n)!, u.port, row, false)
          if (why !== null) {
            refused[n] = `after the measured run: ${why}`
            fail(n)
            console.error(`  ${n.padEnd(14)} REFUSED after the run: ${why}`)
          }
        }
      }
      const results: Record<string, Result> = {}
      for (const [n, rs] of runs) if (rs.length > 0 && refused[n] === undefined) results[n] = h.summarise(n, rs)
      rows.push({ row, results, refused, seen })
    }
    return { results: { connections: CACHE_CONNECTIONS, designs, rows }, failed }
  } finally {
    await Promise.all([...live.values()].map((u) => stop(u.proc)))
  }
}
