/**
 * A real Prometheus server (Debian's `prometheus` package) scrapes the admin API every second, with
 * the bearer token; its HTTP API must show the request counter rise as requests go through.
 * Prometheus cannot listen on port 0: a free port is found by binding 127.0.0.1:0 and closing it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { guard, httpUpstream, raw, deadPort, sleep } from '../support/harness.js'
import { TOKEN, adminProxy } from '../support/admin.js'

const t = suite('metrics scraped by a real Prometheus')
const track = guard(t)

/** The sum of `rawproxy_requests_total` as Prometheus has it now, or -1 when it has no sample yet. */
async function requestsSeen(port: number): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('sum(rawproxy_requests_total)')}`)
    const j = await r.json() as { data: { result: { value: [number, string] }[] } }
    return j.data.result.length === 0 ? -1 : Number(j.data.result[0].value[1])
  } catch {
    return -1 // not listening yet
  }
}

async function until(what: string, ms: number, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

t('Prometheus scrapes every second and sees the request counter rise', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const dir = mkdtempSync(join(tmpdir(), 'rawproxy-prom-'))
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    '  - job_name: rawproxy',
    `    authorization: { type: Bearer, credentials: ${TOKEN} }`,
    `    static_configs: [{ targets: ['127.0.0.1:${ap.adminPort}'] }]`,
    '',
  ].join('\n'))
  const port = await deadPort()
  let log = ''
  const prom: ChildProcess = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
  prom.stdout!.on('data', (d) => { log += d })
  prom.stderr!.on('data', (d) => { log += d })
  const exited = new Promise((r) => prom.on('exit', r))
  try {
    for (let i = 0; i < 3; i++) await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await until(`a first scrape with 3 requests; prometheus: ${log}`, 10_000, async () => (await requestsSeen(port)) === 3)
    for (let i = 0; i < 4; i++) await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await until(`the counter at 7; prometheus: ${log}`, 5_000, async () => (await requestsSeen(port)) === 7)
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/targets`)
    const targets = (await r.json() as { data: { activeTargets: { health: string; lastError: string }[] } }).data.activeTargets
    assert.is(targets[0].health, 'up', targets[0].lastError)
  } finally {
    prom.kill('SIGTERM')
    const killer = setTimeout(() => prom.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(killer)
    rmSync(dir, { recursive: true, force: true })
  }
})

t.run()
