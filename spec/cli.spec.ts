import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFile, ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { httpUpstream, HttpUpstream, waitFor, sleep } from './support/harness.js'
import { holdSignals } from '../src/signals.js'

const t = suite('cli')
const CLI = join(process.cwd(), 'dist/src/cli.js')
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-cli-'))
let a: HttpUpstream
let b: HttpUpstream

interface Proc { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

function run(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  return { child, out: () => out, err: () => err, exited }
}

function curl(url: string, ...extra: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('curl', ['-s', '--max-time', '5', ...extra, url], (e, stdout) => e ? reject(e) : resolve(stdout)))
}

/** The port from the proxy's "listening" event line. */
async function listening(p: Proc): Promise<number> {
  await waitFor(() => /listening address=\S+ port=\d+/.test(p.err()), 5000, 'the listening event')
  return Number(/listening address=\S+ port=(\d+)/.exec(p.err())![1])
}

function config(file: string, port: number, extra = ''): string {
  writeFileSync(file, `listen: ["127.0.0.1:0"]\nupstreams:\n  main: { peers: ["127.0.0.1:${port}"] }\naccess_log: { path: ${join(dir, 'access.log')}, format: json }\n${extra}`)
  return file
}

t.before(async () => {
  a = await httpUpstream((req, res) => { setTimeout(() => res.end('from-a'), req.url === '/slow' ? 600 : req.url === '/slower' ? 2000 : 0) })
  b = await httpUpstream((_req, res) => res.end('from-b'))
})
t.after(async () => { await a.close(); await b.close() })

t('--check accepts a good config and refuses a bad one with the field path', async () => {
  const good = run(['--check', '--config', config(join(dir, 'good.yaml'), a.port)])
  assert.is(await good.exited, 0)
  assert.match(good.out(), /config ok/)
  writeFileSync(join(dir, 'bad.yaml'), 'upstreams:\n  api: { peers: ["127.0.0.1:1"] }\nroutes:\n  - { upstream: api }\n  - { path: /x, upstream: api2 }\n')
  const bad = run(['--check', '--config', join(dir, 'bad.yaml')])
  assert.is(await bad.exited, 1)
  assert.match(bad.err(), /routes\[1\]\.upstream: unknown upstream "api2"/)
  const none = run(['--check', '--config', join(dir, 'missing.yaml')])
  assert.is(await none.exited, 1)
  assert.match(none.err(), /cannot read/)
})

t('bad arguments print the usage', async () => {
  const p = run(['--bogus'])
  assert.is(await p.exited, 2)
  assert.match(p.err(), /usage:/)
  const q = run([])
  assert.is(await q.exited, 1)
  assert.match(q.err(), /give --config FILE/)
})

