/**
 * The load comparison: wrk against four designs in turn (A B C D, A B C D, ...), so that drift of the
 * machine (thermal, noisy neighbours) spreads over every design instead of landing on one. Per run:
 * requests/s and latency from wrk, the CPU time per request of the process under test, and how much
 * CPU other processes took meanwhile (noise.ts). `profile` mode runs rawproxy alone under --cpu-prof.
 *
 *   node dist/bench/load/run.js [load|profile|idle]
 *   env: BENCH_ROUNDS (2), BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_CONNECTIONS (50),
 *        BENCH_LOAD_CPU (0), BENCH_PROXY_CPU (1), BENCH_MICRO_MD (a Markdown file to append),
 *        BENCH_MAX_OTHER (10: a run during which other processes used more than this % of a CPU is
 *        run again, up to BENCH_RETRIES (2) times; the last try counts),
 *        BENCH_PROFILE_SECONDS (10), BENCH_PROFILE_DIR (default: a new /tmp/rawproxy-prof-* dir),
 *        BENCH_COMPARE (path to another build's dist/src/cli.js, e.g. in a git worktree: adds the
 *        design "rawproxy-b" to the rotation, to A/B a change under the same conditions; with
 *        BENCH_COMPARE_LOG=1 it has the access log on, to compare with rawproxy-log; BENCH_COMPARE_FLAGS:
 *        node flags for it, e.g. "--max-semi-space-size=8"),
 *        BENCH_IDLE_CONNS (10000: client connections of `idle` mode, see idle.ts),
 *        BENCH_ONLY (a comma-separated list of designs to run, e.g. rawproxy,rawproxy-metrics),
 *        BENCH_PEER (nginx, the default when installed; node: bench/load/peer.ts)
 *
 * Tracing (issue 14, docs/trace.md): `rawproxy-trace-armed` is rawproxy-metrics with tracing armed for
 * requests that never come (POST /traces?path=/never, and a `trace.header_from` list): the cost of
 * tracing being on but not matching, against rawproxy-metrics; `rawproxy-trace-all` traces every
 * request into the admin API's ring (the cost of a trace). Off is rawproxy itself: A/B it against the
 * build before tracing with BENCH_COMPARE.
 *
 * Only 127.0.0.1 is used. Every process started is stopped at the end, on an error, on Ctrl-C or
 * SIGTERM, and by a watchdog if the run overstays its time budget.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { get, request } from 'node:http'
import { Proc, freePort, killAllSync, ready, start, stop, stopAll } from './procs.js'
import { WrkResult, wrk } from './wrk.js'
import { Run, Summary, machine, markdown, printTable, summarise, targets } from './report.js'
import { cpuSeconds, otherLoad } from './noise.js'
import { summariseProfile } from '../profile/summary.js'
import { ROOT, envNumber, pinning } from './guard.js'
import { IdleResult, idleTable, measureIdle } from './idle.js'
import { nginxBin, startNginxPeer } from './nginx-peer.js'
import { execFileSync } from 'node:child_process'
import { hashSync } from 'bcrypt'

const env = envNumber
const ROUNDS = env('BENCH_ROUNDS', 2)
const SECONDS = env('BENCH_SECONDS', 5)
const WARMUP = env('BENCH_WARMUP', 1)
const CONNECTIONS = env('BENCH_CONNECTIONS', 50)
const PROFILE_SECONDS = env('BENCH_PROFILE_SECONDS', 10)
const MAX_OTHER = env('BENCH_MAX_OTHER', 10)
const RETRIES = env('BENCH_RETRIES', 2)
const { loadCpu: LOAD_CPU, proxyCpu: PROXY_CPU } = pinning()
const PIN = LOAD_CPU !== null
const COMPARE = process.env.BENCH_COMPARE ?? ''
// BENCH_ONLY=a,b: only these designs (an A/B such as rawproxy,rawproxy-metrics without the rest).
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((d) => d !== '')
const DESIGNS = ['straight', 'rawproxy', 'rawproxy-log', 'rawproxy-metrics', 'rawproxy-trace-armed', 'rawproxy-trace-all', 'rawproxy-filters', 'rawproxy-ratelimit', 'rawproxy-redis', 'rawproxy-3peers', ...(COMPARE === '' ? [] : ['rawproxy-b']), 'tcp-pipe', 'http-proxy'].filter((d) => ONLY.length === 0 || ONLY.includes(d))

const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-bench-'))
// nginx (the peer) drops to an unprivileged user for nothing here (master_process off), but reads its files from here.
chmodSync(tmp, 0o755)
const PEER = process.env.BENCH_PEER === 'node' || nginxBin() === null ? 'node' : 'nginx'
const script = (name: string): string => join(ROOT, 'dist/bench/load', `${name}.js`)

/** The rawproxy config: one listener, the peer, no access log (we measure the proxy, not the disk). */
function rawproxyConfig(port: number, peerPorts: number[], name: string, extra: string[] = []): string {
  const file = join(tmp, `${name}.yaml`)
  writeFileSync(file, [
    `listen: 127.0.0.1:${port}`,
    'upstreams:',
    '  peer:',
    `    peers: [${peerPorts.map((p) => `127.0.0.1:${p}`).join(', ')}]`,
    // Off unless the design sets it (rawproxy-log): we measure the proxy, not the disk.
    ...(extra.some((l) => l.startsWith('access_log:')) ? [] : ['access_log: off']),
    ...extra,
    '',
  ].join('\n'))
  return file
}

