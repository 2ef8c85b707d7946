/**
 * Test support for the cluster specs: the real CLI as a child process (its primary and workers found
 * from the event log), which worker process holds a given client connection (from /proc, Linux), and
 * one-request helpers over raw sockets. Every process started here is killed by `stop()`.
 */
import { spawn, ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { RawClient, raw, sleep, tempFile, waitFor } from './harness.js'

const CLI = join(process.cwd(), 'dist/src/cli.js')

/** Every CLI still running: killed if this process exits without stopping them (a spec that crashed). */
const running = new Set<CliProc>()
process.on('exit', () => { for (const p of running) p.kill() })

export class CliProc {
  readonly child: ChildProcess
  out = ''
  err = ''
  readonly exited: Promise<number | null>

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    this.child.stdout!.on('data', (d) => { this.out += d })
    this.child.stderr!.on('data', (d) => { this.err += d })
    this.exited = new Promise((r) => this.child.on('exit', (code) => { running.delete(this); r(code) }))
    running.add(this)
  }

  /**
   * Waits for the primary's "started" line and every worker's (each process flushes its own lines, in
   * no set order); returns the port the workers listen on.
   */
  async started(ms = 8000): Promise<number> {
    await waitFor(() => /info started pid=/.test(this.err) || this.child.exitCode !== null, ms, `the primary to start; stderr: ${this.err}`)
    if (this.child.exitCode !== null) throw new Error(`the CLI exited: ${this.err}`)
    const n = Number(/info started pid=\d+ workers=(\d+)/.exec(this.err)![1])
    await waitFor(() => this.workers().size === n, ms, `${n} workers; stderr: ${this.err}`)
    return Number(/listening address=\S+ port=(\d+)/.exec(this.err)![1])
  }

  /** Waits until the event log has a line matching `re` (after `from`, an offset into stderr). */
  async line(re: RegExp, ms = 5000, from = 0): Promise<RegExpExecArray> {
    await waitFor(() => re.test(this.err.slice(from)), ms, `${re}; stderr: ${this.err.slice(from)}`)
    return re.exec(this.err.slice(from))!
  }

  /** The latest pid of each worker slot, from the "worker started" lines. */
  workers(): Map<number, number> {
    const m = new Map<number, number>()
    for (const x of this.err.matchAll(/worker started pid=(\d+) worker=(\d+)/g)) m.set(Number(x[2]), Number(x[1]))
    return m
  }

  /**
   * Stops the primary gracefully (so its coverage is written), then kills it and every worker it
   * logged, whatever state the spec left them in.
   */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM')
      await Promise.race([this.exited, sleep(3000)])
    }
    this.kill()
    await this.exited
  }

  /** SIGKILL to the primary and every worker it logged, at once. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    for (const x of this.err.matchAll(/worker started pid=(\d+)/g)) {
      try { process.kill(Number(x[1]), 'SIGKILL') } catch { /* gone already */ }
    }
  }
}

/** What one spec starts, stopped after each test (`t.after.each(() => started.stopAll())`). */
export class Started {
  readonly #procs: CliProc[] = []
  readonly #clients: RawClient[] = []

  /** The CLI with these arguments (and these variables added to the environment). */
  cli(args: string[], env: Record<string, string> = {}): CliProc {
    const p = new CliProc(args, env)
    this.#procs.push(p)
    return p
  }

  /** The CLI on a config file holding `yaml` (written first; a spec may rewrite it for a reload). */
  config(yaml: string, file = tempFile('cluster.yaml')): CliProc {
    writeFileSync(file, yaml)
    return this.cli(['--config', file])
  }

  async client(port: number): Promise<RawClient> {
    const c = await RawClient.open(port)
    this.#clients.push(c)
    return c
  }

  async stopAll(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.destroy()
    for (const p of this.#procs.splice(0)) await p.stop()
  }
}

/** A two-worker config in front of one peer, listening on a port of the system's choice. */
export function twoWorkers(peer: number, extra = ''): string {
  return `workers: 2\nlisten: ["127.0.0.1:0"]\nupstreams:\n  main: { peers: ["127.0.0.1:${peer}"] }\naccess_log: off\n${extra}`
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0')
}

/** The pids among `pids` holding the 127.0.0.1 socket whose /proc/net/tcp row has these ends. */
function holders(local: string, remote: string, pids: Iterable<number>): number[] {
  const row = readFileSync('/proc/net/tcp', 'latin1').split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === local && f[2] === remote)
  if (row === undefined) return []
  const link = `socket:[${row[9]}]`
  return [...pids].filter((pid) => {
    let fds: string[]
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { return false }
    return fds.some((fd) => {
      try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === link } catch { return false /* closed meanwhile */ }
    })
  })
}

/** The pid among `pids` holding the proxy's end of a client connection on 127.0.0.1, or null. */
export function ownerOf(proxyPort: number, client: RawClient, pids: Iterable<number>): number | null {
  return holders(`0100007F:${hexPort(proxyPort)}`, `0100007F:${hexPort(client.socket.localPort!)}`, pids)[0] ?? null
}

/** The pids among `pids` holding the listening socket of 127.0.0.1:port (who accepts). */
export function listeners(port: number, pids: Iterable<number>): number[] {
  return holders(`0100007F:${hexPort(port)}`, '00000000:0000', pids)
}

/** One GET on a kept-alive connection; returns the body (the upstreams answer short bodies). */
export async function get(c: RawClient, path = '/', ms = 3000): Promise<string> {
  c.clear()
  c.send(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`)
  const text = await c.until((s) => {
    const end = s.indexOf('\r\n\r\n')
    const m = /content-length: (\d+)/i.exec(s.slice(0, end))
    return end >= 0 && m !== null && s.length >= end + 4 + Number(m[1])
  }, ms)
  return text.slice(text.indexOf('\r\n\r\n') + 4)
}

/** One GET on a new connection, closed after it; returns the status line and body, or '' on error. */
export async function getOnce(port: number, path = '/'): Promise<string> {
  const r = await raw(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`, { ms: 5000 })
  return r.text === '' ? '' : `${r.text.split('\r\n')[0]} ${r.text.slice(r.text.indexOf('\r\n\r\n') + 4)}`
}
