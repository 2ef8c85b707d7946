/**
 * Test support: a real redis-server (Debian's, installed by .ci/run) as a child process on 127.0.0.1,
 * without persistence, for the Redis store's specs. Stopped by its PID: by `stop`, and by SIGKILL
 * when this process exits, so a failed spec leaves no server behind.
 */
import { spawn, ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deadPort, sleep } from './harness.js'

const BIN = process.env.REDIS_SERVER ?? 'redis-server'

/** Does something on `port` answer PING with PONG within `ms`? */
export function pong(port: number, ms = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    let got = ''
    const done = (ok: boolean): void => { clearTimeout(timer); s.destroy(); resolve(ok) }
    const timer = setTimeout(() => done(false), ms)
    s.on('connect', () => s.write('PING\r\n'))
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) done(got.startsWith('+PONG')) })
    s.on('error', () => done(false))
  })
}

export class RedisServer {
  readonly port: number
  readonly #dir: string
  #child: ChildProcess | null = null
  #exited: Promise<void> = Promise.resolve()
  /** Output of the current server, for the error when it does not come up. */
  #out = ''
  readonly #onExit = (): void => { this.#kill('SIGKILL') }

  private constructor(port: number, dir: string) {
    this.port = port
    this.#dir = dir
  }

  /** A server on a free port. Redis cannot listen on port 0: take one that was free, retry if it was taken meanwhile. */
  static async start(): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'rawproxy-redis-'))
    let last: unknown
    for (let i = 0; i < 5; i++) {
      const r = new RedisServer(await deadPort(), dir)
      try {
        await r.restart()
        return r
      } catch (err) {
        last = err
        await r.stop()
      }
    }
    throw last
  }

  get url(): string { return `redis://127.0.0.1:${this.port}` }
  get pid(): number { return this.#child?.pid ?? 0 }

  /** Starts (again) on the same port and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error('redis-server already running')
    this.#out = ''
    const child = spawn(BIN, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    const append = (d: Buffer): void => { this.#out = (this.#out + d.toString()).slice(-2000) }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    let gone = false
    this.#exited = new Promise((r) => child.once('exit', () => { gone = true; r() }))
    child.once('error', (err) => { this.#out += String(err) })
    process.on('exit', this.#onExit)
    const end = Date.now() + 5000
    while (!(await pong(this.port))) {
      if (gone || Date.now() > end) {
        await this.stop()
        throw new Error(`redis-server on port ${this.port} did not come up: ${this.#out}`)
      }
      await sleep(20)
    }
  }

  /** Kills the server (SIGKILL: as a crash, nothing is flushed) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.#child === null) return
    this.#kill('SIGKILL')
    await this.#exited
    this.#child = null
    process.off('exit', this.#onExit)
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers. */
  pause(): void { this.#kill('SIGSTOP') }
  resume(): void { this.#kill('SIGCONT') }

  /** For `guard`'s track(): stopped after the test, its folder removed. */
  async close(): Promise<void> {
    await this.stop()
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #kill(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid
    if (pid === undefined || this.#child!.exitCode !== null || this.#child!.signalCode !== null) return
    try { process.kill(pid, signal) } catch { /* already gone */ }
  }
}
