// bench-peers' own pieces: the sized-body peer, the config templates (filled in and, where the
// program is installed, accepted by nginx, HAProxy, Caddy and Varnish), process-group CPU and RSS, the
// cache section's hit checks, and the Markdown and SVG drawn from a results file.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deadPort, httpUpstream, raw, statuses, waitFor, sleep } from '../support/harness.js'
import { CACHE_DESIGNS, DESIGNS, cacheStatus, fill, varnishArgs, which, xCache } from '../../bench/peers/designs.js'
import { CACHE_ROWS, verify } from '../../bench/peers/cache.js'
import { groupCpu, groupPids, groupRss } from '../../bench/peers/group.js'
import { CacheResults, Result, Results, parseCells } from '../../bench/peers/matrix.js'
import { cacheSection, markdown } from '../../bench/peers/report.js'
import { chart } from '../../bench/peers/chart.js'
import { loadFile } from '../../src/config/load.js'
import { nginxBin, startNginxPeer } from '../../bench/load/nginx-peer.js'
import { stop } from '../../bench/load/procs.js'

const t = suite('bench/peers')
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-peers-spec-'))
// varnishd (and nginx's workers) run as an unprivileged user when started as root: let them read it.
chmodSync(dir, 0o755)
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

t('the peer answers /cache/SIZE cacheable for an hour with an ETag and a Date, /nostore/SIZE no-store', async () => {
  const c = await raw(peerPort, 'GET /cache/5 HTTP/1.1\r\nHost: p\r\n\r\nGET /nostore/3?q HTTP/1.1\r\nHost: p\r\n\r\n',
    { until: (s) => s.endsWith('\r\n\r\nxxx') })
  assert.equal(statuses(c.text), [200, 200])
  const [first, second] = c.text.split(/(?=HTTP\/1\.1 )/)
  assert.match(first, /\r\nCache-Control: public, max-age=3600\r\nETag: "5"\r\n/)
  assert.match(first, /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/)
  assert.match(first, /Content-Length: 5\r\n\r\nxxxxx$/)
  assert.match(second, /\r\nCache-Control: no-store\r\n/)
  assert.not.match(second, /ETag/)
  assert.match(second, /Content-Length: 3\r\n\r\nxxx$/)
  const plain = await raw(peerPort, 'GET /4 HTTP/1.1\r\nHost: p\r\n\r\n', { until: (s) => s.endsWith('xxxx') })
  assert.not.match(plain.text, /Cache-Control|Date|ETag/) // the matrix's responses are as before
})

