/**
 * The cost of the cluster rate-limit store (src/filters/rate-limit/cluster-store.ts): a take from a
 * worker through the primary's store (src/cluster/rate-limits.ts) and back, over the real IPC channel
 * (node:cluster, JSON), as the CLI wires them. Not in `make bench`; run alone, on an idle machine:
 *
 *   npx tsc -p tsconfig.json && node dist/bench/micro/rate-limit-ipc.js     env: RL_BENCH_SECONDS (3)
 *
 * 1. latency: one worker, one take at a time: median and p99 of the round trip, in µs, with the
 *    turn's flush on setImmediate (the store's) and on queueMicrotask.
 * 2. capacity: 2 workers, each with 256 takes always outstanding: takes/s, takes per message.
 * 3. sockets: 2 workers, each with a TCP server answering a take per line received; a load process
 *    keeps 64 connections per worker busy, one line in flight each: what batching meets under load.
 *    Both flushes, in turns (ROUNDS each); takes/s, takes per message, and the primary's CPU time
 *    per take (what decides when the primary is the bottleneck).
 * 4. accuracy: the same servers behind a limit of 200/s, offered ~2000 lines/s by 16 paced
 *    connections: admitted per second.
 * Every process on the same cores: the numbers compare designs on one machine, nothing more.
 */
import cluster, { Worker } from 'node:cluster'
import { fork, ChildProcess } from 'node:child_process'
import { connect, createServer, AddressInfo, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ClusterStore, fromPrimary } from '../../src/filters/rate-limit/cluster-store.js'
import type { AskBatch, VerdictBatch } from '../../src/filters/rate-limit/cluster-wire.js'
import { RateLimits } from '../../src/cluster/rate-limits.js'
import { validate } from '../../src/config/validate.js'
import type { Ask, Verdict } from '../../src/filters/rate-limit/store.js'

const SECONDS = Number(process.env.RL_BENCH_SECONDS ?? 3)
const ROUNDS = 3
const SELF = fileURLToPath(import.meta.url)
/** Never refused: the IPC is what is measured. */
const OPEN: Ask[] = [{ key: 'bench\u0000open', policy: { kind: 'rate', interval: 0.001, burst: 1_000_000, delay: false }, dry: false }]
const LIMITED: Ask[] = [{ key: 'bench\u0000all', policy: { kind: 'rate', interval: 5, burst: 0, delay: false }, dry: false }]

type Job =
  | { readonly type: 'bench'; readonly job: 'latency'; readonly n: number; readonly defer: Defer }
  | { readonly type: 'bench'; readonly job: 'capacity'; readonly inflight: number; readonly ms: number }
  | { readonly type: 'bench'; readonly job: 'serve'; readonly defer: Defer; readonly limited: boolean }

type Defer = 'immediate' | 'microtask'
const DEFERS: readonly Defer[] = ['immediate', 'microtask']
const deferOf = (d: Defer): ((fn: () => void) => void) => (d === 'immediate' ? setImmediate : queueMicrotask)

// ---- worker: a ClusterStore on the process channel, and the jobs the primary sends ----

function worker(): void {
  let store = new ClusterStore()
  const done = (m: Record<string, unknown>): void => { process.send!({ type: 'bench-done', ...m }) }
  process.on('message', (m: VerdictBatch | Job) => {
    if (m.type === 'rl-v') fromPrimary(m)
    else if (m.job === 'capacity') void capacity(store, m.inflight, m.ms).then((takes) => done({ takes }))
    else {
      // The last store made is the one fromPrimary answers.
      store = new ClusterStore(undefined, 1000, deferOf(m.defer))
      if (m.job === 'latency') void latency(store, m.n).then((us) => done({ us }))
      else void serve(store, m.limited ? LIMITED : OPEN).then((port) => done({ port }))
    }
  })
  process.send!({ type: 'bench-done' })
}

async function latency(store: ClusterStore, n: number): Promise<number[]> {
  const us: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await store.take(OPEN)
    us.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  return us
}

async function capacity(store: ClusterStore, inflight: number, ms: number): Promise<number> {
  let takes = 0
  const end = performance.now() + ms
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (performance.now() < end) { await store.take(OPEN); takes++ }
  }))
  return takes
}

/** One take per line received; answers "1" (admitted) or "0". */
async function serve(store: ClusterStore, asks: Ask[]): Promise<number> {
  const answer = (s: Socket, v: Verdict[]): void => { s.write(v[0].ok ? '1\n' : '0\n') }
  const server = createServer((s) => {
    s.setNoDelay(true)
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) {
        const v = store.take(asks)
        if (Array.isArray(v)) answer(s, v)
        else void v.then((x) => answer(s, x))
      }
    })
  })
  // exclusive: this worker accepts its own connections (not the cluster's shared handle).
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, r))
  return (server.address() as AddressInfo).port
}

// ---- load: connections that keep one line in flight each, closed loop or paced ----

interface Load { readonly ports: number[]; readonly conns: number; readonly ms: number; readonly every: number }

function load(): void {
  process.on('message', async (l: Load) => {
    const socks = await Promise.all(l.ports.flatMap((port) => Array.from({ length: l.conns }, () => open(port))))
    const counts = { admitted: 0, refused: 0 }
    const start = performance.now()
    const end = start + l.ms
    await Promise.all(socks.map((s, i) => drive(s, counts, l.every === 0 ? 0 : start + (i * l.every) / socks.length, l.every, end)))
    for (const s of socks) s.destroy()
    process.send!({ ...counts, seconds: (performance.now() - start) / 1000 })
  })
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)); s.setNoDelay(true) })
}

