/**
 * `bash bench/run.sh dashboard`: does the admin dashboard move the proxy's req/s? One rawproxy with
 * its admin API on (so the dashboard's sampler runs, once a second, as it always does then), under
 * wrk, in turns within one run: no page; one SSE client on GET /dashboard/stream (what a page costs the
 * proxy); a real Chromium tab on the dashboard (Debian's, headless: the page, its stream and its
 * redraws; pinned with wrk, off the proxy's CPU). Each turn reports req/s, p99 and the proxy's CPU time per request; the sampler's own time
 * per sample is read from the stream. Then the same with `workers: 2`, where one sample is one IPC
 * round to every worker: its time and the primary's CPU.
 *
 *   env: BENCH_ROUNDS (3), BENCH_SECONDS (8); run under `flock /tmp/bench.lock` on a shared machine
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Proc, freePort, ready, start, stop } from './procs.js'
import { wrk, WrkResult } from './wrk.js'
import { ROOT, envNumber, guard, pinning } from './guard.js'
import { cpuSeconds, otherLoad } from './noise.js'

const ROUNDS = envNumber('BENCH_ROUNDS', 3)
const SECONDS = envNumber('BENCH_SECONDS', 8)
const TOKEN = 'bench-dashboard-token-0123456789'
const { loadCpu, proxyCpu } = pinning()
const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-dash-'))
const VARIANTS = ['no page', 'SSE client', 'Chromium tab'] as const
type Variant = (typeof VARIANTS)[number]

interface Turn extends WrkResult { cpuUs: number; other: number }

async function proxy(peerPort: number, workers: number): Promise<{ proc: Proc; port: number; admin: number }> {
  const port = await freePort()
  const admin = await freePort()
  const file = join(tmp, `proxy-${workers}.yaml`)
  writeFileSync(file, [`listen: 127.0.0.1:${port}`, `workers: ${workers}`, 'access_log: off', 'upstreams:', '  peer:', `    peers: [127.0.0.1:${peerPort}]`,
    'routes:', '  - { path: /, upstream: peer }', `admin: { listen: "127.0.0.1:${admin}", token: "${TOKEN}" }`, ''].join('\n'))
  const proc = start(`rawproxy-w${workers}`, workers === 1 ? proxyCpu : null, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', file], join(tmp, `proxy-${workers}.log`))
  await ready(proc, port)
  await ready(proc, admin)
  return { proc, port, admin }
}

/** An SSE client on the dashboard's stream: the sampler's time of each tick it sees. */
function sseClient(admin: number): { samplerMs: number[]; close(): void } {
  const samplerMs: number[] = []
  const s = connect(admin, '127.0.0.1')
  let buf = ''
  s.on('error', () => {})
  s.on('data', (d: Buffer) => {
    buf += d.toString()
    let end
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const m = /^event: tick\ndata: (.*)$/s.exec(buf.slice(0, end))
      buf = buf.slice(end + 2)
      if (m !== null) samplerMs.push((JSON.parse(m[1]) as { state: { sampler_ms: number } }).state.sampler_ms)
    }
  })
  s.write(`GET /dashboard/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  return { samplerMs, close: () => s.destroy() }
}

async function chromiumTab(admin: number): Promise<{ close(): Promise<void> }> {
  const { openTab } = await import(join(ROOT, 'dist/spec/support/browser.js')) as typeof import('../../spec/support/browser.js')
  const tab = await openTab()
  await tab.page.goto(`http://127.0.0.1:${admin}/#token=${TOKEN}`)
  await tab.page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 15_000 })
  // The browser and its renderers on the load CPU, every thread: an operator's page runs elsewhere
  // than the proxy, and here it must not take the proxy's CPU from it.
  if (loadCpu !== null && tab.pid !== undefined) for (const pid of tree(tab.pid)) execFileSync('taskset', ['-a', '-c', '-p', String(loadCpu), String(pid)], { stdio: 'ignore' })
  return tab
}

/** `root` and its descendants, from /proc. */
function tree(root: number): number[] {
  const parent = new Map<number, number>()
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try { parent.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1])) } catch { /* gone */ }
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid)
  return out
}

async function turn(pid: number, port: number): Promise<Turn> {
  const others = otherLoad()
  const cpu0 = cpuSeconds(pid)
  const w = await wrk({ url: `http://127.0.0.1:${port}/`, seconds: SECONDS, connections: 50, cpu: loadCpu })
  return { ...w, cpuUs: ((cpuSeconds(pid) - cpu0) / w.requests) * 1e6, other: others() }
}

