/**
 * The HTTPS rows of `make bench`: one rawproxy with a plain and a TLS listener (an RSA 2048 test
 * certificate) in front of the bench peer, and, in alternation so machine drift spreads over both:
 *   - keep-alive requests/s, plain against TLS (target: TLS >= 80% of plain), through wrk and through
 *     a lighter node client (keepalive.ts) under which the proxy, not the load side, is the limit;
 *   - new TLS handshakes/s from handshakes.ts, full against resumed (session tickets).
 * Same pinning as run.ts: load side on one CPU, the proxy alone on the other. Table printed and
 * written to bench/results/tls.md.
 *
 *   node dist/bench/load/tls.js
 *   env: BENCH_ROUNDS (2), BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_CONNECTIONS (50),
 *        BENCH_HANDSHAKE_CONC (16), BENCH_KEEPALIVE_CONC (8), BENCH_LOAD_CPU (0), BENCH_PROXY_CPU (1)
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, killAllSync, ready, start, stopAll } from './procs.js'
import { wrk } from './wrk.js'
import { machine } from './report.js'
import { cpuSeconds, otherLoad } from './noise.js'
import { ROOT, envNumber, pinning } from './guard.js'

const num = envNumber
const ROUNDS = num('BENCH_ROUNDS', 2)
const SECONDS = num('BENCH_SECONDS', 5)
const WARMUP = num('BENCH_WARMUP', 1)
const CONNECTIONS = num('BENCH_CONNECTIONS', 50)
const CONC = num('BENCH_HANDSHAKE_CONC', 16)
const KEEPALIVE_CONC = num('BENCH_KEEPALIVE_CONC', 8)
const { loadCpu: LOAD_CPU, proxyCpu: PROXY_CPU } = pinning()
const PIN = LOAD_CPU !== null
const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-bench-tls-'))
const js = (name: string): string => join(ROOT, 'dist/bench/load', `${name}.js`)

function pki(name: string): string {
  const out = join(ROOT, 'fixtures/tls/out')
  if (!existsSync(join(out, 'weak.pem'))) execFileSync('bash', [join(ROOT, 'fixtures/tls/make-certs.sh')], { stdio: 'ignore' })
  return join(out, name)
}

interface Handshakes { handshakes: number; resumed: number; seconds: number; errors: number }

/** One of the node clients (handshakes.js, keepalive.js) on the load CPU; its JSON line. */
function client<T>(name: string, args: (string | number)[], seconds: number): Promise<T> {
  const argv = [process.execPath, js(name), ...args.map(String)]
  const cmd = LOAD_CPU === null ? argv : ['taskset', '-c', String(LOAD_CPU), ...argv]
  return new Promise((ok, fail) => execFile(cmd[0], cmd.slice(1), { timeout: (seconds + 20) * 1000 }, (err, out) => {
    if (err !== null) fail(err)
    else ok(JSON.parse(out) as T)
  }))
}

const handshakes = (port: number, seconds: number, mode: 'full' | 'resume'): Promise<Handshakes> =>
  client<Handshakes>('handshakes', [port, seconds, CONC, mode], seconds)

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const best = (xs: number[], low: boolean): number => (low ? Math.min(...xs) : Math.max(...xs))

/** What one measured load says, per round: rate, the proxy's CPU per unit of it, and how busy it was. */
class Series {
  readonly rate: number[] = []
  readonly cpuUs: number[] = []
  readonly busy: number[] = []
}

interface Setup { proxyPid: number; plain: number; tls: number }

let noisiest = 0
let errors = 0

/**
 * Runs `load` (it returns units done and seconds taken) with the proxy's CPU time and the other
 * processes' CPU measured around it, into `into`; returns the line to print.
 */
async function measured(s: Setup, into: Series, load: () => Promise<{ units: number; seconds: number; errors: number }>): Promise<string> {
  const other = otherLoad()
  const cpu0 = cpuSeconds(s.proxyPid)
  const r = await load()
  const used = cpuSeconds(s.proxyPid) - cpu0
  const busy = other()
  noisiest = Math.max(noisiest, busy)
  errors += r.errors
  into.rate.push(r.units / r.seconds)
  into.cpuUs.push((used / r.units) * 1e6)
  // Under 100%: the proxy waited on the load side (wrk pays for TLS too, on the shared CPU).
  into.busy.push((100 * used) / r.seconds)
  return `${(r.units / r.seconds).toFixed(0).padStart(8)}/s  proxy CPU ${into.cpuUs.at(-1)!.toFixed(1)} µs each, busy ` +
    `${into.busy.at(-1)!.toFixed(0)}%  other CPU ${busy.toFixed(0)}%${r.errors > 0 ? `  ERRORS ${r.errors}` : ''}`
}

const SERIES = ['wrk plain', 'wrk tls', 'node plain', 'node tls', 'handshake full', 'handshake resume'] as const
type Name = typeof SERIES[number]

async function round(s: Setup, n: number, all: Record<Name, Series>): Promise<void> {
  for (const proto of ['plain', 'tls'] as const) {
    const url = proto === 'tls' ? `https://127.0.0.1:${s.tls}/` : `http://127.0.0.1:${s.plain}/`
    if (WARMUP > 0) await wrk({ url, seconds: WARMUP, connections: CONNECTIONS, cpu: LOAD_CPU })
    const line = await measured(s, all[`wrk ${proto}`], async () => {
      const r = await wrk({ url, seconds: SECONDS, connections: CONNECTIONS, cpu: LOAD_CPU })
      return { units: r.requests, seconds: SECONDS, errors: r.errors }
    })
    console.log(`  round ${n} keep-alive wrk  ${proto.padEnd(6)} ${line}`)
  }
  for (const proto of ['plain', 'tls'] as const) {
    const port = proto === 'tls' ? s.tls : s.plain
    const line = await measured(s, all[`node ${proto}`], async () => {
      const r = await client<{ requests: number; seconds: number; errors: number }>('keepalive', [port, SECONDS, KEEPALIVE_CONC, proto], SECONDS)
      return { units: r.requests, seconds: r.seconds, errors: r.errors }
    })
    console.log(`  round ${n} keep-alive node ${proto.padEnd(6)} ${line}`)
  }
  for (const mode of ['full', 'resume'] as const) {
    const line = await measured(s, all[`handshake ${mode}`], async () => {
      const h = await handshakes(s.tls, SECONDS, mode)
      return { units: h.handshakes, seconds: h.seconds, errors: h.errors }
    })
    console.log(`  round ${n} handshakes     ${mode.padEnd(6)} ${line}`)
  }
}

