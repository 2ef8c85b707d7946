/**
 * rawproxy as a separate process (the CLI on a config file), so that a crash is seen as an exit and
 * a fault it survives as an `uncaught exception` line in its event log. Used by the fuzz and soak
 * campaigns; every process is started through bench/load/procs.ts and stopped by its pid.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ready, start, stop, tail, type Proc } from '../load/procs.js'
import { ROOT } from '../load/guard.js'

export class ProxyProc {
  readonly dir = mkdtempSync(join(tmpdir(), 'rawproxy-campaign-'))
  readonly configFile = join(this.dir, 'rawproxy.yaml')
  readonly log = join(this.dir, 'events.log')
  port = 0
  proc: Proc | null = null
  /** Exits not asked for, each with the last lines of the log. */
  readonly crashes: string[] = []
  #stopping = false

  /** `config(port)`: the YAML, listening on `port` (the event log goes to `this.log`). */
  constructor(readonly config: (port: number, log: string) => string, readonly name = 'rawproxy') {}

  get pid(): number {
    return this.proc?.child.pid ?? 0
  }

  async start(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      if (this.port === 0) this.port = await freePort()
      writeFileSync(this.configFile, this.config(this.port, this.log))
      const seen = this.events().length // this attempt's lines come after
      const mine = (): string => this.events().slice(seen)
      const p = start(this.name, null, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', this.configFile], join(this.dir, 'stdio.log'))
      this.proc = p
      let listening = false
      void p.exited.then((code) => {
        // An exit before listening fails the start itself (below), not counted as a crash.
        if (this.#stopping || this.proc !== p || !listening) return
        this.crashes.push(`exit ${code ?? p.child.signalCode}:\n${tail(p, 30)}\n${this.events().slice(-3000)}`)
      })
      let failed: Error | null = null
      try {
        await ready(p, this.port)
        // Another socket on the port may have answered for it: wait for the proxy's own word, its
        // "listening" event or its failure to bind.
        const until = Date.now() + 5000
        while (Date.now() < until && p.child.exitCode === null && !new RegExp(`listening.*port.?.?${this.port}|EADDRINUSE`).test(mine())) {
          await new Promise((r) => setTimeout(r, 20))
        }
      } catch (err) {
        failed = err as Error
      }
      const events = mine()
      // freePort's port was taken before the proxy bound it (any bind to port 0 may get it): another.
      if (/EADDRINUSE/.test(events) && attempt < 3) { await stop(p); this.port = 0; continue }
      if (failed !== null) throw new Error(`${failed.message}\n${events.slice(-2000)}`)
      listening = true
      return this.port
    }
  }

  /** Alive, or started again after a crash (which `crashes` keeps). */
  async alive(): Promise<boolean> {
    const p = this.proc
    if (p !== null && p.child.exitCode === null && p.child.signalCode === null) return true
    await this.start()
    return false
  }

  /** Writes the config again (its function may now give another) and sends SIGHUP: a reload. */
  reload(): void {
    writeFileSync(this.configFile, this.config(this.port, this.log))
    this.proc?.child.kill('SIGHUP')
  }

  /** The event log so far. */
  events(): string {
    try { return readFileSync(this.log, 'utf8') } catch { return '' }
  }

  /** `uncaught exception` lines: faults the proxy survived but that are bugs. */
  uncaught(): string[] {
    return this.events().split('\n').filter((l) => l.includes('uncaught exception'))
  }

  async stop(): Promise<void> {
    this.#stopping = true
    if (this.proc !== null) await stop(this.proc)
  }
}