t('quick mode proxies to the given peers, round-robin; SIGTERM stops it', async () => {
  const p = run(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${a.port}`, '--upstream', `127.0.0.1:${b.port}`])
  const port = await listening(p)
  const got = [await curl(`http://127.0.0.1:${port}/`), await curl(`http://127.0.0.1:${port}/`)]
  assert.equal(got.sort(), ['from-a', 'from-b'])
  p.child.kill('SIGTERM')
  assert.is(await p.exited, 0)
  assert.match(p.err(), /stopping signal=SIGTERM/)
})

t('SIGHUP reloads atomically; in-flight requests finish on the old config; a bad reload keeps the last good one', async () => {
  const file = config(join(dir, 'reload.yaml'), a.port)
  const p = run(['--config', file])
  const port = await listening(p)
  assert.is(await curl(`http://127.0.0.1:${port}/`), 'from-a')
  const seen = a.requests.length
  const slow = curl(`http://127.0.0.1:${port}/slow`)
  await waitFor(() => a.requests.length > seen, 5000, 'the slow request at the peer') // not a fixed sleep: curl may start late on a busy machine
  config(file, b.port)
  p.child.kill('SIGHUP')
  await waitFor(() => /reloaded/.test(p.err()), 3000, 'the reload event')
  assert.is(await curl(`http://127.0.0.1:${port}/`), 'from-b')
  assert.is(await slow, 'from-a', 'the request in flight finished on the config it started with')
  writeFileSync(file, 'upstreams:\n  main: { peers: ["127.0.0.1:1"] }\nroutes:\n  - { upstream: nope }\n')
  p.child.kill('SIGHUP')
  await waitFor(() => /reload refused/.test(p.err()), 3000, 'the refusal event')
  assert.match(p.err(), /routes\[0\]\.upstream: unknown upstream \\?"nope\\?"/)
  assert.is(await curl(`http://127.0.0.1:${port}/`), 'from-b', 'the last good config stays in force')
  p.child.kill('SIGINT')
  assert.is(await p.exited, 0)
  const log = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(log.length >= 4)
  assert.equal(Object.keys(log[0]), ['time', 'client', 'method', 'target', 'status', 'bytes_in', 'bytes_out', 'ms', 'peer', 'peer_ms', 'cause'])
  assert.is(log.find((l) => l.target === '/slow').cause, '--')
})

t('signals while starting are held, not fatal, and handed back in order (cli.ts holds them before loading the proxy)', async () => {
  // In this very process: without the hold, SIGHUP's default action would end the spec run.
  const before = process.listenerCount('SIGHUP')
  const release = holdSignals()
  process.kill(process.pid, 'SIGHUP')
  process.kill(process.pid, 'SIGHUP')
  await sleep(50)
  assert.equal(release(), ['SIGHUP', 'SIGHUP'])
  assert.is(process.listenerCount('SIGHUP'), before, 'released: the service\'s own handlers take over')
})

t('SIGTERM lets a request in flight finish within the grace period', async () => {
  const p = run(['--config', config(join(dir, 'grace.yaml'), a.port, 'timeouts: { grace: 3s }\n')])
  const port = await listening(p)
  const seen = a.requests.length
  const slow = curl(`http://127.0.0.1:${port}/slow`)
  await waitFor(() => a.requests.length > seen, 5000, 'the slow request at the peer') // not a fixed sleep: curl may start late on a busy machine
  p.child.kill('SIGTERM')
  assert.is(await slow, 'from-a')
  assert.is(await p.exited, 0)
})

t('the admin API: /ready turns 503 while a SIGTERM lets the request in flight finish; a SIGHUP counts as a reload', async () => {
  const p = run(['--config', config(join(dir, 'admin.yaml'), a.port, 'timeouts: { grace: 3s }\nadmin: { listen: "127.0.0.1:0", token: cli-spec-token-0123456789 }\n')])
  const port = await listening(p)
  await waitFor(() => /admin listening address=\S+ port=\d+/.test(p.err()), 5000, 'the admin listener')
  const admin = `http://127.0.0.1:${/admin listening address=\S+ port=(\d+)/.exec(p.err())![1]}`
  const auth = ['-H', 'Authorization: Bearer cli-spec-token-0123456789']
  p.child.kill('SIGHUP')
  await waitFor(() => /info reloaded/.test(p.err()), 5000, 'the reload')
  assert.match(await curl(`${admin}/metrics`, ...auth), /\nrawproxy_config_reloads_total\{result="ok"\} 1\n/)
  assert.match(await curl(`${admin}/ready`, '-i'), /^HTTP\/1\.1 200 /)
  const seen = a.requests.length
  const slow = curl(`http://127.0.0.1:${port}/slower`)
  await waitFor(() => a.requests.length > seen, 5000, 'the slow request at the peer') // not a fixed sleep: curl may start late on a busy machine
  p.child.kill('SIGTERM')
  await sleep(50) // the signal is handled at once; the request has 2 s to go
  assert.match(await curl(`${admin}/ready`, '-i'), /^HTTP\/1\.1 503 /)
  assert.match(await curl(`${admin}/live`, '-i'), /^HTTP\/1\.1 200 /)
  assert.is(await slow, 'from-a')
  assert.is(await p.exited, 0)
})

t('the demo starts two upstreams behind the proxy', async () => {
  const p = run(['--demo'])
  try {
    await waitFor(() => /Press Ctrl-C/.test(p.out()) || p.child.exitCode !== null, 5000, 'the demo')
    if (p.child.exitCode !== null) {
      // Demo ports taken on this machine: the failure must say so.
      assert.match(p.err(), /EADDRINUSE|listen failed/)
      return
    }
    const body = await curl('http://127.0.0.1:8080/b/hello')
    assert.match(body, /^upstream-b: GET \/b\/hello/)
    // The features it shows off: basic auth on /admin, a rule's answer, a request ID on every response.
    assert.match(await curl('http://127.0.0.1:8080/admin', '-i'), /^HTTP\/1\.1 401 [^]*WWW-Authenticate: Basic realm="rawproxy demo"/)
    assert.match(await curl('http://127.0.0.1:8080/admin', '-u', 'demo:demo'), /^upstream-b: GET \/admin/)
    const hc = await curl('http://127.0.0.1:8080/healthz', '-i')
    assert.match(hc, /^HTTP\/1\.1 200 [^]*\r\nX-Request-ID: [0-9a-f-]{36}\r\n[^]*\r\nok\n$/)
    const limited = await curl('http://127.0.0.1:8080/limited', '-i')
    assert.match(limited, /\r\nRateLimit: "demo";r=4;t=1\r\n/, limited)
    // The admin API, with the token the help printed.
    const token = /token (\S+):/.exec(p.out())![1]
    assert.match(await curl('http://127.0.0.1:9901/metrics', '-i'), /^HTTP\/1\.1 401 /)
    assert.match(await curl('http://127.0.0.1:9901/metrics', '-H', `Authorization: Bearer ${token}`), /\nrawproxy_requests_total\{route="\*\/b",upstream="only_b",class="2xx",code="",cause="--"\} 1\n/)
    assert.match(await curl('http://127.0.0.1:8080/cached', '-i'), /\r\nCache-Status: rawproxy; fwd=uri-miss; fwd-status=200; ttl=\d+; stored\r\n/)
    assert.match(await curl('http://127.0.0.1:8080/cached', '-i'), /\r\nAge: \d+\r\n[^]*Cache-Status: rawproxy; hit; ttl=\d+\r\n/)
  } finally {
    p.child.kill('SIGTERM')
    await p.exited
  }
})

t.run()