async function drive(s: Socket, counts: { admitted: number; refused: number }, start: number, every: number, end: number): Promise<void> {
  let next: ((ok: boolean) => void) | null = null
  s.on('data', (d: Buffer) => { for (let i = 0; i < d.length; i += 2) { const n = next; next = null; n?.(d[i] === 0x31) } })
  for (let at = start; ; at += every) {
    const now = performance.now()
    if (now >= end || at >= end) return
    if (at - now >= 1) await new Promise((r) => setTimeout(r, at - now))
    const ok = await new Promise<boolean>((r) => { next = r; s.write('x') })
    if (ok) counts.admitted++
    else counts.refused++
  }
}

// ---- primary: the workers' RateLimits, and the runs ----

async function primary(): Promise<void> {
  cluster.setupPrimary({ exec: SELF, serialization: 'json' })
  const limits = new RateLimits(validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } }, event_log: 'off' }))
  const stats = { messages: 0, takes: 0 }
  const replies = new Map<Worker, (m: Record<string, unknown>) => void>()
  const workers = [cluster.fork(), cluster.fork()]
  for (const w of workers) {
    w.on('message', (m: { type: string } & Record<string, unknown>) => {
      if (m.type === 'rl') {
        const b = m as unknown as AskBatch
        stats.messages++
        stats.takes += b.t.length
        const r = limits.answer(w.id, b)
        if (r !== null) w.send(r)
      } else if (m.type === 'bench-done') {
        replies.get(w)?.(m)
      }
    })
  }
  const ask = (w: Worker, job: Job | null): Promise<Record<string, unknown>> => new Promise((resolve) => {
    replies.set(w, resolve)
    if (job !== null) w.send(job)
  })
  await Promise.all(workers.map((w) => ask(w, null))) // each says it is listening to us

  const n = 20_000
  for (const defer of DEFERS) {
    await ask(workers[0], { type: 'bench', job: 'latency', n: 2000, defer }) // warm-up
    const us = ((await ask(workers[0], { type: 'bench', job: 'latency', n, defer })).us as number[]).sort((a, b) => a - b)
    console.log(`latency, flush on ${defer.padEnd(9)}: 1 worker, one take at a time (${n}): median ${us[n >> 1].toFixed(1)} µs, p99 ${us[Math.floor(n * 0.99)].toFixed(1)} µs`)
  }

  const ms = SECONDS * 1000
  reset(stats)
  const cap = await Promise.all(workers.map((w) => ask(w, { type: 'bench', job: 'capacity', inflight: 256, ms })))
  const takes = cap.reduce((s, r) => s + (r.takes as number), 0)
  console.log(`capacity, 2 workers x 256 outstanding: ${Math.round(takes / SECONDS)} takes/s, ${(stats.takes / stats.messages).toFixed(1)} takes per message`)

  for (let round = 0; round < ROUNDS; round++) {
    for (const defer of DEFERS) {
      const ports = (await Promise.all(workers.map((w) => ask(w, { type: 'bench', job: 'serve', defer, limited: false })))).map((r) => r.port as number)
      reset(stats)
      const cpu = process.cpuUsage()
      const r = await drive2(ports, 64, ms, 0)
      const used = process.cpuUsage(cpu)
      const takes = r.admitted + r.refused
      console.log(`sockets, flush on ${defer.padEnd(9)}: 2 workers x 64 connections: ${Math.round(takes / r.seconds)} takes/s, ` +
        `${(stats.takes / stats.messages).toFixed(1)} takes per message, primary ${((used.user + used.system) / takes).toFixed(1)} µs CPU per take`)
    }
  }

  const ports = (await Promise.all(workers.map((w) => ask(w, { type: 'bench', job: 'serve', defer: 'immediate', limited: true })))).map((r) => r.port as number)
  reset(stats)
  const a = await drive2(ports, 8, ms, 1000 / 2000 * 16) // 16 connections, 2000 lines/s
  const offered = (a.admitted + a.refused) / a.seconds
  console.log(`accuracy, 200/s offered ${Math.round(offered)}/s: ${(a.admitted / a.seconds).toFixed(1)} admitted/s ` +
    `(${a.admitted} in ${a.seconds.toFixed(2)} s), ${stats.messages} messages for ${a.admitted + a.refused} takes`)
  for (const w of workers) w.kill()
}

function reset(s: { messages: number; takes: number }): void { s.messages = 0; s.takes = 0 }

/** The load process: `conns` per port, for `ms`; `every` ms between the lines of one connection (0: at once). */
function drive2(ports: number[], conns: number, ms: number, every: number): Promise<{ admitted: number; refused: number; seconds: number }> {
  const child: ChildProcess = fork(SELF, ['load'], { serialization: 'json' })
  return new Promise((resolve) => {
    child.once('message', (m) => { child.kill(); resolve(m as { admitted: number; refused: number; seconds: number }) })
    child.send({ ports, conns, ms, every } satisfies Load)
  })
}

if (cluster.isWorker) worker()
else if (process.argv[2] === 'load') load()
else void primary()
