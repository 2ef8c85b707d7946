// bench-peers' own pieces: the sized-body peer, the config templates (filled in and, where the
// program is installed, accepted by nginx, HAProxy and Caddy), process-group CPU and RSS, and the
// Markdown and SVG drawn from a results file.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deadPort, raw, statuses, waitFor, sleep } from '../support/harness.js'
import { DESIGNS, fill, which } from '../../bench/peers/designs.js'
import { groupCpu, groupPids, groupRss } from '../../bench/peers/group.js'
import { Result, Results, parseCells } from '../../bench/peers/matrix.js'
import { markdown } from '../../bench/peers/report.js'
import { chart } from '../../bench/peers/chart.js'
import { loadFile } from '../../src/config/load.js'

const t = suite('bench/peers')
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-peers-spec-'))
const PEER = join(process.cwd(), 'dist/bench/peers/peer.js')
let peerPort = 0
const peer = { kill: (): void => {} }

function exec(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 20_000 }, (e, stdout, stderr) =>
    resolve({ code: e === null ? 0 : Number((e as { code?: number }).code ?? 1), out: stdout + stderr })))
}

t.before(async () => {
  peerPort = await deadPort()
  const child = spawn(process.execPath, [PEER, String(peerPort)], { stdio: 'ignore' })
  peer.kill = () => child.kill('SIGKILL')
  for (let i = 0; i < 100; i++) {
    if ((await raw(peerPort, 'GET /0 HTTP/1.1\r\nHost: p\r\n\r\n', { until: (s) => s.includes('\r\n\r\n'), ms: 200 })).text !== '') return
    await sleep(20)
  }
  throw new Error('the peer did not start')
})
t.after(() => { peer.kill(); rmSync(dir, { recursive: true, force: true }) })

