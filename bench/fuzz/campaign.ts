/**
 * One fuzz campaign: the request and response campaigns side by side, each through its own rawproxy
 * process (the CLI on a config file) in front of its own peer, bounded by a count of inputs and a
 * time cap. `runFuzz` is what `make fuzz` (bench/fuzz/run.ts) and the seeded slice in `make test`
 * (spec/fuzz/campaign.spec.ts) both run.
 */
import { EchoPeer, RawPeer } from './peers.js'
import { ProxyProc } from './proxy-proc.js'
import { requestConnection } from './request-campaign.js'
import { responseConnection, type ResponseCase } from './response-campaign.js'
import { Tally, type Failure } from './tally.js'

export interface FuzzOptions {
  seed: number
  /** Inputs (messages) to try, requests and responses together. */
  count: number
  /** The share of `count` that is requests. */
  requestShare: number
  /** Stop starting connections after this long (the run is then reported as cut by the cap). */
  capMs: number
  /** Client connections at once, per campaign. */
  requestSlots: number
  responseSlots: number
  /** A connection that is not closed (requests) or answered (responses) in this long is a hang. */
  deadlineMs: number
  /** Replay one connection: "request:INDEX" or "response:INDEX". */
  only?: string
  progress?: (line: string) => void
}

export interface FuzzReport {
  seed: number
  ms: number
  cappedByTime: boolean
  requests: Tally
  responses: Tally
  /** The proxy exited (each restarted), or logged an uncaught exception. */
  crashes: string[]
  /** Requests the peer parsed whose echo reached no client. */
  orphans: number
  failures: Failure[]
}

const proxyConfig = (peer: () => number) => (port: number, log: string): string => `
listen: ["127.0.0.1:${port}"]
upstreams:
  fuzz:
    peers: ["127.0.0.1:${peer()}"]
    passive: false
access_log: off
event_log: { path: ${JSON.stringify(log)}, format: text }
timeouts: { header: 2s, keepalive: 5s, client_idle: 3s, connect: 1s, upstream_response: 3s, upstream_idle: 3s }
`

/** Runs `slots` loops taking connection indexes from `next` until it returns -1. */
async function loops(slots: number, next: () => number, one: (index: number, slot: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: slots }, async (_, slot) => {
    for (let i = next(); i >= 0; i = next()) await one(i, slot)
  }))
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const echo = new EchoPeer()
  const plans = new Map<number, ResponseCase>()
  const raw = new RawPeer((id) => plans.get(id))
  await echo.listen()
  await raw.listen()
  const reqProxy = new ProxyProc(proxyConfig(() => echo.port), 'rawproxy-fuzz-requests')
  const resProxy = new ProxyProc(proxyConfig(() => raw.port), 'rawproxy-fuzz-responses')
  const req = new Tally()
  const res = new Tally()
  let cappedByTime = false
  let timer: NodeJS.Timeout | null = null
  try {
    await reqProxy.start()
    await resProxy.start()
    const wantReq = Math.round(o.count * o.requestShare)
    const wantRes = o.count - wantReq
    const [onlyWhich, onlyIndex] = (o.only ?? '').split(':')
    const counter = (t: Tally, want: number, which: string) => {
      let i = 0
      return (): number => {
        if (o.only !== undefined) return which === onlyWhich && i === 0 ? (i++, Number(onlyIndex)) : -1
        if (t.inputs >= want) return -1
        if (Date.now() - started > o.capMs) { cappedByTime = true; return -1 }
        return i++
      }
    }
    // A crashed proxy is started again on its port (and the crash kept); connections in flight fail.
    const watch = async (): Promise<void> => { await reqProxy.alive(); await resProxy.alive() }
    timer = setInterval(() => {
      void watch()
      o.progress?.(`${Math.round((Date.now() - started) / 1000)} s: ${req.inputs} requests, ${res.inputs} responses, ${req.failures + res.failures} failures`)
    }, 10_000)
    await Promise.all([
      loops(o.requestSlots, counter(req, wantReq, 'request'), (i, slot) => requestConnection(o.seed, i, slot, reqProxy.port, echo, req, o.deadlineMs)),
      loops(o.responseSlots, counter(res, wantRes, 'response'), (i) => responseConnection(o.seed, i, resProxy.port, plans, res, o.deadlineMs)),
    ])
    await watch()
  } finally {
    if (timer !== null) clearInterval(timer)
    await reqProxy.stop()
    await resProxy.stop()
    await echo.close()
    await raw.close()
  }
  const crashes = [...reqProxy.crashes, ...resProxy.crashes, ...reqProxy.uncaught(), ...resProxy.uncaught()]
  for (const [n, x] of echo.open) {
    req.fail({ campaign: 'request', index: -1, kind: 'orphan', detail: `the peer parsed request #${n} from ${x.client}, and no client got its answer: ${x.head}`, bytes: '' })
  }
  for (const x of echo.refused) req.fail({ campaign: 'request', index: -1, kind: 'peer-refused', detail: `node:http refused (${x.code}) bytes the proxy forwarded`, bytes: x.bytes })
  return { seed: o.seed, ms: Date.now() - started, cappedByTime, requests: req, responses: res, crashes, orphans: echo.open.size, failures: [...req.kept, ...res.kept] }
}

/** The report as text: what was tried, what failed, how to replay. */
export function describe(r: FuzzReport): string {
  const s = r.ms / 1000
  const rate = (r.requests.inputs + r.responses.inputs) / s
  const lines = [
    `fuzz: seed ${r.seed}, ${s.toFixed(1)} s${r.cappedByTime ? ' (stopped by the time cap)' : ''}, ${Math.round(rate)} inputs/s`,
    `requests:  ${r.requests.inputs} (${r.requests.mutated} mutated) on ${r.requests.connections} connections; ${r.requests.forwarded} forwarded and checked; ${r.requests.outcomeList()}`,
    `responses: ${r.responses.inputs} (${r.responses.mutated} mutated) on ${r.responses.connections} connections; ${r.responses.outcomeList()}`,
    `request mutators: ${list(r.requests.mutators)}`,
    `response mutators: ${list(r.responses.mutators)}`,
    `crashes: ${r.crashes.length}, hangs: ${hangs(r)}, failures: ${r.requests.failures + r.responses.failures} (by kind: ${[...kinds(r)].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`,
  ]
  for (const f of r.failures.slice(0, 20)) lines.push(`  ${f.kind} [${f.campaign}:${f.index}] ${f.detail.slice(0, 400)}\n    bytes: ${JSON.stringify(f.bytes.slice(0, 400))}`)
  for (const c of r.crashes.slice(0, 5)) lines.push(`  crash: ${c.slice(0, 1500)}`)
  if (r.failures.length > 0) lines.push(`replay one: make fuzz SEED=${r.seed} ONLY=<campaign>:<index>`)
  return lines.join('\n')
}

function list(m: Map<string, number>): string {
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')
}

function kinds(r: FuzzReport): Map<string, number> {
  const m = new Map(r.requests.kinds)
  for (const [k, v] of r.responses.kinds) m.set(k, (m.get(k) ?? 0) + v)
  return m
}

export function hangs(r: FuzzReport): number {
  return kinds(r).get('hang') ?? 0
}
