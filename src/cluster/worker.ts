/**
 * One cluster worker: a full proxy (the same Server as a single process) whose config comes from the
 * primary over IPC, never from the file. Forked by src/cluster/primary.ts with this file as `exec`.
 * It listens on the config's addresses through cluster's shared handles, swaps its Runtime when the
 * primary sends a reload, reports its counters, and closes gracefully when told to stop.
 */
import cluster from 'node:cluster'
import type { Config } from '../config/schema.js'
import type { Runtime } from '../proxy/runtime.js'
import { Server } from '../server/server.js'
import { EventLog } from '../log/events.js'
import { FILTERS, afterReload, closeFilters, purge } from '../filters/index.js'
import { countersOf, upstreamOpened, zero } from './counters.js'
import { fromWire, isToWorker, peerKey, PeerAdmin, PeerState, ToPrimary, ToWorker } from './messages.js'
import { Registry } from '../admin/registry.js'
import { featureFamilies } from '../admin/feature-metrics.js'
import { processFamilies } from '../admin/process-metrics.js'
import type { LoggedEvent } from '../log/events.js'
import { fromPrimary } from '../filters/rate-limit/cluster-store.js'
import type { TraceArm } from './traces.js'

/**
 * Where a peer's health, decided once in the primary's active checks, meets this worker's balancer.
 * Called for every `peer-state` message the worker receives (live, or replayed when it was forked;
 * after a reload the new Runtime carries each peer's state over by itself). A state for a group or peer
 * the config no longer has, or for a group whose checks were turned off, is ignored. The primary
 * logged the flip; the worker does not log it again. Passive health stays per worker: each ejects
 * peers on what its own traffic shows.
 */
export function onPeerState(rt: Runtime, state: PeerState): void {
  const g = rt.groups.get(state.group)
  if (g === undefined || g.cfg.health === null) return
  const p = g.peers.find((q) => q.label === state.peer)
  if (p !== undefined) g.setUp(p, state.up, state.reason ?? '', false)
}

/** A peer drained, disabled or enabled by the admin API (the primary logged it). */
function onPeerAdmin(rt: Runtime, m: PeerAdmin): void {
  rt.groups.get(m.group)?.setAdmin(m.peer, m.action, false)
}

/** The events of a worker's log the admin API's stream shows: not the routine ones (a refused connection). */
function forwarded(e: LoggedEvent): boolean {
  return e.level !== 'info' || e.event.startsWith('peer ')
}

type Send = (m: ToPrimary, then?: () => void) => void

export class WorkerProcess {
  readonly #slot: number
  readonly #send: Send
  #server: Server | null = null
  #events: EventLog | null = null
  /** The latest state of every peer the primary told us about, to re-apply after a reload. */
  readonly #peers = new Map<string, PeerState>()
  /** The admin API's peer actions, in order, to re-apply to a runtime started later. */
  readonly #admin = new Map<string, PeerAdmin>()
  /** This process's families beside its Server's (made on the first scrape). */
  #families: Registry | null = null
  /** Upstream sockets opened by runtimes that reloads replaced (their pools are gone from `rt`). */
  #retiredOpened = 0
  #stopping = false
  /** Armings that came before the server started (replayed by the primary at hello). */
  readonly #arms: TraceArm[] = []
  /** start, reload and stop run one after the other, in the order the primary sent them. */
  #queue: Promise<void> = Promise.resolve()

  /** `slot`: the worker's number from 1 to `workers`, kept across restarts (logged as `worker=`). */
  constructor(slot: number, send: Send) {
    this.#slot = slot
    this.#send = send
  }