/**
 * The `rawproxy-filters` row: one route with headers (a request ID, a set, a remove, a response set),
 * access (an allow list), auth (a bcrypt user, cost 5 as htpasswd makes it; every request after the
 * first hits the cache of verified credentials) and three rules, against the plain `rawproxy` row.
 */
const BENCH_USER = 'bench'
const BENCH_PASSWORD = 'bench-password'
const AUTH_HEADER = `Authorization: Basic ${Buffer.from(`${BENCH_USER}:${BENCH_PASSWORD}`).toString('base64')}`
function filtersConfig(): string[] {
  const route = {
    upstream: 'peer',
    headers: { request_id: true, request: { set: { 'X-Env': 'bench' }, remove: ['x-debug'] }, response: { set: { 'X-Frame-Options': 'DENY' } } },
    access: { allow: ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] },
    auth: { realm: 'bench', users: { [BENCH_USER]: hashSync(BENCH_PASSWORD, '$2b$05$abcdefghijklmnopqrstuu').replace('$2b$', '$2y$') } },
    rules: [
      { match: { path: '/internal' }, deny: 404 },
      { match: { path_glob: '/**.env' }, deny: 404 },
      { match: { headers: { 'x-debug': true } }, deny: 400 },
    ],
  }
  return [`routes: [${JSON.stringify(route)}]`]
}
/**
 * The `rawproxy-ratelimit` and `rawproxy-redis` rows: one limit per client address that never refuses
 * at this load (a million a second), so every request pays one decision and nothing else changes:
 * in the memory store, and in a Redis server on the load generator's CPU (one Lua call per request).
 */
function rateLimitConfig(store: string): string[] {
  const rl = { limits: [{ name: 'bench', key: 'client_ip', rate: '1000000/s', burst: 1000 }], ...(store === '' ? {} : { store: { redis: { url: store } } }) }
  return [`routes: [${JSON.stringify({ upstream: 'peer', rate_limit: rl })}]`]
}

/** A redis-server for the rawproxy-redis row (Debian's; installed by bench/peers/install.sh or .ci/run). */
async function startRedis(): Promise<{ proc: Proc; port: number }> {
  const port = await freePort()
  const proc = start('redis', LOAD_CPU, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], join(tmp, 'redis.log'))
  await ready(proc, port)
  return { proc, port }
}

/** The admin token of the trace rows (a POST /traces needs one). */
const TRACE_TOKEN = 'bench-trace-token-0123456789'

/** POST /traces on a trace row's admin API: armed for a path no bench request takes. */
function armNever(adminPort: number): Promise<void> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: adminPort, method: 'POST', path: '/traces?count=10000&path=/never', agent: false, headers: { Authorization: `Bearer ${TRACE_TOKEN}` } }, (res) => {
      res.resume().on('end', () => (res.statusCode === 200 ? ok() : fail(new Error(`POST /traces: ${res.statusCode}`))))
    })
    req.on('error', fail)
    req.end()
  })
}

/** wrk's extra header lines per design. */
const HEADERS: Record<string, string[]> = { 'rawproxy-filters': [AUTH_HEADER] }

