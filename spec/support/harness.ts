/**
 * Test support: a proxy in this process on 127.0.0.1:0, real upstreams on loopback, and raw clients.
 * No mocks: every byte crosses a real socket.
 */
import { createServer, connect, Server as NetServer, Socket, AddressInfo } from 'node:net'
import { connect as tlsConnect, ConnectionOptions } from 'node:tls'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { createServer as createHttpServer, Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import { Server } from '../../src/server/server.js'
import { validate } from '../../src/config/validate.js'
import { EventLog } from '../../src/log/events.js'
import { FILTERS } from '../../src/filters/index.js'

export interface ProxyHandle {
  server: Server
  port: number
  url: string
  close(): Promise<void>
}

/** Starts a proxy in-process. `cfg` is the raw config (as YAML would give), without `listen`. */
export async function startProxy(cfg: Record<string, unknown>): Promise<ProxyHandle> {
  const config = validate({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', ...cfg })
  const server = new Server(config, new EventLog({ path: 'off', format: 'text' }), { filters: FILTERS })
  await server.listen()
  const port = server.addresses()[0].port
  return { server, port, url: `http://127.0.0.1:${port}`, close: () => server.close(200) }
}

/** A proxy in front of the given upstream ports (one group "u", one catch-all route). */
export function proxyTo(ports: number[], extra: Record<string, unknown> = {}): Promise<ProxyHandle> {
  const { upstream, ...rest } = extra as { upstream?: Record<string, unknown> }
  return startProxy({
    upstreams: { u: { peers: ports.map((p) => `127.0.0.1:${p}`), ...(upstream ?? {}) } },
    ...rest,
  })
}

export interface HttpUpstream {
  server: HttpServer
  port: number
  /** Requests seen, with their heads as Node parsed them. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; rawHeaders: string[]; body: Buffer }[]
  /** TCP connections accepted (to observe pooling). */
  connections: number
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

/** A node:http upstream that records each request and answers with `handler` (default: 200 "ok"). */
export async function httpUpstream(handler?: Handler): Promise<HttpUpstream> {
  const requests: HttpUpstream['requests'] = []
  const u = { requests, connections: 0 } as HttpUpstream
  const server = createHttpServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body })
      if (handler) handler(req, res, body)
      else res.end('ok')
    })
  })
  server.on('connection', () => { u.connections++ })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  u.server = server
  u.port = (server.address() as AddressInfo).port
  u.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) })
  return u
}

export interface RawUpstream {
  server: NetServer
  port: number
  /** Every byte received, per connection. */
  received: Buffer[]
  sockets: Socket[]
  close(): Promise<void>
  /** All bytes received on all connections, as latin1. */
  text(): string
}

/** A raw TCP upstream: `onData` sees each connection's bytes and writes what it likes. */
export async function rawUpstream(onData?: (s: Socket, data: Buffer, all: Buffer) => void): Promise<RawUpstream> {
  const u = { received: [], sockets: [] } as unknown as RawUpstream
  const server = createServer((s) => {
    const idx = u.received.length
    u.received.push(Buffer.alloc(0))
    u.sockets.push(s)
    s.on('error', () => {})
    s.on('data', (d: Buffer) => {
      u.received[idx] = Buffer.concat([u.received[idx], d])
      onData?.(s, d, u.received[idx])
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  u.server = server
  u.port = (server.address() as AddressInfo).port
  u.text = () => Buffer.concat(u.received).toString('latin1')
  u.close = () => new Promise<void>((r) => { for (const s of u.sockets) s.destroy(); server.close(() => r()) })
  return u
}

/** A port with nothing listening on it (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface RawResult {
  /** Everything the proxy sent until it closed the connection (or the wait ended). */
  text: string
  /** The proxy closed the connection. */
  closed: boolean
}

/**
 * Sends `data` (a string is latin1; an array is written piece by piece) on a raw socket and collects
 * the reply until the proxy closes, `until` matches, or `ms` passes.
 */
export function raw(port: number, data: string | Buffer | (string | Buffer)[], opts: { until?: (s: string) => boolean; ms?: number; tls?: ConnectionOptions } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    // `tls`: the same bytes inside a TLS connection (spec/tls), sent once the handshake is done.
    const s = opts.tls === undefined ? connect(port, '127.0.0.1') : tlsConnect({ host: '127.0.0.1', port, ...opts.tls })
    const parts: Buffer[] = []
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      s.destroy()
      resolve({ text: Buffer.concat(parts).toString('latin1'), closed })
    }
    const timer = setTimeout(() => finish(false), opts.ms ?? 2000)
    s.on('data', (d: Buffer) => {
      parts.push(d)
      if (opts.until && opts.until(Buffer.concat(parts).toString('latin1'))) finish(false)
    })
    s.on('end', () => finish(true))
    s.on('close', () => finish(true))
    s.on('error', () => finish(true))
    s.on(opts.tls === undefined ? 'connect' : 'secureConnect', async () => {
      const pieces = Array.isArray(data) ? data : [data]
      for (const p of pieces) {
        s.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)
        if (pieces.length > 1) await sleep(5)
      }
    })
  })
}

/** Counts complete HTTP responses in a raw reply (by status lines). */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Waits until `cond` holds, polling; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