const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length)
const f = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })

async function single(peerPort: number): Promise<string> {
  const px = await proxy(peerPort, 1)
  const pid = px.proc.child.pid!
  await wrk({ url: `http://127.0.0.1:${px.port}/`, seconds: 2, connections: 50, cpu: loadCpu }) // warm-up
  const turns = new Map<Variant, Turn[]>(VARIANTS.map((v) => [v, []]))
  const sampler: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < VARIANTS.length; i++) {
      const v = VARIANTS[(i + r) % VARIANTS.length] // a different order each round: no variant always goes first
      const sse = v === 'SSE client' ? sseClient(px.admin) : null
      const tab = v === 'Chromium tab' ? await chromiumTab(px.admin) : null
      const t = await turn(pid, px.port)
      sampler.push(...(sse?.samplerMs ?? []))
      sse?.close()
      await tab?.close()
      turns.get(v)!.push(t)
      console.log(`  round ${r + 1} ${v.padEnd(12)} ${f(t.rps)} req/s  p99 ${t.p99.toFixed(2)} ms  CPU ${t.cpuUs.toFixed(1)} µs/req  other CPU ${f(t.other)}%`)
    }
  }
  await stop(px.proc)
  const base = turns.get('no page')!
  const lines = ['| proxy (1 process) | req/s (mean of rounds) | vs no page | p99 | CPU µs/request | other processes\' CPU |', '|---|---:|---:|---:|---:|---:|']
  for (const v of VARIANTS) {
    const t = turns.get(v)!
    lines.push(`| ${v} | ${f(mean(t.map((x) => x.rps)))} | ${(mean(t.map((x) => x.rps)) / mean(base.map((x) => x.rps))).toFixed(3)} | ${mean(t.map((x) => x.p99)).toFixed(2)} ms | ${mean(t.map((x) => x.cpuUs)).toFixed(1)} | ${f(mean(t.map((x) => x.other)))}% |`)
  }
  lines.push('', `Sampler, one process under load: ${mean(sampler).toFixed(2)} ms per sample (mean of ${sampler.length}, max ${Math.max(...sampler).toFixed(2)} ms), once a second.`)
  return lines.join('\n')
}

async function cluster(peerPort: number): Promise<string> {
  const px = await proxy(peerPort, 2)
  const pid = px.proc.child.pid!
  const sse = sseClient(px.admin)
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const w = await wrk({ url: `http://127.0.0.1:${px.port}/`, seconds: SECONDS, connections: 50, cpu: loadCpu })
  const primaryCpu = (100 * (cpuSeconds(pid) - cpu0)) / ((performance.now() - t0) / 1000)
  sse.close()
  await stop(px.proc)
  return `Sampler, \`workers: 2\` under load (${f(w.rps)} req/s): ${mean(sse.samplerMs).toFixed(2)} ms per sample (one IPC round to both workers; mean of ${sse.samplerMs.length}, max ${Math.max(...sse.samplerMs).toFixed(2)} ms); the primary used ${primaryCpu.toFixed(1)}% of a CPU meanwhile (the sampler, the stream, health checks).`
}

guard('dashboard-ab', ROUNDS * VARIANTS.length * (SECONDS + 15) + SECONDS + 120, tmp, async () => {
  const peerPort = await freePort()
  const peer = start('peer', loadCpu, process.execPath, [join(ROOT, 'dist/bench/load/peer.js'), String(peerPort)], join(tmp, 'peer.log'))
  await ready(peer, peerPort)
  console.log(`dashboard-ab: ${ROUNDS} rounds of ${SECONDS} s per variant, wrk 50 connections; wrk+peer on CPU ${loadCpu ?? 'any'}, proxy on CPU ${proxyCpu ?? 'any'}, Chromium on CPU ${loadCpu ?? 'any'}`)
  const md = `${await single(peerPort)}\n\n${await cluster(peerPort)}`
  console.log(`\n${md}`)
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench/results/dashboard.md'), `### The dashboard's cost (\`bash bench/run.sh dashboard\`, ${new Date().toISOString().slice(0, 10)})\n\n` +
    `wrk on \`/\`, 50 keep-alive connections, ${ROUNDS} rounds of ${SECONDS} s per variant, the variants in a rotating order; the admin API on (its sampler runs in every row).\n\n${md}\n`)
  await stop(peer)
})
