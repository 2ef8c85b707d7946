/**
 * `make bench-peers`: the same wrk load against the peer straight, rawproxy, nginx, HAProxy, Caddy
 * and the plain Node TCP pipe, over a matrix of response body sizes x connections x keep-alive or a
 * new connection per request. Designs run in turns inside each cell (A B C D, then the next cell
 * starts one design later), so drift of the machine spreads over all of them. Per run: requests/s,
 * p50 and p99 from wrk; CPU time per request and the highest RSS of all the design's processes.
 *
 *   node dist/bench/peers/run.js        (bench/run.sh peers installs what is missing first)
 *   env: BENCH_DURATION (3 s measured), BENCH_WARMUP (1 s), BENCH_ROUNDS (1), BENCH_QUICK (1: two cells),
 *        BENCH_DESIGNS (comma list of names to run, default all), BENCH_CELLS (comma list of
 *        SIZE/CONNECTIONS/keep-alive|close, e.g. 0/1000/close: these cells only), BENCH_MAX_OTHER (10) and
 *        BENCH_RETRIES (1): a run during which other processes used more than that % of a CPU is
 *        run again; BENCH_LOAD_CPU (0), BENCH_PROXY_CPU (1);
 *        BENCH_CACHE (1): after the matrix, the cache section (bench/peers/cache.ts: hits through
 *        rawproxy-cache, nginx-cache and varnish, the miss path beside the plain rawproxy); 0: the
 *        matrix only; only: the cache section only. BENCH_DESIGNS names designs of either section
 *        (a section none of whose designs is named does not run). BENCH_COMPRESS (0: without the
 *        compression rows of bench/peers/compress.ts, which run after the rest)
 *
 * A full matrix of every design and the cache section write bench/results/peers-latest.{md,json,svg};
 * a quick or filtered run (BENCH_QUICK, BENCH_DESIGNS, BENCH_CELLS, BENCH_CACHE other than 1) writes
 * bench/results/tmp/peers-partial.*, so that the published run stays whole.
 * Only 127.0.0.1 is used; every process started is stopped at the end, on error, on Ctrl-C or
 * SIGTERM, and by a watchdog past the time budget.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { get } from 'node:http'
import { Proc, freePort, ready, start, stop, tail } from '../load/procs.js'
import { ROOT, envNumber, guard, pinning } from '../load/guard.js'
import { wrk } from '../load/wrk.js'
import { Run, machine, summarise } from '../load/report.js'
import { otherLoad } from '../load/noise.js'
import { groupCpu, rssSampler } from './group.js'
import { DESIGNS } from './designs.js'
import { Cell, QUICK, Result, Results, SIZES, cellLabel, fullMatrix, parseCells } from './matrix.js'
import { CACHE_NAMES, CACHE_ROWS, cacheSection } from './cache.js'
import { cacheRatios, markdown } from './report.js'
import { chart } from './chart.js'
import { compressRows, writeCompress } from './compress.js'
import { nginxBin, peerHeadroom, startNginxPeer } from '../load/nginx-peer.js'

const env = envNumber
const SECONDS = env('BENCH_DURATION', 3)
const WARMUP = env('BENCH_WARMUP', 1)
const ROUNDS = Math.max(1, env('BENCH_ROUNDS', 1))
const MAX_OTHER = env('BENCH_MAX_OTHER', 10)
const RETRIES = env('BENCH_RETRIES', 1)
const QUICK_RUN = process.env.BENCH_QUICK === '1'
const ONLY = (process.env.BENCH_DESIGNS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
const { loadCpu: LOAD_CPU, proxyCpu: PROXY_CPU } = pinning()
const PIN = LOAD_CPU !== null
const CELLS: readonly Cell[] = process.env.BENCH_CELLS !== undefined ? parseCells(process.env.BENCH_CELLS) : QUICK_RUN ? QUICK : fullMatrix()
const CACHE = process.env.BENCH_CACHE ?? '1'
if (!['0', '1', 'only'].includes(CACHE)) throw new Error('BENCH_CACHE must be 1 (the matrix, then the cache section), 0 (the matrix only) or only')
const ALL = ['straight', ...DESIGNS.map((d) => d.name)]
const KNOWN = [...new Set([...ALL, ...CACHE_NAMES])]
for (const o of ONLY) if (!KNOWN.includes(o)) throw new Error(`BENCH_DESIGNS: unknown design "${o}" (known: ${KNOWN.join(', ')})`)
const WANTED = CACHE === 'only' ? [] : ALL.filter((d) => ONLY.length === 0 || ONLY.includes(d))
const CACHE_WANTED = CACHE === '0' ? [] : CACHE_NAMES.filter((d) => ONLY.length === 0 || ONLY.includes(d))
const COMPRESS = process.env.BENCH_COMPRESS !== '0' && CACHE !== 'only'
const PEER = process.env.BENCH_PEER === 'node' || nginxBin() === null ? 'node' : 'nginx'

const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-peers-'))
// nginx workers run as an unprivileged user when started as root; let them into the run's dir.
chmodSync(tmp, 0o755)

/** One GET /1024 through a design: 200 and 1,024 body bytes, or the design is not measured. */
function check(design: string, port: number): Promise<void> {
  return new Promise((ok, fail) => {
    const req = get({ host: '127.0.0.1', port, path: '/1024', agent: false, timeout: 5000 }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => { n += d.length }).on('end', () => {
        if (res.statusCode === 200 && n === 1024) ok()
        else fail(new Error(`${design}: got ${res.statusCode} with ${n} body bytes, want 200 with 1024`))
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${design}: no answer in 5 s`)))
    req.on('error', (err) => fail(new Error(`${design}: ${err.message}`)))
  })
}

interface Live { port: number; proc: Proc }

/** Starts every wanted design; a design that is missing or fails to start is reported and skipped. */
async function startAll(peer: Live): Promise<{ live: Map<string, Live>; designs: Results['designs']; failed: string[] }> {
  const live = new Map<string, Live>()
  const designs: Results['designs'] = []
  const failed: string[] = []
  if (WANTED.includes('straight')) {
    live.set('straight', peer)
    designs.push({ name: 'straight', about: `wrk straight to the peer (${PEER === 'nginx' ? 'nginx serving files, bench/load/nginx-peer.ts' : 'bench/peers/peer.ts'}): the ceiling; its CPU and RSS are the peer's`, skipped: null })
  }
  for (const d of DESIGNS.filter((x) => WANTED.includes(x.name))) {
    const why = d.missing()
    if (why !== null) {
      console.log(`peers: skipping ${d.name}: ${why}`)
      designs.push({ name: d.name, about: d.about, skipped: why })
      continue
    }
    const port = await freePort()
    const proc = d.start({ port, peerPort: peer.port, dir: tmp, cpu: PROXY_CPU })
    try {
      await ready(proc, port)
      await check(d.name, port)
      live.set(d.name, { port, proc })
      designs.push({ name: d.name, about: d.about, skipped: null })
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0]
      console.error(`peers: ${d.name} FAILED to start, skipped: ${msg}\n${tail(proc)}`)
      designs.push({ name: d.name, about: d.about, skipped: `failed to start: ${msg}` })
      failed.push(d.name)
    }
  }
  return { live, designs, failed }
}

const num = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })

