/**
 * The HTTPS rows of `make bench`: one rawproxy with a plain and a TLS listener (an RSA 2048 test
 * certificate) in front of the bench peer, and, in alternation so machine drift spreads over both:
 *   - keep-alive requests/s through wrk, plain against TLS (target: TLS >= 80% of plain);
 *   - new TLS handshakes/s from handshakes.ts, full against resumed (session tickets).
 * Same pinning as run.ts: load side on one CPU, the proxy alone on the other. Table printed and
 * written to bench/results/tls.md.
 *
 *   node dist/bench/load/tls.js
 *   env: BENCH_ROUNDS (2), BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_CONNECTIONS (50),
 *        BENCH_HANDSHAKE_CONC (16), BENCH_LOAD_CPU (0), BENCH_PROXY_CPU (1)
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, killAllSync, ready, start, stopAll } from './procs.js'
import { wrk } from './wrk.js'
import { machine } from './report.js'
import { cpuSeconds, otherLoad } from './noise.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const num = (k: string, d: number): number => Number(process.env[k] ?? d)
const ROUNDS = num('BENCH_ROUNDS', 2)
const SECONDS = num('BENCH_SECONDS', 5)
const WARMUP = num('BENCH_WARMUP', 1)
const CONNECTIONS = num('BENCH_CONNECTIONS', 50)
const CONC = num('BENCH_HANDSHAKE_CONC', 16)
const PIN = availableParallelism() >= 2
const LOAD_CPU = PIN ? num('BENCH_LOAD_CPU', 0) : null
const PROXY_CPU = PIN ? num('BENCH_PROXY_CPU', 1) : null
const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-bench-tls-'))
const js = (name: string): string => join(ROOT, 'dist/bench/load', `${name}.js`)

function pki(name: string): string {
  const out = join(ROOT, 'fixtures/tls/out')
  if (!existsSync(join(out, 'weak.pem'))) execFileSync('bash', [join(ROOT, 'fixtures/tls/make-certs.sh')], { stdio: 'ignore' })
  return join(out, name)
}

interface Handshakes { handshakes: number; resumed: number; seconds: number; errors: number }

function handshakes(port: number, seconds: number, mode: 'full' | 'resume'): Promise<Handshakes> {
  const argv = [process.execPath, js('handshakes'), String(port), String(seconds), String(CONC), mode]
  const cmd = LOAD_CPU === null ? argv : ['taskset', '-c', String(LOAD_CPU), ...argv]
  return new Promise((ok, fail) => execFile(cmd[0], cmd.slice(1), { timeout: (seconds + 20) * 1000 }, (err, out) => {
    if (err !== null) fail(err)
    else ok(JSON.parse(out) as Handshakes)
  }))
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

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
  console.log(`tls: ${ROUNDS} rounds; wrk ${CONNECTIONS} connections ${WARMUP}+${SECONDS} s; handshakes ${CONC} loops ${SECONDS} s; ` +
    (PIN ? `load on CPU ${LOAD_CPU}, proxy on CPU ${PROXY_CPU}` : 'NOT pinned'))
  const rps: Record<string, number[]> = { plain: [], tls: [] }
  // The proxy's CPU per request: steadier than req/s on a shared machine, and it tells whether the
  // proxy or the load side (wrk also pays for TLS) set the rate.
  const reqUs: Record<string, number[]> = { plain: [], tls: [] }
  const proxyBusy: Record<string, number[]> = { plain: [], tls: [] }
  let noisiest = 0
  const hs: Record<string, number[]> = { full: [], resume: [] }
  // The proxy's CPU per handshake: the client (node, on the other CPU) may be what limits the rate.
  const cpu: Record<string, number[]> = { full: [], resume: [] }
  let errors = 0
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, url] of [['plain', `http://127.0.0.1:${plain}/`], ['tls', `https://127.0.0.1:${tls}/`]]) {
      if (WARMUP > 0) await wrk({ url, seconds: WARMUP, connections: CONNECTIONS, cpu: LOAD_CPU })
      const other = otherLoad()
      const cpu0 = cpuSeconds(proxy.child.pid!)
      const r = await wrk({ url, seconds: SECONDS, connections: CONNECTIONS, cpu: LOAD_CPU })
      const used = cpuSeconds(proxy.child.pid!) - cpu0
      const us = (used / r.requests) * 1e6
      const busy = other()
      // Under 100%: the proxy waited on the load side (wrk pays for TLS too, on the shared CPU).
      const load = (100 * used) / SECONDS
      proxyBusy[name].push(load)
      noisiest = Math.max(noisiest, busy)
      errors += r.errors
      rps[name].push(r.rps)
      reqUs[name].push(us)
      console.log(`  round ${round} keep-alive ${name.padEnd(6)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(3)} ms  ` +
        `p99 ${r.p99.toFixed(3)} ms  proxy CPU ${us.toFixed(1)} µs/req, busy ${load.toFixed(0)}%  other CPU ${busy.toFixed(0)}%`)
    }
    for (const mode of ['full', 'resume'] as const) {
      const cpu0 = cpuSeconds(proxy.child.pid!)
      const h = await handshakes(tls, SECONDS, mode)
      const us = ((cpuSeconds(proxy.child.pid!) - cpu0) / h.handshakes) * 1e6
      errors += h.errors
      hs[mode].push(h.handshakes / h.seconds)
      cpu[mode].push(us)
      console.log(`  round ${round} handshakes ${mode.padEnd(6)} ${(h.handshakes / h.seconds).toFixed(0).padStart(8)} /s  ` +
        `proxy CPU ${us.toFixed(0)} µs each  (${h.resumed} of ${h.handshakes} resumed)`)
    }
  }
  const ratio = mean(rps.tls) / mean(rps.plain)
  const lines = [
    '| measure | value |', '|---|---|',
    `| keep-alive req/s, plain | ${mean(rps.plain).toFixed(0)} |`,
    `| keep-alive req/s, TLS | ${mean(rps.tls).toFixed(0)} |`,
    `| TLS / plain (goal >= 0.80) | ${ratio.toFixed(2)} ${ratio >= 0.8 ? 'met' : 'NOT met'} |`,
    `| proxy CPU busy, plain / TLS | ${mean(proxyBusy.plain).toFixed(0)}% / ${mean(proxyBusy.tls).toFixed(0)}% |`,
    `| proxy CPU per request, plain / TLS | ${mean(reqUs.plain).toFixed(1)} µs / ${mean(reqUs.tls).toFixed(1)} µs |`,
    `| capacity over TLS (plain CPU/req ÷ TLS CPU/req) | ${(mean(reqUs.plain) / mean(reqUs.tls)).toFixed(2)} |`,
    // Noise only ever adds: the best round of each is the least disturbed estimate.
    `| best round: req/s plain / TLS (ratio) | ${Math.max(...rps.plain).toFixed(0)} / ${Math.max(...rps.tls).toFixed(0)} (${(Math.max(...rps.tls) / Math.max(...rps.plain)).toFixed(2)}) |`,
    `| best round: CPU/req plain / TLS (capacity ratio) | ${Math.min(...reqUs.plain).toFixed(1)} µs / ${Math.min(...reqUs.tls).toFixed(1)} µs (${(Math.min(...reqUs.plain) / Math.min(...reqUs.tls)).toFixed(2)}) |`,
    `| new TLS handshakes/s, full | ${mean(hs.full).toFixed(0)} |`,
    `| new TLS handshakes/s, resumed (tickets) | ${mean(hs.resume).toFixed(0)} |`,
    `| resumed / full, handshakes/s | ${(mean(hs.resume) / mean(hs.full)).toFixed(2)} |`,
    `| proxy CPU per handshake, full / resumed | ${mean(cpu.full).toFixed(0)} µs / ${mean(cpu.resume).toFixed(0)} µs |`,
  ]
  lines.push(`| other processes, busiest round | ${noisiest.toFixed(0)}% of a CPU${noisiest > 10 ? ' (noisy)' : ''} |`)
  console.log('\n' + lines.join('\n'))
  const m = machine()
  const where = `${m.date}, ${m.nproc} CPUs (${m.cpu}), node ${m.node}, Linux ${m.kernel}, ${m.wrk}, commit ${m.commit}`
  writeFileSync(join(ROOT, 'bench/results/tls.md'), `# TLS bench (bench/load/tls.ts)\n\n${lines.join('\n')}\n\n` +
    `${ROUNDS} rounds; wrk -t1 -c${CONNECTIONS} ${SECONDS} s after ${WARMUP} s warm-up; ${CONC} handshake loops for ${SECONDS} s; ` +
    `RSA 2048 certificate, TLS 1.3 (node and wrk defaults); ${PIN ? `load CPU ${LOAD_CPU}, proxy CPU ${PROXY_CPU}` : 'not pinned'}.\n\n${where}\n`)
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
