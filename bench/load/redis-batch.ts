/**
 * What a route limited through Redis costs, for two builds side by side in one run: each build runs
 * two rawproxy processes in front of one node:http peer, one with a rate limit kept in a local
 * redis-server (1,000,000/s, burst 1000: it never refuses, so only the store's cost shows) and one
 * without, and wrk drives each in turn (-t1 -c50, `seconds` each; every other round in reverse order).
 * Reported per run: req/s, p50/p99, the rawproxy process's CPU per request (utime + stime of
 * /proc/PID/stat), and requests per script call (Redis's INFO commandstats: EVALSHA and EVAL calls).
 * Nothing is pinned. Waits first until no other wrk runs.
 *
 *   node dist/bench/load/redis-batch.js LABEL=DIST [LABEL=DIST...] [--rounds 3] [--seconds 5]
 *   e.g. main=/tmp/main/dist branch=dist
 */
import { spawn, ChildProcess, execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { AddressInfo, createServer as netServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { wrk, WrkResult } from './wrk.js'

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
const args = process.argv.slice(2)
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? dflt : Number(args.splice(i, 2)[1])
}
const rounds = opt('rounds', 3)
const seconds = opt('seconds', 5)
const builds = args.map((a) => { const [label, dist] = a.split('='); return { label, dist: resolve(dist) } })
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-redis-batch-'))
const children: ChildProcess[] = []
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

async function freePort(): Promise<number> {
  const s = netServer().listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/** utime + stime of a process, in µs. */
function cpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ') // fields from 3 (state) on
  return (Number(rest[11]) + Number(rest[12])) * TICK_US
}

/** A rawproxy of `dist` on `cfg`; resolves with its port once it listens. */
async function rawproxy(dist: string, cfg: string, name: string): Promise<{ pid: number; port: number }> {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, cfg)
  const c = spawn(process.execPath, [join(dist, 'src/cli.js'), '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(c)
  let out = ''
  return new Promise((ok, fail) => {
    const seen = (d: Buffer): void => {
      out += d.toString()
      const m = /listening address=\S+ port=(\d+)/.exec(out)
      if (m !== null) ok({ pid: c.pid!, port: Number(m[1]) })
    }
    c.stdout!.on('data', seen)
    c.stderr!.on('data', seen)
    c.on('exit', (code) => fail(new Error(`${name} exited ${code}: ${out}`)))
  })
}

async function main(): Promise<void> {
  while (true) {
    try { execFileSync('pgrep', ['-x', 'wrk']) } catch { break } // pgrep exits 1: none runs
    console.log('another wrk runs: waiting')
    await sleep(5000)
  }
  const redisPort = await freePort()
  children.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
  const peer = createServer((_req, res) => { res.end('hello world\n') }).listen(0, '127.0.0.1')
  await new Promise((r) => peer.once('listening', r))
  const peerPort = (peer.address() as AddressInfo).port
  await sleep(200)
  const redis = new Redis(redisPort, '127.0.0.1')
  const scriptCalls = async (): Promise<number> => {
    const info = await redis.info('commandstats')
    return [...info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
  }
  const base = `listen: ["127.0.0.1:0"]\nupstreams:\n  u: { peers: ["127.0.0.1:${peerPort}"] }\naccess_log: off\nroutes:\n  - upstream: u\n`
  const limited = base + '    rate_limit:\n      limits: [{ name: bench, key: client_ip, rate: 1000000/s, burst: 1000 }]\n' +
    `      store: { redis: { url: "redis://127.0.0.1:${redisPort}" } }\n`
  const runs: { name: string; pid: number; port: number }[] = []
  for (const b of builds) {
    for (const [kind, cfg] of [['redis', limited], ['none', base]]) {
      const name = `${b.label} ${kind}`
      runs.push({ name, ...await rawproxy(b.dist, cfg, name.replace(' ', '-')) })
    }
  }
  // Warm up each (JIT, the store's connection), then the rounds, alternating.
  for (const r of runs) await wrk({ url: `http://127.0.0.1:${r.port}/`, seconds: 1, connections: 50, cpu: null })
  const rows: string[] = []
  const all = new Map<string, { w: WrkResult; us: number }[]>()
  for (let round = 1; round <= rounds; round++) {
    // Every other round in the reverse order, so that a drift of the machine's load favours no build.
    for (const r of round % 2 === 1 ? runs : [...runs].reverse()) {
      const calls = await scriptCalls()
      const before = cpuUs(r.pid)
      const w = await wrk({ url: `http://127.0.0.1:${r.port}/`, seconds, connections: 50, cpu: null })
      const us = (cpuUs(r.pid) - before) / w.requests
      const made = await scriptCalls() - calls
      const perCall = r.name.endsWith(' redis') ? (w.requests / made).toFixed(1) : '-'
      const line = `| ${round} | ${r.name} | ${Math.round(w.rps)} | ${w.p50.toFixed(2)} | ${w.p99.toFixed(2)} | ${us.toFixed(1)} | ${perCall} | ${w.errors} |`
      console.log(line)
      rows.push(line)
      all.set(r.name, [...(all.get(r.name) ?? []), { w, us }])
    }
  }
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  console.log('\n| median | req/s | p50 ms | p99 ms | CPU µs/req |\n|---|---|---|---|---|')
  for (const [name, xs] of all) {
    console.log(`| ${name} | ${Math.round(med(xs.map((x) => x.w.rps)))} | ${med(xs.map((x) => x.w.p50)).toFixed(2)} | ${med(xs.map((x) => x.w.p99)).toFixed(2)} | ${med(xs.map((x) => x.us)).toFixed(1)} |`)
  }
  redis.disconnect()
  peer.close()
  process.exit(0)
}

console.log('| round | run | req/s | p50 ms | p99 ms | CPU µs/req | req/call | errors |\n|---|---|---|---|---|---|---|---|')
void main()