/** One measured run of GET `path` against a design: warm-up, then wrk with CPU and RSS sampled. */
async function measure(path: string, connections: number, close: boolean, u: Live): Promise<Run & { rss: number }> {
  const load = (seconds: number): ReturnType<typeof wrk> => wrk({
    url: `http://127.0.0.1:${u.port}${path}`, seconds, connections, cpu: LOAD_CPU,
    headers: close ? ['Connection: close'] : [],
  })
  if (WARMUP > 0) await load(WARMUP) // JIT, pools, caches and the connection pool warm; not counted
  const pgid = u.proc.child.pid!
  const other = otherLoad()
  const rss = rssSampler(pgid)
  const cpu0 = groupCpu(pgid)
  const r = await load(SECONDS)
  const cpu = groupCpu(pgid) - cpu0
  return { ...r, other: other(), cpuUs: r.requests > 0 ? (cpu / r.requests) * 1e6 : 0, rss: rss() }
}

/** `measure`, run again while the machine was busier than BENCH_MAX_OTHER (up to BENCH_RETRIES times); prints each run. */
async function measured(d: string, path: string, connections: number, close: boolean, u: Live): Promise<Run & { rss: number }> {
  for (let attempt = 0; ; attempt++) {
    const r = await measure(path, connections, close, u)
    const noisy = r.other > MAX_OTHER && attempt < RETRIES
    console.log(`  ${d.padEnd(14)} ${num(r.rps).padStart(9)} req/s  p50 ${num(r.p50, 3).padStart(8)} ms  p99 ${num(r.p99, 3).padStart(8)} ms  ` +
      `CPU ${num(r.cpuUs, 1).padStart(7)} µs/req  RSS ${num(r.rss / 2 ** 20, 1).padStart(6)} MiB  other ${num(r.other)}%` +
      (r.errors > 0 ? `  ${r.errors} errors` : '') + (noisy ? '  (machine busy: run again)' : ''))
    if (!noisy) return r
  }
}

