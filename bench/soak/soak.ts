/**
 * One soak: the proxy CLI (a plain and a TLS listener, an admin listener for /metrics) in front of two
 * peer processes; mixed traffic (traffic.ts) for the duration; a peer killed (SIGKILL) and started
 * again every `peerEvery`, a reload (the config rewritten, SIGHUP) every `reloadEvery`; the proxy's
 * figures sampled every `sampleEvery` (sample.ts). `runSoak` is what `make soak` (bench/soak/run.ts)
 * and the short slice in `make test` (spec/soak/soak.spec.ts) both run.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ready, start, stop, type Proc } from '../load/procs.js'
import { ROOT } from '../load/guard.js'
import { ProxyProc } from '../fuzz/proxy-proc.js'
import { Sampler, growth, row, HEADER, type Growth, type Sample } from './sample.js'
import { Traffic, Windows } from './traffic.js'

export interface SoakOptions {
  durationMs: number
  sampleEvery: number
  reloadEvery: number
  peerEvery: number
  /** Pauses between requests are multiplied by this (2: half the load). */
  scale: number
  progress?: (line: string) => void
}

export interface SoakReport {
  ms: number
  samples: Sample[]
  growth: Growth[]
  counts: Map<string, number>
  answered: number
  unexpected: string[]
  unexpectedCount: number
  reloads: number
  peerRestarts: number
  /** The proxy exited, or logged an uncaught exception. */
  crashes: string[]
}

/** The test PKI of fixtures/tls (made by its script when missing): the listener's certificate and its CA. */
function pki(): { cert: string; key: string; ca: string } {
  const out = join(ROOT, 'fixtures/tls/out')
  if (!existsSync(join(out, 'rsa.pem'))) execFileSync('bash', [join(ROOT, 'fixtures/tls/make-certs.sh')], { stdio: 'ignore' })
  return { cert: join(out, 'rsa.pem'), key: join(out, 'rsa.key'), ca: readFileSync(join(out, 'ca.pem'), 'utf8') }
}