/** One request through a design: 200 and the peer's body, or the run stops before measuring. */
function check(design: string, port: number): Promise<void> {
  return new Promise((ok, fail) => {
    const auth = (HEADERS[design] ?? []).map((h) => h.split(': ')).map(([k, v]) => [k, v])
    const req = get({ host: '127.0.0.1', port, path: '/check', agent: false, timeout: 5000, headers: Object.fromEntries(auth) }, (res) => {
      let body = ''
      res.setEncoding('latin1').on('data', (d: string) => { body += d }).on('end', () => {
        if (res.statusCode === 200 && body === 'hello world\n') ok()
        else fail(new Error(`${design}: got ${res.statusCode} ${JSON.stringify(body)}`))
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${design}: no answer in 5 s`)))
    req.on('error', (err) => fail(new Error(`${design}: ${err.message}`)))
  })
}

/**
 * The peer; `more` extra ports on the same process are the 3-peer row's other two peers. nginx
 * (bench/load/nginx-peer.ts) unless BENCH_PEER=node or nginx is missing: the Node peer
 * (bench/load/peer.ts) was the bottleneck of the fastest rows (issue 15).
 */
async function startPeer(more = 0): Promise<{ proc: Proc; port: number; ports: number[] }> {
  const ports: number[] = []
  for (let i = 0; i <= more; i++) ports.push(await freePort())
  if (PEER === 'nginx') return { proc: await startNginxPeer(ports, tmp, LOAD_CPU), port: ports[0], ports }
  const proc = start('peer', LOAD_CPU, process.execPath, [script('peer'), ...ports.map(String)], join(tmp, 'peer.log'))
  for (const p of ports) await ready(proc, p)
  return { proc, port: ports[0], ports }
}

async function startRawproxy(peerPort: number | number[], nodeFlags: string[] = [], cli = join(ROOT, 'dist/src/cli.js'), name = 'rawproxy', extra: string[] = []): Promise<{ proc: Proc; port: number }> {
  const port = await freePort()
  const args = [...nodeFlags, resolve(cli), '--config', rawproxyConfig(port, typeof peerPort === 'number' ? [peerPort] : peerPort, name, extra)]
  const proc = start(name, PROXY_CPU, process.execPath, args, join(tmp, `${name}.log`))
  await ready(proc, port)
  return { proc, port }
}

async function startHelper(name: 'tcp-pipe' | 'http-proxy', peerPort: number): Promise<{ proc: Proc; port: number }> {
  const port = await freePort()
  const proc = start(name, PROXY_CPU, process.execPath, [script(name), String(port), String(peerPort)], join(tmp, `${name}.log`))
  await ready(proc, port)
  return { proc, port }
}

function load(port: number, seconds: number, headers: readonly string[] = []): Promise<WrkResult> {
  return wrk({ url: `http://127.0.0.1:${port}/`, seconds, connections: CONNECTIONS, cpu: LOAD_CPU, headers })
}

async function runLoad(): Promise<void> {
  const peer = await startPeer(2)
  // Each design's port, and the process whose CPU time it costs (for straight: the peer's own).
  const raw = await startRawproxy(peer.port)
  // The access log on, as by default (JSON lines), to a file: issue 15 wants it within 5% of off.
  const logged = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-log', [`access_log: { path: ${JSON.stringify(join(tmp, 'access.log'))} }`])
  // The same proxy with the metrics on (an admin listener, not scraped during the run): the cost of
  // counting every exchange (issue 13: within 3% of `rawproxy`).
  const metered = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-metrics', [`admin: { listen: "127.0.0.1:${await freePort()}" }`])
  const raw3 = await startRawproxy(peer.ports, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-3peers')
  const armedAdmin = await freePort()
  const armed = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-trace-armed',
    [`admin: { listen: "127.0.0.1:${armedAdmin}", token: ${TRACE_TOKEN} }`, 'trace: { header_from: [127.0.0.1/32] }'])
  await armNever(armedAdmin)
  const traced = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-trace-all',
    [`admin: { listen: "127.0.0.1:${await freePort()}", token: ${TRACE_TOKEN} }`, 'trace: { all: true }'])
  const filtered = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-filters', filtersConfig())
  const limited = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-ratelimit', rateLimitConfig(''))
  const redis = await startRedis()
  const redisLimited = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy-redis', rateLimitConfig(`redis://127.0.0.1:${redis.port}`))
  const pipe = await startHelper('tcp-pipe', peer.port)
  const hp = await startHelper('http-proxy', peer.port)
  const under: Record<string, { port: number; proc: Proc }> = {
    straight: peer, rawproxy: raw, 'rawproxy-log': logged, 'rawproxy-metrics': metered, 'rawproxy-filters': filtered, 'rawproxy-ratelimit': limited, 'rawproxy-redis': redisLimited,
    'rawproxy-3peers': raw3, 'tcp-pipe': pipe, 'http-proxy': hp, 'rawproxy-trace-armed': armed, 'rawproxy-trace-all': traced,
  }
  // BENCH_COMPARE_LOG=1: rawproxy-b with the access log on, to A/B against rawproxy-log.
  if (COMPARE !== '') under['rawproxy-b'] = await startRawproxy(peer.port, (process.env.BENCH_COMPARE_FLAGS ?? '').split(' ').filter((f) => f !== ''), COMPARE, 'rawproxy-b', process.env.BENCH_COMPARE_LOG === '1' ? [`access_log: { path: ${JSON.stringify(join(tmp, 'access-b.log'))} }`] : [])
  const ports = Object.fromEntries(Object.entries(under).map(([d, u]) => [d, u.port]))
  for (const d of DESIGNS) await check(d, ports[d])
  console.log(`load: ${ROUNDS} rounds x ${DESIGNS.length} designs, ${WARMUP} s warm-up + ${SECONDS} s each, ` +
    `${CONNECTIONS} connections; ${PIN ? `wrk+peer on CPU ${LOAD_CPU}, proxy on CPU ${PROXY_CPU}` : 'NOT pinned (fewer than 2 CPUs)'}`)

  const runs: Record<string, Run[]> = Object.fromEntries(DESIGNS.map((d) => [d, []]))
  for (let round = 1; round <= ROUNDS; round++) {
    for (const d of DESIGNS) {
      for (let attempt = 0; ; attempt++) {
        if (WARMUP > 0) await load(ports[d], WARMUP, HEADERS[d]) // JIT, pools and caches warm; not counted
        const other = otherLoad()
        const pid = under[d].proc.child.pid!
        const cpu0 = cpuSeconds(pid)
        const r: Run = { ...await load(ports[d], SECONDS, HEADERS[d]), other: 0, cpuUs: 0 }
        r.other = other()
        r.cpuUs = ((cpuSeconds(pid) - cpu0) / r.requests) * 1e6
        const noisy = r.other > MAX_OTHER && attempt < RETRIES
        console.log(`  round ${round} ${d.padEnd(10)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(3)} ms  ` +
          `p99 ${r.p99.toFixed(3)} ms  CPU ${r.cpuUs.toFixed(1)} µs/req  other CPU ${r.other.toFixed(0)}%` + (r.errors > 0 ? `  ${r.errors} errors` : '') +
          (noisy ? '  (machine busy: run again)' : ''))
        if (noisy) continue
        runs[d].push(r)
        break
      }
    }
  }

  const rows: Summary[] = DESIGNS.map((d) => summarise(d, runs[d]))
  const ts = targets(rows)
  console.log('')
  printTable(rows, ts)
  const microFile = process.env.BENCH_MICRO_MD
  const micro = microFile !== undefined && existsSync(microFile) ? readFileSync(microFile, 'utf8') : null
  const settings = { rounds: ROUNDS, seconds: SECONDS, warmup: WARMUP, connections: CONNECTIONS,
    loadCpu: String(LOAD_CPU ?? 'any'), proxyCpu: String(PROXY_CPU ?? 'any'), maxOther: MAX_OTHER, retries: RETRIES }
  // An A/B run, or one of some designs, is scratch: the committed table stays the plain comparison.
  const out = join(ROOT, COMPARE === '' && ONLY.length === 0 ? 'bench/results/latest.md' : 'bench/results/tmp/compare.md')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, markdown(rows, ts, machine(), settings, micro))
  console.log(`\nwritten: ${out}`)
  if (rows.some((r) => r.other > MAX_OTHER)) console.log(`warning: other processes used over ${MAX_OTHER}% of a CPU during some counted rounds; those rows are noisy`)
  if (rows.some((r) => r.errors > 0)) throw new Error('some runs had socket errors or non-2xx responses (see the errors column)')
}

/** rawproxy under wrk with --cpu-prof; the profile goes to /tmp (never into the repo). */
async function runProfile(): Promise<void> {
  const dir = process.env.BENCH_PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'rawproxy-prof-'))
  const peer = await startPeer()
  const raw = await startRawproxy(peer.port, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
  await check('rawproxy', raw.port)
  await load(raw.port, Math.max(WARMUP, 1))
  const r = await load(raw.port, PROFILE_SECONDS)
  console.log(`profiled load: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms (slower than unprofiled)`)
  await stop(raw.proc, 15_000) // SIGTERM: rawproxy exits cleanly and node writes the profile
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}:\n${readFileSync(raw.proc.log, 'utf8')}`)
  console.log(`profile: ${files[files.length - 1]}\n`)
  console.log(summariseProfile(files[files.length - 1], ROOT))
}

/**
 * Memory per idle client connection (idle.ts): rawproxy, then nginx if it is installed. Neither is
 * pinned (nothing here is a speed race); the keep-alive timeouts outlast the run.
 */
async function runIdle(): Promise<void> {
  const conns = env('BENCH_IDLE_CONNS', 10_000)
  const peer = await startPeer()
  const rows: IdleResult[] = []
  const raw = await startRawproxy(peer.port, [], join(ROOT, 'dist/src/cli.js'), 'rawproxy',
    ['timeouts:', '  keepalive: 300000', 'limits:', `  max_connections: ${conns + 1000}`])
  await check('rawproxy', raw.port)
  rows.push(await measureIdle('rawproxy', raw.port, raw.proc.child.pid!, conns))
  console.log(idleTable(rows))
  await stop(raw.proc)
  const nginx = nginxPath()
  if (nginx === null) console.log('nginx: not installed, not compared (bash bench/run.sh idle installs it)')
  else {
    const port = await freePort()
    const conf = join(tmp, 'nginx-idle.conf')
    writeFileSync(conf, readFileSync(join(ROOT, 'bench/load/nginx-idle.conf'), 'utf8')
      .replaceAll('@PORT@', String(port)).replaceAll('@PEER@', String(peer.port)).replaceAll('@DIR@', tmp))
    const proc = start('nginx', null, nginx, ['-p', tmp, '-c', conf], join(tmp, 'nginx.log'))
    await ready(proc, port)
    await check('nginx', port)
    rows.push(await measureIdle('nginx (1 worker)', port, proc.child.pid!, conns))
    await stop(proc)
  }
  const table = idleTable(rows)
  console.log(`\n${table}`)
  const m = machine()
  const section = `${IDLE_HEADING}\n\nWritten by \`bash bench/run.sh idle\` on ${m.date}, code at ${m.commit}. ${conns.toLocaleString('en-US')} ` +
    'client connections opened to the proxy, then one GET each through to the peer; RSS read from /proc after each step, ' +
    'against a baseline taken after warm-up traffic (10,000 requests on 250 connections, closed) (bench/load/idle.ts); ' +
    'nginx with one process, bench/load/nginx-idle.conf.\n\n' + `${table}\n`
  // The section goes into the last load table's file (replacing an earlier one), or stands alone.
  const latest = join(ROOT, 'bench/results/latest.md')
  const before = existsSync(latest) ? readFileSync(latest, 'utf8') : ''
  const at = before.indexOf(IDLE_HEADING)
  writeFileSync(latest, (at >= 0 ? before.slice(0, at) : before === '' ? '' : `${before.trimEnd()}\n\n`) + section)
  console.log(`\nwritten: ${latest}`)
}

const IDLE_HEADING = '### Idle keep-alive connections (memory)'

function nginxPath(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(p)) return p
  try { return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null } catch { return null }
}

let cleaning = false
let interrupted = false
async function cleanup(): Promise<void> {
  if (cleaning) return
  cleaning = true
  await stopAll()
  rmSync(tmp, { recursive: true, force: true })
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'load'
  if (mode !== 'load' && mode !== 'profile' && mode !== 'idle') throw new Error(`unknown mode "${mode}" (load, profile or idle)`)
  // Bounded in time: the whole run, with room for start-up and stops, or everything is killed.
  const budget = mode === 'load' ? ROUNDS * DESIGNS.length * (WARMUP + SECONDS + 5) * (1 + RETRIES) + 60 : mode === 'idle' ? 300 : PROFILE_SECONDS + WARMUP + 90
  setTimeout(() => {
    console.error(`load: over the time budget of ${budget} s, stopping everything`)
    killAllSync()
    rmSync(tmp, { recursive: true, force: true })
    process.exit(1)
  }, budget * 1000).unref()
  if (mode === 'load') await runLoad()
  else if (mode === 'idle') await runIdle()
  else await runProfile()
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true
    console.error(`\nload: ${sig}, stopping every process started`)
    void cleanup().finally(() => process.exit(130))
  })
}
process.on('exit', killAllSync) // whatever path we leave by, leave nothing behind

main().then(cleanup, async (err: Error) => {
  if (interrupted) return // the signal handler cleans up and exits; a wrk cut short is no news
  console.error(`load: ${err.message}`)
  await cleanup()
  process.exitCode = 1
})
