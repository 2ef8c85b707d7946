/**
 * `bash bench/run.sh auth-flood`: does a flood of wrong passwords on one route slow the others?
 * One rawproxy, two routes: `/auth` asks for Basic credentials (a bcrypt user of cost 5, as
 * `htpasswd -B` makes it), `/` asks for none. wrk loads `/` (50 connections, keep-alive) in turns, alone
 * and with FLOOD_RATE wrong-password requests a second on `/auth` (bench/load/flood.ts); the table
 * compares requests/s, p50 and p99 of `/` between the two. The proxy is pinned to one CPU, which
 * its event loop and its hashing thread then share (the worst case for the loop).
 *
 *   env: BENCH_ROUNDS (2), BENCH_SECONDS (8), FLOOD_RATE (200), FLOOD_CONNECTIONS (8)
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { hashSync } from 'bcrypt'
import { Proc, freePort, ready, start, stop } from './procs.js'
import { wrk, WrkResult } from './wrk.js'
import { ROOT, envNumber, guard, pinning } from './guard.js'

const ROUNDS = envNumber('BENCH_ROUNDS', 2)
const SECONDS = envNumber('BENCH_SECONDS', 8)
const RATE = envNumber('FLOOD_RATE', 200)
const CONC = envNumber('FLOOD_CONNECTIONS', 8)
const { loadCpu, proxyCpu } = pinning()
const tmp = mkdtempSync(join(tmpdir(), 'rawproxy-flood-'))

interface Flood { sent: number; statuses: Record<string, number>; seconds: number }
interface Row { setting: string; quiet: WrkResult[]; flooded: WrkResult[]; floods: Flood[] }

function flood(port: number): Promise<Flood> {
  const args = [join(ROOT, 'dist/bench/load/flood.js'), String(port), String(SECONDS), String(RATE), String(CONC), '/auth']
  const argv = loadCpu === null ? [process.execPath, ...args] : ['taskset', '-c', String(loadCpu), process.execPath, ...args]
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: (SECONDS + 20) * 1000 }, (err, out) => err !== null ? reject(err) : resolve(JSON.parse(out) as Flood))
  })
}

async function proxy(peerPort: number, cpu: number | null, name: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort()
  const file = join(tmp, `${name}.yaml`)
  const hash = hashSync('the-password', '$2b$05$abcdefghijklmnopqrstuu').replace('$2b$', '$2y$')
  writeFileSync(file, [
    `listen: 127.0.0.1:${port}`,
    'upstreams:', '  peer:', `    peers: [127.0.0.1:${peerPort}]`,
    'access_log: off',
    'routes:',
    `  - { path: /auth, upstream: peer, auth: { realm: bench, users: { bench: "${hash}" } } }`,
    '  - { path: /, upstream: peer }',
    '',
  ].join('\n'))
  const proc = start(name, cpu, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', file], join(tmp, `${name}.log`))
  await ready(proc, port)
  return { proc, port }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const f = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })

async function measure(setting: string, peerPort: number, cpu: number | null): Promise<Row> {
  const px = await proxy(peerPort, cpu, 'rawproxy')
  const load = (): Promise<WrkResult> => wrk({ url: `http://127.0.0.1:${px.port}/`, seconds: SECONDS, connections: 50, cpu: loadCpu })
  await wrk({ url: `http://127.0.0.1:${px.port}/`, seconds: 1, connections: 50, cpu: loadCpu }) // warm-up
  const row: Row = { setting, quiet: [], flooded: [], floods: [] }
  for (let r = 1; r <= ROUNDS; r++) {
    row.quiet.push(await load())
    const [w, fl] = await Promise.all([load(), flood(px.port)])
    row.flooded.push(w)
    row.floods.push(fl)
    const q = row.quiet.at(-1)!
    console.log(`  ${setting} round ${r}: alone ${f(q.rps)} req/s p99 ${q.p99.toFixed(2)} ms | flooded ${f(w.rps)} req/s p99 ${w.p99.toFixed(2)} ms, flood ${JSON.stringify(fl.statuses)}`)
  }
  await stop(px.proc)
  return row
}

function table(rows: Row[]): string {
  const lines = ['| proxy | `/` alone: req/s, p50, p99 | `/` under the flood: req/s, p50, p99 | p99 added | flood answers (of sent) |', '|---|---|---|---:|---|']
  for (const r of rows) {
    const q = { rps: mean(r.quiet.map((x) => x.rps)), p50: mean(r.quiet.map((x) => x.p50)), p99: mean(r.quiet.map((x) => x.p99)) }
    const w = { rps: mean(r.flooded.map((x) => x.rps)), p50: mean(r.flooded.map((x) => x.p50)), p99: mean(r.flooded.map((x) => x.p99)) }
    const answers: Record<string, number> = {}
    for (const fl of r.floods) for (const [k, v] of Object.entries(fl.statuses)) answers[k] = (answers[k] ?? 0) + v
    const sent = r.floods.reduce((a, fl) => a + fl.sent, 0)
    lines.push(`| ${r.setting} | ${f(q.rps)}, ${q.p50.toFixed(2)} ms, ${q.p99.toFixed(2)} ms | ${f(w.rps)}, ${w.p50.toFixed(2)} ms, ${w.p99.toFixed(2)} ms | ` +
      `${(w.p99 - q.p99).toFixed(2)} ms | ${Object.entries(answers).map(([k, v]) => `${k}: ${f(v)}`).join(', ')} (of ${f(sent)}) |`)
  }
  return lines.join('\n')
}

guard('auth-flood', ROUNDS * 2 * (SECONDS + 8) + 90, tmp, async () => {
  const peerPort = await freePort()
  const peer = start('peer', loadCpu, process.execPath, [join(ROOT, 'dist/bench/load/peer.js'), String(peerPort)], join(tmp, 'peer.log'))
  await ready(peer, peerPort)
  console.log(`auth-flood: ${ROUNDS} rounds of ${SECONDS} s, wrk on / (50 connections) alone and beside ${RATE} wrong passwords/s on /auth (bcrypt cost 5)`)
  // Pinned, the proxy's event loop and its hashing thread share one CPU: the case the priority of
  // that thread is for. (Unpinned, either may land on the CPU of wrk and the peer, and the run then
  // measures the scheduler's choices more than the proxy.)
  const rows = [await measure(`rawproxy on CPU ${proxyCpu ?? 'any'}`, peerPort, proxyCpu)]
  const md = table(rows)
  console.log(`\n${md}`)
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench/results/auth-flood.md'), `### Auth flood (\`bash bench/run.sh auth-flood\`, ${new Date().toISOString().slice(0, 10)})\n\n` +
    `wrk on \`/\` (no auth), 50 keep-alive connections, ${ROUNDS} rounds of ${SECONDS} s, alone and beside ${RATE} wrong-password requests/s on \`/auth\` ` +
    `(bcrypt cost 5, the verifier's one worker thread) from ${CONC} keep-alive connections. wrk, the peer and the flood on CPU ${loadCpu ?? 'any'}.\n\n${md}\n`)
  await stop(peer)
})