t('the peer answers as many body bytes as the path says, pipelined and split, and keeps the connection', async () => {
  const two = await raw(peerPort, 'GET /1024 HTTP/1.1\r\nHost: p\r\n\r\nGET /3?x HTTP/1.1\r\nHost: p\r\n\r\n',
    { until: (s) => s.endsWith('\r\n\r\nxxx') })
  assert.equal(statuses(two.text), [200, 200])
  assert.ok(two.text.includes(`Content-Length: 1024\r\n\r\n${'x'.repeat(1024)}HTTP/1.1`))
  assert.is(two.closed, false)
  assert.not.match(two.text, /Connection: close/)
  const split = await raw(peerPort, ['GET /5 HTTP/1.1\r\nHo', 'st: p\r', '\n\r\n'], { until: (s) => s.endsWith('xxxxx') })
  assert.match(split.text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 5\r\n\r\nxxxxx$/)
  const root = await raw(peerPort, 'GET / HTTP/1.1\r\nHost: p\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })
  assert.match(root.text, /Content-Length: 0\r\n\r\n$/)
})

t('the peer says Connection: close and closes when the request asks for it', async () => {
  const r = await raw(peerPort, 'GET /2 HTTP/1.1\r\nHost: p\r\nConnection: Close\r\n\r\nGET /9 HTTP/1.1\r\nHost: p\r\n\r\n')
  assert.is(r.closed, true)
  assert.equal(statuses(r.text), [200]) // the second request, after close, is not answered
  assert.match(r.text, /Connection: close\r\n\r\nxx$/)
})

t('every template is filled in with the ports and dir, and rawproxy.yaml is a valid rawproxy config', () => {
  const ctx = { port: 18081, peerPort: 18082, dir, cpu: null }
  for (const name of ['rawproxy.yaml', 'nginx.conf', 'haproxy.cfg', 'Caddyfile']) {
    const text = readFileSync(fill(name, ctx), 'utf8')
    assert.not.match(text, /\{\{/, name)
    assert.ok(text.includes('127.0.0.1:18081') && text.includes('127.0.0.1:18082'), name)
  }
  const cfg = loadFile(join(dir, 'rawproxy.yaml'))
  assert.is(cfg.listen[0].port, 18081)
  const up = cfg.upstreams.get('peer')!
  assert.equal(up.peers.map((p) => p.port), [18082])
  assert.is(up.keepalive.max_idle, 1024)
  assert.equal(DESIGNS.map((d) => d.name), ['rawproxy', 'nginx', 'haproxy', 'caddy', 'tcp-pipe'])
})

t('nginx, HAProxy and Caddy accept their configs (each where installed)', async () => {
  const ctx = { port: 18081, peerPort: 18082, dir, cpu: null }
  const checks: [string, () => string[]][] = [
    ['nginx', () => ['-t', '-p', dir, '-c', fill('nginx.conf', ctx), '-e', join(dir, 'nginx-error.log')]],
    ['haproxy', () => ['-c', '-f', fill('haproxy.cfg', ctx)]],
    ['caddy', () => ['validate', '--adapter', 'caddyfile', '--config', fill('Caddyfile', ctx)]],
  ]
  for (const [bin, args] of checks) {
    const path = which(bin)
    if (path === null) { console.log(`  (${bin} not installed: its config is not checked)`); continue }
    const r = await exec(bin === 'caddy' ? 'env' : path, bin === 'caddy' ? [`HOME=${dir}`, `XDG_DATA_HOME=${dir}`, `XDG_CONFIG_HOME=${dir}`, path, ...args()] : args())
    assert.is(r.code, 0, `${bin} refused its config:\n${r.out}`)
  }
})

t('CPU time and RSS are summed over a process group', async () => {
  // A leader that starts a second process in its group; each burns 400 ms of CPU time (not wall
  // time: the machine may be shared), then idles. One of them alone stays well under 0.7 s.
  const burn = 'const u = () => process.cpuUsage().user; const s = u(); while (u() - s < 400000); setTimeout(() => {}, 20000)'
  const leader = spawn(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burn)}], { stdio: 'ignore' }); ${burn}`],
    { stdio: 'ignore', detached: true })
  try {
    await waitFor(() => groupPids(leader.pid!).length === 2, 5000, 'two processes in the group')
    await waitFor(() => groupCpu(leader.pid!) >= 0.7, 10_000, 'the CPU time of both processes')
    assert.ok(groupRss(leader.pid!) > 2 * 20 * 2 ** 20, 'two node processes hold over 40 MiB')
    assert.equal(groupPids(999_999_999), [])
  } finally {
    process.kill(-leader.pid!, 'SIGKILL')
  }
})

function result(design: string, rps: number, p99: number, cpuUs: number, errors = 0): Result {
  return { design, rps, rpsMin: rps, rpsMax: rps, p50: p99 / 2, p99, cpuUs, errors, other: 0, rss: 20 * 2 ** 20 }
}

const results: Results = {
  machine: { date: '2026-01-02T03:04:05.000Z', nproc: 2, cpu: 'cpu', node: 'v20', kernel: '6', wrk: 'wrk 4', commit: 'abc' },
  settings: { rounds: 1, seconds: 3, warmup: 1, loadCpu: '0', proxyCpu: '1', maxOther: 10, retries: 1, quick: false },
  designs: [
    { name: 'straight', about: 'the peer', skipped: null },
    { name: 'rawproxy', about: 'us', skipped: null },
    { name: 'nginx', about: 'nginx', skipped: null },
    { name: 'caddy', about: 'Caddy', skipped: 'caddy is not installed' },
  ],
  cells: [
    { cell: { size: 0, connections: 50, mode: 'keep-alive' },
      results: { straight: result('straight', 100_000, 1, 5), rawproxy: result('rawproxy', 30_000, 4, 20), nginx: result('nginx', 40_000, 2, 10) } },
    { cell: { size: 1024 * 1024, connections: 1000, mode: 'close' },
      results: { straight: result('straight', 2000, 900, 50), rawproxy: result('rawproxy', 900, 1500, 400, 7), nginx: result('nginx', 1000, 1200, 300) } },
  ],
}

t('the Markdown report has the key cell, the ratios, every cell, and says what was skipped', () => {
  const md = markdown(results)
  assert.match(md, /## Key cell: 0 B · 50 conn · keep-alive/)
  assert.match(md, /\| rawproxy \| 30,000 \| 2\.000 ms \| 4\.000 ms \| 20\.0 µs \| 60% \| 20\.0 MiB \| 0 \| 0% \|/)
  assert.match(md, /\| nginx \| 0\.75× \| 2\.00× \| 2\.00× \|/)
  assert.match(md, /\| 1 MiB · 1000 conn · new conn\/req \| 2,000 \| 900 \(7 err\) \| 1,000 \|/)
  assert.match(md, /\*\*caddy\*\*: Caddy — \*\*skipped\*\*: caddy is not installed/)
  assert.not.match(md, /\| cell \|[^\n]*caddy/) // no column for a design that did not run
})

t('the SVG chart has one bar per design and cell, scaled per cell, with the values written on', () => {
  const svg = chart(results)
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trimEnd().endsWith('</svg>'))
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#[0-9a-f]{6}"><title>([^<]+)<\/title>/g)]
  assert.is(bars.length, 6)
  // The fastest design of each cell gets the full panel height; the others are in proportion.
  const h = (design: string, nth: number): number => Number(bars.filter((b) => b[2].startsWith(`${design}:`))[nth][1])
  assert.is(h('straight', 0), h('straight', 1))
  assert.ok(Math.abs(h('rawproxy', 0) / h('straight', 0) - 0.3) < 0.01)
  assert.ok(Math.abs(h('rawproxy', 1) / h('straight', 1) - 0.45) < 0.01)
  assert.match(svg, />100k</)
  assert.match(svg, />900!</) // errors are flagged on the bar
  assert.not.match(svg, /caddy/)
})

t('BENCH_CELLS picks cells as SIZE/CONNECTIONS/MODE and refuses anything else', () => {
  assert.equal(parseCells('0/1000/keep-alive, 65536/50/close'),
    [{ size: 0, connections: 1000, mode: 'keep-alive' }, { size: 65536, connections: 50, mode: 'close' }])
  for (const bad of ['0/0/close', '1k/50/close', '0/50/pipelined', '0/50']) {
    assert.throws(() => parseCells(bad), /BENCH_CELLS: .* is not SIZE\/CONNECTIONS\/keep-alive\|close/, bad)
  }
})

t.run()