class Peer {
  proc: Proc | null = null
  constructor(readonly name: string, readonly port: number, readonly dir: string) {}
  async start(): Promise<void> {
    this.proc = start(`soak-peer-${this.name}`, null, process.execPath, [join(ROOT, 'dist/bench/soak/peer.js'), String(this.port), this.name], join(this.dir, `peer-${this.name}.log`))
    await ready(this.proc, this.port)
  }
  /** A crash, not a shutdown: SIGKILL to its pid. */
  async kill(): Promise<void> {
    const p = this.proc
    if (p === null) return
    try { process.kill(p.child.pid!, 'SIGKILL') } catch { /* gone */ }
    await p.exited
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const dir = mkdtempSync(join(tmpdir(), 'rawproxy-soak-'))
  const tls = pki()
  const peers = [new Peer('a', await freePort(), dir), new Peer('b', await freePort(), dir)]
  const tlsPort = await freePort()
  const adminPort = await freePort()
  let generation = 0
  const proxy = new ProxyProc((port, log) => `
listen:
  - "127.0.0.1:${port}"
  - { address: "127.0.0.1:${tlsPort}", tls: { certificates: [{ cert: ${JSON.stringify(tls.cert)}, key: ${JSON.stringify(tls.key)} }] } }
upstreams:
  soak:
    peers: ["127.0.0.1:${peers[0].port}", "127.0.0.1:${peers[1].port}"]
    health: { path: /small, interval: 1s, timeout: 500ms }
admin: { listen: "127.0.0.1:${adminPort}" }
via: soak-${generation}
access_log: off
event_log: { path: ${JSON.stringify(log)}, format: text }
timeouts: { client_idle: 10s, upstream_idle: 10s, connect: 1s }
`, 'rawproxy-soak')
  const windows = new Windows()
  const traffic = new Traffic({ port: 0, tlsPort, ca: tls.ca }, windows)
  const sampler = new Sampler(() => proxy.pid, adminPort, () => traffic.answered)
  const started = Date.now()
  const timers: NodeJS.Timeout[] = []
  let reloads = 0
  let restarts = 0
  let over = false
  const restarting: Promise<void>[] = []
  try {
    for (const p of peers) await p.start()
    traffic.target.port = await proxy.start()
    await ready(proxy.proc!, tlsPort)
    await ready(proxy.proc!, adminPort)
    o.progress?.(`soak: ${Math.round(o.durationMs / 1000)} s; proxy pid ${proxy.pid}, ports ${proxy.port} (plain), ${tlsPort} (TLS), peers ${peers.map((p) => p.port).join(', ')}`)
    o.progress?.(HEADER)
    await sampler.take()
    timers.push(setInterval(() => { void sampler.take().then((s) => o.progress?.(row(s)), (e: Error) => o.progress?.(`sample failed: ${e.message}`)) }, o.sampleEvery))
    timers.push(setInterval(() => { generation++; reloads++; proxy.reload() }, o.reloadEvery))
    timers.push(setInterval(() => {
      // A peer crashes, and comes back 3 s later; requests in flight meanwhile may fail (traffic.ts).
      const p = peers[restarts++ % 2]
      const w = windows.open()
      restarting.push(p.kill().then(() => new Promise((r) => setTimeout(r, 3000))).then(() => over ? undefined : p.start()).then(() => { w.end = Date.now() + 5000 })
        .catch((e: Error) => { traffic.unexpectedCount++; traffic.unexpected.push(`peer ${p.name} did not come back: ${e.message}`) }))
    }, o.peerEvery))
    await traffic.run(o.durationMs - (Date.now() - started), o.scale)
    for (const t of timers) clearInterval(t)
    await sampler.take()
  } finally {
    over = true
    for (const t of timers) clearInterval(t)
    await Promise.allSettled(restarting)
    traffic.close()
    await proxy.stop()
    for (const p of peers) if (p.proc !== null) await stop(p.proc)
  }
  const reloaded = (proxy.events().match(/reloaded/g) ?? []).length
  return {
    ms: Date.now() - started, samples: sampler.samples, growth: growth(sampler.samples), counts: traffic.counts, answered: traffic.answered,
    unexpected: traffic.unexpected, unexpectedCount: traffic.unexpectedCount, reloads: Math.min(reloads, reloaded), peerRestarts: restarts,
    crashes: [...proxy.crashes, ...proxy.uncaught()],
  }
}

/** The report as text: the table over time, start and end figures, the verdict on growth, the outcomes. */
export function describeSoak(r: SoakReport): string {
  const first = r.samples[0]
  const last = r.samples[r.samples.length - 1]
  const lines = [
    `soak: ${(r.ms / 1000).toFixed(0)} s, ${r.answered} requests, ${r.reloads} reloads, ${r.peerRestarts} peer kills and restarts, ${r.crashes.length} crashes`,
    `start: RSS ${first.rssMb.toFixed(1)} MB, heap ${first.heapMb.toFixed(1)} MB, ${first.fds} fds; end: RSS ${last.rssMb.toFixed(1)} MB, heap ${last.heapMb.toFixed(1)} MB, ${last.fds} fds`,
    ...r.growth.map((g) => `${g.what}: ${g.what === 'heapMb' ? 'lowest' : 'median'} after warm-up ${g.first.toFixed(2)}, in the last window ${g.last.toFixed(2)}, limit ${g.limit.toFixed(2)}: ${g.grew ? 'GREW' : 'steady'}`),
    `outcomes: ${[...r.counts].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    `unexpected client errors: ${r.unexpectedCount}`,
    ...r.unexpected.map((u) => `  ${u}`),
    ...r.crashes.map((c) => `  crash: ${c.slice(0, 1500)}`),
  ]
  return lines.join('\n')
}

/** The soak passed: nothing grew, no unexpected error, no crash. */
export function passed(r: SoakReport): boolean {
  return r.crashes.length === 0 && r.unexpectedCount === 0 && !r.growth.some((g) => g.grew)
}