const summary = (d: string, rs: (Run & { rss: number })[]): Result => ({ ...summarise(d, rs), rss: Math.max(...rs.map((r) => r.rss)) })

/** Writes RESULTS.json's Markdown table and SVG chart next to it (after a change to report.ts or chart.ts). */
function render(base: string, results: Results): void {
  writeFileSync(`${base}.md`, markdown(results))
  writeFileSync(`${base}.svg`, chart(results))
}

async function main(): Promise<void> {
  if (process.argv[2] === 'render') {
    const file = process.argv[3]
    if (file === undefined || !file.endsWith('.json')) throw new Error('usage: node dist/bench/peers/run.js render RESULTS.json')
    render(file.slice(0, -'.json'.length), JSON.parse(readFileSync(file, 'utf8')) as Results)
    console.log(`written: ${file.slice(0, -'.json'.length)}.md, .svg`)
    return
  }
  const host = machine() // before pinning: it counts the CPUs this process may use
  // The runner (its /proc sampling included) stays off the proxy's CPU.
  if (LOAD_CPU !== null) execFileSync('taskset', ['-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' })
  const peerPort = await freePort()
  // nginx serving files (bench/load/nginx-peer.ts) unless BENCH_PEER=node: the Node peer was the
  // bottleneck of the fastest designs (issue 15). Files for every size a cell or the cache rows ask for.
  let peerProc: Proc
  if (PEER === 'nginx') peerProc = await startNginxPeer([peerPort], tmp, LOAD_CPU, [...SIZES, ...CELLS.map((c) => c.size), ...CACHE_ROWS.map((r) => r.size)])
  else {
    peerProc = start('peer', LOAD_CPU, process.execPath, [join(ROOT, 'dist/bench/peers/peer.js'), String(peerPort)], join(tmp, 'peer.log'))
    await ready(peerProc, peerPort)
  }
  await check('peer', peerPort)
  const { live, designs, failed } = await startAll({ port: peerPort, proc: peerProc })
  const names = designs.filter((d) => d.skipped === null).map((d) => d.name)
  // No design of the matrix wanted (BENCH_CACHE=only, or BENCH_DESIGNS names cache designs only): no cells.
  const matrix = WANTED.length > 0 ? CELLS : []
  const pinned = PIN ? `wrk+peer on CPU ${LOAD_CPU}, proxy on CPU ${PROXY_CPU}` : 'NOT pinned (fewer than 2 CPUs)'
  if (matrix.length > 0) console.log(`peers: ${matrix.length} cells x ${names.length} designs (${names.join(', ')}), ${ROUNDS} round(s), ${WARMUP} s warm-up + ${SECONDS} s each; ${pinned}`)
  else console.log(`peers: no matrix (BENCH_CACHE=only, or BENCH_DESIGNS names no design of it); ${pinned}`)

  const cells: Results['cells'] = []
  for (const [i, cell] of matrix.entries()) {
    console.log(`\n[${i + 1}/${matrix.length}] ${cellLabel(cell)}`)
    const runs = new Map<string, (Run & { rss: number })[]>(names.map((n) => [n, []]))
    // Each cell starts one design later than the one before: no design is always first after a change.
    const order = names.map((_, k) => names[(k + i) % names.length])
    for (let round = 0; round < ROUNDS; round++) {
      for (const d of order) {
        const { proc } = live.get(d)!
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
          // It died under an earlier load: its remaining cells stay empty, and the run fails at the end.
          if (!failed.includes(d)) { failed.push(d); console.error(`peers: ${d} EXITED (${proc.child.exitCode ?? proc.child.signalCode}):\n${tail(proc)}`) }
          continue
        }
        runs.get(d)!.push(await measured(d, `/${cell.size}`, cell.connections, cell.mode === 'close', live.get(d)!))
      }
    }
    const results: Record<string, Result> = {}
    for (const [d, rs] of runs) if (rs.length > 0) results[d] = summary(d, rs)
    const proxies = Object.values(results).filter((r) => r.design !== 'straight').sort((a, b) => b.rps - a.rps)
    if (results.straight !== undefined && proxies.length > 0) console.log(`  ${peerHeadroom(results.straight.rps, proxies[0].rps, proxies[0].design)}`)
    cells.push({ cell, results })
  }
  // The matrix's proxies are done: stopped (by process group) before the caches start, so that idle
  // ones hold no CPU or memory during the cache rows. The peer stays.
  await Promise.all([...live].filter(([d]) => d !== 'straight').map(([, u]) => stop(u.proc)))

  let cache: Results['cache']
  if (CACHE_WANTED.length > 0) {
    console.log(`\npeers: the cache section (${CACHE_WANTED.join(', ')}), ${ROUNDS} round(s) of ${WARMUP} s warm-up + ${SECONDS} s per design and row`)
    const c = await cacheSection({ peerPort, dir: tmp, cpu: PROXY_CPU, rounds: ROUNDS, wanted: CACHE_WANTED,
      measure: (d, path, connections, u) => measured(d, path, connections, false, u), summarise: summary })
    cache = c.results
    for (const f of c.failed) if (!failed.includes(f)) failed.push(f)
  }

  const whole = process.env.BENCH_CELLS === undefined && !QUICK_RUN && ONLY.length === 0 && CACHE === '1'
  const results: Results = {
    machine: host, designs, cells, ...(cache === undefined ? {} : { cache }),
    settings: { rounds: ROUNDS, seconds: SECONDS, warmup: WARMUP, loadCpu: String(LOAD_CPU ?? 'any'), proxyCpu: String(PROXY_CPU ?? 'any'),
      maxOther: MAX_OTHER, retries: RETRIES, quick: QUICK_RUN },
  }
  const base = join(ROOT, whole ? 'bench/results/peers-latest' : 'bench/results/tmp/peers-partial')
  mkdirSync(dirname(base), { recursive: true })
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 1)}\n`)
  render(base, results)
  if (cache !== undefined) console.log(`\n${cacheRatios(cache, MAX_OTHER).join('\n')}`)
  console.log(`\nwritten: ${base}.md, .json, .svg`)
  // The compression rows (issue 12), unless BENCH_COMPRESS=0: rawproxy and nginx coding 64 KiB of JSON.
  if (COMPRESS) {
    console.log('\ncompression, 64 KiB JSON, 50 conn, keep-alive')
    const rows = await compressRows({ dir: tmp, loadCpu: LOAD_CPU, proxyCpu: PROXY_CPU, seconds: SECONDS, warmup: WARMUP })
    console.log(`written: ${writeCompress(rows, whole, `One run, ${SECONDS} s each after ${WARMUP} s of warm-up; wrk and the peer on CPU ${LOAD_CPU ?? 'any'}, the proxy on CPU ${PROXY_CPU ?? 'any'}.`)}`)
  }
  if (failed.length > 0) throw new Error(`${failed.join(', ')} failed to start, exited or failed a cache check (see above); cells are missing`)
}

// Bounded in time: every run with room for start-up, retries and stops, or everything is killed.
const cacheRuns = CACHE_ROWS.reduce((a, r) => a + r.designs.filter((d) => CACHE_WANTED.includes(d)).length, 0)
guard('peers', (CELLS.length * WANTED.length + cacheRuns) * ROUNDS * (WARMUP + SECONDS + 6) * (1 + RETRIES) + 120 + (cacheRuns > 0 ? 60 : 0) + (COMPRESS ? 5 * (WARMUP + SECONDS + 6) + 30 : 0), tmp, main)
