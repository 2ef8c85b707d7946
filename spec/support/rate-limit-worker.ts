/**
 * Test support: a cluster worker's rate-limit store driven by a spec, before the rate_limit filter
 * calls it. Loaded into the real CLI's processes with NODE_OPTIONS=--import (`Control.env`); it does
 * nothing in the primary. In each worker it connects to the spec's control port (RL_SPEC_PORT), says
 * which worker it is, and runs the takes and releases the spec sends as JSON lines on the store
 * storeFor() gives a worker (the ClusterStore that worker.ts answers). It counts the rate-limit
 * messages the worker sends: a take answered without one did not cross the channel.
 *
 * The spec's end is `Control`, below.
 */
import cluster from 'node:cluster'
import { connect, createServer, AddressInfo, Server, Socket } from 'node:net'
import { storeFor } from '../../src/filters/rate-limit/stores.js'
import type { ClusterStore } from '../../src/filters/rate-limit/cluster-store.js'
import type { Ask, Verdict, Verdicts } from '../../src/filters/rate-limit/store.js'

/** What the spec sends: `times` copies of `asks`, taken in one turn; or keys to release. */
export interface Command { readonly id: number; readonly asks?: Ask[]; readonly times?: number; readonly release?: string[] }

export interface Answer {
  readonly id: number
  /** The verdicts of each take, in order. */
  readonly verdicts: Verdict[][]
  /** Which takes were answered by a fault (fail open): their `fault` mark, lost to JSON otherwise. */
  readonly fault: boolean[]
  /** How many takes were answered synchronously. */
  readonly sync: number
  /** Rate-limit messages this worker sent meanwhile. */
  readonly sent: number
  readonly faults: number
  readonly cached: number
}

function main(port: number): void {
  const store = storeFor({ memory: { max_keys: 100_000 } }, null, null!) as ClusterStore
  let sent = 0
  const send = process.send!.bind(process) as (...args: unknown[]) => boolean
  process.send = ((...args: unknown[]) => {
    if ((args[0] as { type?: unknown }).type === 'rl') sent++
    return send(...args)
  }) as typeof process.send

  const run = async (c: Command): Promise<Answer> => {
    const before = sent
    for (const k of c.release ?? []) store.release(k)
    const takes = Array.from({ length: c.asks === undefined ? 0 : c.times ?? 1 }, () => store.take(c.asks!))
    const sync = takes.filter((x) => !(x instanceof Promise)).length
    const verdicts = await Promise.all(takes)
    await new Promise((r) => setImmediate(r)) // a turn of releases only is sent on the next check phase
    const fault = verdicts.map((v: Verdicts) => v.fault === true)
    return { id: c.id, verdicts, fault, sync, sent: sent - before, faults: store.faults, cached: store.cached }
  }

  const sock = connect(port, '127.0.0.1')
  sock.setEncoding('utf8')
  sock.on('error', () => {})
  let buf = ''
  sock.on('data', (d: string) => {
    buf += d
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const c = JSON.parse(buf.slice(0, i)) as Command
      buf = buf.slice(i + 1)
      void run(c).then((a) => sock.write(`${JSON.stringify(a)}\n`))
    }
  })
  sock.write(`${JSON.stringify({ slot: Number(process.env.RAWPROXY_WORKER), pid: process.pid })}\n`)
}

if (cluster.isWorker && process.env.RL_SPEC_PORT !== undefined) main(Number(process.env.RL_SPEC_PORT))

/** One worker as the spec sees it: send a command, get its answer. */
export class WorkerLink {
  readonly slot: number
  readonly pid: number
  readonly #sock: Socket
  readonly #waiting = new Map<number, (a: Answer) => void>()
  #id = 0

  constructor(slot: number, pid: number, sock: Socket) {
    this.slot = slot
    this.pid = pid
    this.#sock = sock
  }

  /** `times` takes of `asks` in one turn of the worker. */
  take(asks: Ask[], times = 1): Promise<Answer> {
    return this.#call({ asks, times })
  }

  release(...keys: string[]): Promise<Answer> {
    return this.#call({ release: keys })
  }

  answered(a: Answer): void {
    this.#waiting.get(a.id)?.(a)
    this.#waiting.delete(a.id)
  }

  #call(c: Omit<Command, 'id'>): Promise<Answer> {
    const id = ++this.#id
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve)
      this.#sock.write(`${JSON.stringify({ ...c, id })}\n`)
    })
  }
}

/** The spec's end: a control port the workers connect to; the latest link of each worker slot. */
export class Control {
  readonly #server: Server
  readonly #links = new Map<number, WorkerLink>()
  readonly #socks = new Set<Socket>()

  private constructor(server: Server) {
    this.#server = server
    server.on('connection', (sock) => this.#accept(sock))
  }

  static async open(): Promise<Control> {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return new Control(server)
  }

  /** The environment that loads the fixture into the CLI's processes and points them here. */
  env(): Record<string, string> {
    const port = String((this.#server.address() as AddressInfo).port)
    return { RL_SPEC_PORT: port, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${import.meta.url}`.trim() }
  }

  /** The worker in `slot`; `not`: waits for another process than that one (a replacement). */
  async worker(slot: number, not = 0, ms = 8000): Promise<WorkerLink> {
    // Polled, as harness.ts's waitFor (not imported: this file also loads into every worker).
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) {
      const l = this.#links.get(slot)
      if (l !== undefined && l.pid !== not) return l
    }
    throw new Error(`worker ${slot} did not reach the control port within ${ms} ms`)
  }

  async close(): Promise<void> {
    for (const s of this.#socks) s.destroy()
    await new Promise((r) => this.#server.close(r))
  }

  #accept(sock: Socket): void {
    this.#socks.add(sock)
    sock.setEncoding('utf8')
    sock.on('error', () => {})
    sock.on('close', () => this.#socks.delete(sock))
    let link: WorkerLink | null = null
    let buf = ''
    sock.on('data', (d: string) => {
      buf += d
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, i)) as Answer & { slot: number; pid: number }
        buf = buf.slice(i + 1)
        if (link === null) this.#links.set(m.slot, link = new WorkerLink(m.slot, m.pid, sock))
        else link.answered(m)
      }
    })
  }
}