  handle(m: ToWorker): void {
    switch (m.type) {
      // The verdicts for this process's cluster store (the one stores.ts made), whatever the state.
      case 'rl-v': fromPrimary(m); return
      case 'cache-purge': purge(m.target, m.prefix, m.zone); return
      case 'peer-state':
        this.#peers.set(peerKey(m), m)
        if (this.#server !== null) onPeerState(this.#server.rt, m)
        return
      case 'peer-admin':
        this.#admin.set(peerKey(m), m)
        if (this.#server !== null) onPeerAdmin(this.#server.rt, m)
        return
      case 'snapshot': {
        const counters = this.#server === null ? zero() : countersOf(this.#server, this.#retiredOpened)
        this.#send({ type: 'snapshot', gen: m.gen, counters, peers: [...this.#peers.values()], ...(m.metrics === true ? { metrics: this.#metrics() } : {}) })
        return
      }
      case 'trace-arm':
        if (this.#server === null) this.#arms.push(m)
        else this.#server.tracer.arm(m.count, m.route, m.path, m.id)
        return
      case 'trace-disarm': this.#server?.tracer.disarm(m.id); return
      case 'start': this.#then(() => this.#start(fromWire(m.config), m.trace === true)); return
      case 'reload': this.#then(() => this.#reload(m.gen, fromWire(m.config))); return
      case 'stop': this.#then(() => this.#stop())
    }
  }

  /** Every family of this worker: its Server's, the features', the process's. */
  #metrics(): ReturnType<Registry['read']> {
    if (this.#families === null) {
      this.#families = new Registry()
      for (const f of [...featureFamilies(), ...processFamilies()]) this.#families.add(f)
    }
    return [...(this.#server?.metrics.read() ?? []), ...this.#families.read()]
  }

  /** An exception nothing caught: logged (to stderr before the config named the event log). */
  fault(err: Error): void {
    const error = err.stack ?? String(err)
    if (this.#events !== null) this.#events.log('error', 'uncaught exception', { error })
    else process.stderr.write(`rawproxy worker ${this.#slot}: uncaught exception: ${error}\n`)
  }

  #then(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step)
  }

  async #start(config: Config, trace: boolean): Promise<void> {
    const events = new EventLog(config.event_log, { worker: this.#slot })
    this.#events = events
    const server = new Server(config, events, { checks: false, filters: FILTERS, shared: true })
    try {
      await server.listen()
    } catch (err) {
      const error = (err as Error).message
      events.log('error', 'listen failed', { error })
      events.flushSync()
      this.#send({ type: 'failed', error }, () => process.exit(1))
      return
    }
    this.#server = server
    // Tracing: ids unique in the process group; every record goes to the primary's ring and printer.
    // The slot and the pid: a worker that replaces a dead one in its slot never repeats its ids.
    server.tracer.tag = `w${this.#slot}.${process.pid}`
    server.tracer.all = trace
    server.tracer.watchers.add((record, arm) => this.#send({ type: 'trace', record, arm }))
    for (const a of this.#arms.splice(0)) server.tracer.arm(a.count, a.route, a.path, a.id)
    for (const s of this.#peers.values()) onPeerState(server.rt, s)
    for (const a of this.#admin.values()) onPeerAdmin(server.rt, a)
    // The admin API's event stream, in the primary, shows this worker's warnings and peer events too.
    if (config.admin !== null) events.watchers.add((e) => { if (forwarded(e)) this.#send({ type: 'event', event: e }) })
    events.log('info', 'worker started', { pid: process.pid })
    this.#send({ type: 'ready', addresses: server.addresses() })
  }

  async #reload(gen: number, config: Config): Promise<void> {
    const server = this.#server
    if (server === null || this.#stopping) return
    const old = server.rt
    try {
      await server.reload(config)
    } catch (err) {
      const error = (err as Error).message
      this.#events!.log('error', 'reload refused', { error })
      this.#send({ type: 'reload-failed', gen, error })
      return
    }
    this.#retiredOpened += upstreamOpened(old)
    await afterReload(config)
    // No replay here: the new Runtime took each peer's health over from the old one (Group.start),
    // and replaying older messages could undo that for a peer the config dropped and added back.
    this.#send({ type: 'reloaded', gen })
  }

  /** Graceful: listeners closed (the primary sends new connections elsewhere), exchanges finish. */
  async #stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    const server = this.#server
    if (server !== null) {
      this.#events!.log('info', 'worker stopping', { pid: process.pid, connections: server.connections })
      await server.close()
    }
    await closeFilters()
    const counters = server === null ? zero() : countersOf(server, this.#retiredOpened)
    // This worker's share of the primary's "stopped" line (how evenly the connections were spread).
    this.#events?.log('info', 'worker stopped', { pid: process.pid, ...counters })
    this.#events?.flushSync()
    this.#send({ type: 'stopped', counters }, () => process.exit(0))
  }
}

function main(): void {
  const slot = Number(process.env.RAWPROXY_WORKER ?? cluster.worker!.id)
  const w = new WorkerProcess(slot, (m, then) => { process.send!(m, undefined, undefined, () => then?.()) })
  process.on('message', (m) => { if (isToWorker(m)) w.handle(m) })
  // The primary decides. A terminal's Ctrl-C or hangup reaches the whole process group, so these
  // signals arrive here too: the primary's answer (a stop or a reload message) is what counts.
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGUSR2'] as const) process.on(sig, () => {})
  // SIGTERM sent to this worker alone: close gracefully; the primary starts a replacement.
  process.on('SIGTERM', () => w.handle({ type: 'stop' }))
  // As in a single process (src/signals.ts): a bug, logged loudly; the worker keeps serving.
  process.on('uncaughtException', (err) => w.fault(err))
  process.send!({ type: 'hello' } satisfies ToPrimary)
}

if (cluster.isWorker) main()