t('the nginx peer (where installed) answers /, /SIZE, /cache/SIZE and /nostore/SIZE as the Node peer does, and closes on Connection: close', async () => {
  if (nginxBin() === null) return
  const ports = [await deadPort(), await deadPort()]
  const own = mkdtempSync(join(tmpdir(), 'rawproxy-nginx-peer-spec-'))
  chmodSync(own, 0o755)
  const proc = await startNginxPeer(ports, own, null, [0, 5, 1024])
  try {
    for (const port of ports) {
      const r = await raw(port, 'GET / HTTP/1.1\r\nHost: p\r\n\r\nGET /1024 HTTP/1.1\r\nHost: p\r\n\r\n', { until: (s) => s.endsWith('x'.repeat(1024)) })
      assert.equal(statuses(r.text), [200, 200])
      assert.match(r.text, /Content-Length: 12\r\n[^]*\r\n\r\nhello world\nHTTP\/1\.1 200/)
      assert.is(r.closed, false)
    }
    const c = await raw(ports[0], 'GET /cache/5 HTTP/1.1\r\nHost: p\r\n\r\nGET /nostore/0 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n')
    assert.is(c.closed, true)
    const [first, second] = c.text.split(/(?=HTTP\/1\.1 )/)
    assert.match(first, /\r\nCache-Control: public, max-age=3600\r\n/)
    assert.match(first, /\r\nETag: "[^"]+"\r\n/)
    assert.match(first, /\r\n\r\nxxxxx$/)
    assert.match(second, /\r\nCache-Control: no-store\r\n/)
    assert.match(second, /\r\nConnection: close\r\n/)
  } finally {
    await stop(proc)
    rmSync(own, { recursive: true, force: true })
  }
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
  assert.equal(DESIGNS.map((d) => d.name), ['rawproxy', 'rawproxy-log', 'nginx', 'haproxy', 'caddy', 'tcp-pipe'])
  // rawproxy-log: the same proxy with its access log on, to a file in the run's dir.
  const logged = loadFile(fill('rawproxy-log.yaml', ctx))
  assert.equal(logged.upstreams.get('peer')!.peers.map((p) => p.port), [18082])
  assert.is(logged.access_log.path, `${dir}/rawproxy-access.log`)
  assert.equal(CACHE_DESIGNS.map((d) => d.name), ['rawproxy', 'rawproxy-cache', 'nginx-cache', 'varnish'])
  for (const name of ['rawproxy-cache.yaml', 'nginx-cache.conf']) {
    const text = readFileSync(fill(name, ctx), 'utf8')
    assert.not.match(text, /\{\{/, name)
    assert.ok(text.includes('127.0.0.1:18081') && text.includes('127.0.0.1:18082'), name)
  }
  assert.match(readFileSync(fill('nginx-cache.conf', ctx), 'utf8'), new RegExp(`proxy_cache_path ${dir}/nginx-cache `))
  assert.not.match(readFileSync(fill('nginx-cache.conf', ctx), 'utf8'), /^\s*proxy_cache_valid/m) // the peer's Cache-Control decides
  const vcl = readFileSync(fill('varnish.vcl', ctx), 'utf8')
  assert.not.match(vcl, /\{\{/)
  assert.match(vcl, /\.host = "127\.0\.0\.1";\s*\.port = "18082";/)
  assert.equal(varnishArgs(ctx).slice(0, 3), ['-F', '-a', '127.0.0.1:18081'])
  assert.ok(varnishArgs(ctx).join(' ').includes('-s malloc,256m -p thread_pools=1'))
})

t('rawproxy-cache.yaml is a valid rawproxy config with `cache` on its one route', () => {
  const ctx = { port: 18081, peerPort: 18082, dir, cpu: null }
  const cfg = loadFile(fill('rawproxy-cache.yaml', ctx))
  assert.is(cfg.listen[0].port, 18081)
  assert.is(cfg.routes.length, 1)
  assert.is(cfg.routes[0].upstream, 'peer')
  assert.ok(cfg.routes[0].features.cache != null, 'the route sets its own cache')
})

t('nginx, HAProxy, Caddy and Varnish accept their configs (each where installed)', async () => {
  const ctx = { port: 18081, peerPort: 18082, dir, cpu: null }
  const checks: [string, () => string[]][] = [
    ['nginx', () => ['-t', '-p', dir, '-c', fill('nginx.conf', ctx), '-e', join(dir, 'nginx-error.log')]],
    ['haproxy', () => ['-c', '-f', fill('haproxy.cfg', ctx)]],
    ['caddy', () => ['validate', '--adapter', 'caddyfile', '--config', fill('Caddyfile', ctx)]],
    ['nginx', () => ['-t', '-p', dir, '-c', fill('nginx-cache.conf', ctx), '-e', join(dir, 'nginx-cache-error.log')]],
    // -C: compile the VCL (the built-in one included) to C and print it, without starting anything.
    ['varnishd', () => ['-C', '-n', join(dir, 'varnish-check'), '-f', fill('varnish.vcl', ctx)]],
  ]
  for (const [bin, args] of checks) {
    const path = which(bin)
    if (path === null) { console.log(`  (${bin} not installed: its config is not checked)`); continue }
    const r = await exec(bin === 'caddy' ? 'env' : path, bin === 'caddy' ? [`HOME=${dir}`, `XDG_DATA_HOME=${dir}`, `XDG_CONFIG_HOME=${dir}`, path, ...args()] : args())
    assert.is(r.code, 0, `${bin} refused its config:\n${r.out}`)
  }
})

t('the cache verdicts: rawproxy\'s Cache-Status (its own, last member), X-Cache of nginx and Varnish', () => {
  assert.is(cacheStatus({ 'cache-status': 'rawproxy; hit; ttl=3599' }), 'hit')
  assert.is(cacheStatus({ 'cache-status': 'Origin; fwd=uri-miss, rawproxy; hit' }), 'hit')
  assert.is(cacheStatus({ 'cache-status': 'Other; hit, rawproxy; fwd=uri-miss; stored' }), 'miss') // ours is the last
  assert.is(cacheStatus({ 'cache-status': 'rawproxy; fwd=request; fwd-status=200' }), 'miss')
  assert.is(cacheStatus({}), 'none')
  assert.is(xCache({ 'x-cache': 'HIT' }), 'hit')
  assert.is(xCache({ 'x-cache': 'MISS' }), 'miss')
  assert.is(xCache({ 'x-cache': 'EXPIRED' }), 'miss')
  assert.is(xCache({}), 'none')
})

t('the hit check: warmed, the second answer must say hit with the whole body; a miss row wants forwards', async () => {
  // X-Cache says HIT from the second request of a URL on; /nostore/ never.
  const seen = new Map<string, number>()
  const up = await httpUpstream((req, res) => {
    const n = (seen.get(req.url!) ?? 0) + 1
    seen.set(req.url!, n)
    const size = Number(/\d+$/.exec(req.url!)![0])
    res.setHeader('X-Cache', n > 1 && req.url!.startsWith('/cache/') ? 'HIT' : 'MISS')
    res.end('x'.repeat(req.url === '/cache/65536' ? 10 : size))
  })
  try {
    const nginx = CACHE_DESIGNS.find((d) => d.name === 'nginx-cache')!
    const plain = CACHE_DESIGNS.find((d) => d.name === 'rawproxy')!
    const [hit1k, hit64k, miss] = CACHE_ROWS
    assert.equal(await verify(nginx, up.port, hit1k, true), { why: null, seen: 'x-cache: HIT' })
    assert.is(seen.get('/cache/1024'), 2)
    assert.match((await verify(nginx, up.port, hit64k, true)).why!, /got 200 with 10 body bytes, want 200 with 65536/)
    assert.is((await verify(nginx, up.port, miss, true)).why, null)
    const noCache = await verify(nginx, up.port, { ...hit1k, path: '/nostore/1024' }, true)
    assert.match(noCache.why!, /was a miss, want a hit \(x-cache: MISS\)/)
    // The plain proxy must carry no cache field at all in the miss row; this one has X-Cache but
    // no Cache-Status, which is what rawproxy reads.
    assert.is((await verify(plain, up.port, miss, true)).why, null)
    assert.match((await verify(plain, await deadPort(), miss, false)).why!, /GET \/nostore\/1024: connect ECONNREFUSED/)
  } finally {
    await up.close()
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

const cache: CacheResults = {
  connections: 50,
  designs: [
    { name: 'rawproxy', about: 'plain', skipped: null },
    { name: 'rawproxy-cache', about: 'us with cache', skipped: null },
    { name: 'nginx-cache', about: 'nginx proxy_cache', skipped: null },
    { name: 'varnish', about: 'Varnish', skipped: 'varnishd is not installed' },
  ],
  rows: [
    { row: CACHE_ROWS[0], results: { 'rawproxy-cache': result('rawproxy-cache', 60_000, 2, 15), 'nginx-cache': result('nginx-cache', 50_000, 2.5, 20) }, refused: {},
      seen: { 'rawproxy-cache': 'cache-status: rawproxy; hit; ttl=3599; age: 0', 'nginx-cache': 'x-cache: HIT' } },
    { row: CACHE_ROWS[1], results: { 'nginx-cache': result('nginx-cache', 30_000, 3, 30) }, refused: { 'rawproxy-cache': 'GET /cache/65536 (the second) was a miss, want a hit' } },
    { row: CACHE_ROWS[2], results: { rawproxy: result('rawproxy', 40_000, 3, 25), 'rawproxy-cache': { ...result('rawproxy-cache', 34_000, 3.3, 29), other: 40 } }, refused: {} },
  ],
}

t('the Cache part of the report: every row, the ratios against issue 11\'s targets, the refusals', () => {
  const md = cacheSection(cache, 10).join('\n')
  assert.match(md, /^## Cache\n/)
  assert.match(md, /\*\*varnish\*\*: Varnish — \*\*skipped\*\*: varnishd is not installed/)
  assert.match(md, /\| hit · 1 KiB \| rawproxy-cache \| 60,000 \| 1\.000 ms \| 2\.000 ms \| 15\.0 µs \| 90% \| 20\.0 MiB \| 0 \| 0% \|/)
  assert.match(md, /\| hit · 64 KiB \| rawproxy-cache \| \*\*refused\*\* \|/)
  assert.match(md, /\| hit · 1 KiB: rawproxy-cache \/ nginx-cache \| 1\.20× \| 0\.80× \| 0\.75× \| req\/s ≥ 1\.00×, p99 ≤ 1\.00× \| met \|/)
  assert.match(md, /\| hit · 64 KiB: rawproxy-cache \/ nginx-cache \| – \| – \| – \| [^|]+ \| not measured \|/)
  assert.match(md, /\| miss · 1 KiB: rawproxy-cache \/ rawproxy \| 0\.85× \| 1\.10× \| 1\.16× \| req\/s ≥ 0\.90× \| \*\*missed\*\* \(noisy\) \|/)
  assert.match(md, /\| miss · 1 KiB \| rawproxy-cache \| 34,000 ~ \|/)
  assert.match(md, /- hit · 1 KiB, rawproxy-cache: `cache-status: rawproxy; hit; ttl=3599; age: 0`/)
  assert.match(md, /- hit · 64 KiB: \*\*rawproxy-cache\*\* refused: GET \/cache\/65536 \(the second\) was a miss/)
  const whole = markdown({ ...results, cache })
  assert.ok(whole.includes(md), 'the full report ends with the cache part')
  assert.match(markdown({ ...results, cells: [], cache }), /\(the cache section only\)/)
  assert.match(markdown(results), /\(no cache section\)/)
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