/** The Markdown rows: means, the best round of each (noise only ever adds), and the ratios. */
function table(all: Record<Name, Series>): string[] {
  const row = (what: string, v: string): string => `| ${what} | ${v} |`
  const pair = (a: Name, b: Name, f: (x: Series) => number[], low: boolean, digits: number): string => {
    const m = [mean(f(all[a])), mean(f(all[b]))]
    const top = [best(f(all[a]), low), best(f(all[b]), low)]
    const r = (x: number[]): string => (low ? x[0] / x[1] : x[1] / x[0]).toFixed(2)
    return `${m[0].toFixed(digits)} / ${m[1].toFixed(digits)} (${r(m)}); best round ${top[0].toFixed(digits)} / ${top[1].toFixed(digits)} (${r(top)})`
  }
  const rows = [
    '| measure (mean of rounds, and the best round) | plain / TLS (TLS ÷ plain, goal >= 0.80) |', '|---|---|',
    row('keep-alive req/s, wrk', pair('wrk plain', 'wrk tls', (x) => x.rate, false, 0)),
    row('proxy busy under wrk, %', pair('wrk plain', 'wrk tls', (x) => x.busy, false, 0)),
    row('keep-alive req/s, node client', pair('node plain', 'node tls', (x) => x.rate, false, 0)),
    row('proxy busy under the node client, %', pair('node plain', 'node tls', (x) => x.busy, false, 0)),
    row('proxy CPU per request, µs (node client)', pair('node plain', 'node tls', (x) => x.cpuUs, true, 1)),
    '', '| handshakes | full / resumed |', '|---|---|',
    row('new TLS handshakes/s', pair('handshake full', 'handshake resume', (x) => x.rate, false, 0)),
    row('proxy CPU per handshake, µs', pair('handshake full', 'handshake resume', (x) => x.cpuUs, true, 0)),
  ]
  rows.push('', `Other processes: up to ${noisiest.toFixed(0)}% of a CPU in a round${noisiest > 10 ? ' (noisy)' : ''}.`)
  return rows
}

async function main(): Promise<void> {
  const peerPort = await freePort()
  const peer = start('peer', LOAD_CPU, process.execPath, [js('peer'), String(peerPort)], join(tmp, 'peer.log'))
  await ready(peer, peerPort)
  const plain = await freePort()
  const tls = await freePort()
  const config = join(tmp, 'rawproxy.yaml')
  writeFileSync(config, [
    `listen: ["127.0.0.1:${plain}", { address: "127.0.0.1:${tls}", tls: { certificates: [{ cert: ${pki('rsa.pem')}, key: ${pki('rsa.key')} }] } }]`,
    `upstreams: { peer: { peers: ["127.0.0.1:${peerPort}"] } }`, 'access_log: off', '',
  ].join('\n'))
  const proxy = start('rawproxy', PROXY_CPU, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', config], join(tmp, 'rawproxy.log'))
  await ready(proxy, plain)
  console.log(`tls: ${ROUNDS} rounds of ${SECONDS} s runs; wrk ${CONNECTIONS} connections (+${WARMUP} s warm-up), node client ` +
    `${KEEPALIVE_CONC} connections, ${CONC} handshake loops; ` + (PIN ? `load on CPU ${LOAD_CPU}, proxy on CPU ${PROXY_CPU}` : 'NOT pinned'))
  const all = Object.fromEntries(SERIES.map((n) => [n, new Series()])) as Record<Name, Series>
  const setup = { proxyPid: proxy.child.pid!, plain, tls }
  for (let n = 1; n <= ROUNDS; n++) await round(setup, n, all)
  const lines = table(all)
  console.log('\n' + lines.join('\n'))
  const m = machine()
  const where = `${m.date}, ${m.nproc} CPUs (${m.cpu}), node ${m.node}, Linux ${m.kernel}, ${m.wrk}, commit ${m.commit}`
  writeFileSync(join(ROOT, 'bench/results/tls.md'), `# TLS bench (bench/load/tls.ts)\n\n${lines.join('\n')}\n\n` +
    `${ROUNDS} rounds; wrk -t1 -c${CONNECTIONS} ${SECONDS} s after ${WARMUP} s warm-up; node keep-alive client ${KEEPALIVE_CONC} ` +
    `connections; ${CONC} handshake loops; RSA 2048 certificate, TLS 1.3; ` +
    `${PIN ? `load CPU ${LOAD_CPU}, proxy CPU ${PROXY_CPU}` : 'not pinned'}.\n\n${where}\n`)
  console.log('\nwritten: bench/results/tls.md')
  if (errors > 0) throw new Error(`${errors} errors during the runs`)
}

process.on('exit', killAllSync)
main().then(async () => { await stopAll(); rmSync(tmp, { recursive: true, force: true }) }, async (err: Error) => {
  console.error(`tls bench: ${err.message}`)
  await stopAll()
  rmSync(tmp, { recursive: true, force: true })
  process.exitCode = 1
})