// ---- Helpers for the fault, timeout, backpressure, upgrade and shutdown specs ----

/** A fresh path for a log file in a temporary folder. */
export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'rawproxy-')), name)
}

/** The JSON access log records written so far (the log is buffered: this flushes it first). */
/** The access log's records so far, once every line written is in the file (Sink.flushed). */
export async function accessRecords(px: ProxyHandle, file: string): Promise<Record<string, unknown>[]> {
  await px.server.access.drain(2000)
  return accessRecordsNow(px, file)
}

/**
 * The records in the file now, for a `waitFor` that polls: lines of a write still in flight may be
 * missing (the next poll has them).
 */
export function accessRecordsNow(px: ProxyHandle, file: string): Record<string, unknown>[] {
  px.server.access.flushSync()
  let text = ''
  try { text = readFileSync(file, 'utf8') } catch { return [] }
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** Records every uncaught exception and unhandled rejection until `stop`. */
export function recordUncaught(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = []
  const on = (err: unknown): void => { errors.push(err) }
  process.on('uncaughtException', on)
  process.on('unhandledRejection', on)
  return { errors, stop: () => { process.off('uncaughtException', on); process.off('unhandledRejection', on) } }
}

/** A raw client connection kept open across exchanges: write, then wait for what comes back. */
export class RawClient {
  readonly socket: Socket
  data: Buffer = Buffer.alloc(0)
  closed = false
  /** The proxy sent FIN: it will send nothing more. */
  ended = false

  constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => { this.data = Buffer.concat([this.data, d]) })
    socket.on('end', () => { this.ended = true })
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true })
  }

  /** `halfOpen`: the socket stays writable after the proxy's FIN (Node would end it at once otherwise). */
  static open(port: number, halfOpen = false): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen })
      s.once('error', reject)
      s.once('connect', () => { s.off('error', reject); resolve(new RawClient(s)) })
    })
  }

  get text(): string { return this.data.toString('latin1') }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  }

  /** Waits until the received text satisfies `cond` (a string: is contained). */
  async until(cond: string | ((s: string) => boolean), ms = 2000): Promise<string> {
    const f = typeof cond === 'string' ? (s: string) => s.includes(cond) : cond
    await waitFor(() => f(this.text), ms, `reply matching ${String(cond)}; got ${JSON.stringify(this.text.slice(-200))}`)
    return this.text
  }

  /** Waits for the proxy to end or close the connection. */
  async untilClosed(ms = 2000): Promise<void> {
    await waitFor(() => this.ended || this.closed, ms, 'the proxy to close the connection')
  }

  /** Forgets what was received so far. */
  clear(): void { this.data = Buffer.alloc(0) }

  destroy(): void { this.socket.destroy() }

  /** For `guard`'s track(): closed after the test. */
  async close(): Promise<void> { this.socket.destroy() }
}

/**
 * A loopback port whose listener never accepts: a worker thread listens with a tiny backlog and then
 * blocks its event loop, and filler connections take the accept queue. Once it is full the kernel
 * drops new SYNs, so a connect hangs until its timeout, without leaving 127.0.0.1. `hangs` is false
 * where the kernel resets instead (Linux with net.ipv4.tcp_abort_on_overflow=1): then it is no use.
 */
export async function blackhole(): Promise<{ port: number; hangs: boolean; close(): Promise<void> }> {
  const gate = new Int32Array(new SharedArrayBuffer(4))
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads')
    const srv = require('node:net').createServer()
    srv.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      parentPort.postMessage(srv.address().port)
      Atomics.wait(workerData, 0, 0)
      srv.close()
    })
  `, { eval: true, workerData: gate })
  const port = await new Promise<number>((r) => w.once('message', r))
  const fillers: Socket[] = []
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
  }
  await sleep(50)
  const hangs = await new Promise<boolean>((resolve) => {
    const probe = connect(port, '127.0.0.1')
    const done = (ok: boolean): void => { clearTimeout(timer); probe.destroy(); resolve(ok) }
    const timer = setTimeout(() => done(true), 150)
    probe.on('connect', () => done(false))
    probe.on('error', () => done(false))
  })
  return {
    port,
    hangs,
    close: async () => {
      for (const s of fillers) s.destroy()
      Atomics.store(gate, 0, 1)
      Atomics.notify(gate, 0)
      await w.terminate()
    },
  }
}

type Closable = { close(): Promise<void> }

/**
 * The hooks every fault-injecting suite wants: what a test starts (passed through `track`) is closed
 * after it, and at the end no error may have reached `uncaughtException` or `unhandledRejection`.
 */
export function guard(t: { before: (fn: () => void) => void; after: ((fn: () => void) => void) & { each: (fn: () => Promise<void>) => void } }): <T extends Closable>(x: T) => T {
  let open: Closable[] = []
  let uncaught: ReturnType<typeof recordUncaught>
  t.before(() => { uncaught = recordUncaught() })
  t.after.each(async () => {
    for (const x of open.reverse()) await x.close()
    open = []
  })
  t.after(() => {
    uncaught.stop()
    if (uncaught.errors.length > 0) throw new Error(`errors reached uncaughtException: ${uncaught.errors.map(String).join('; ')}`)
  })
  return (x) => { open.push(x); return x }
}
