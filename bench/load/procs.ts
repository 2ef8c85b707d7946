/**
 * Starting, watching and stopping the processes of a load run. Every process started goes into one
 * registry, so that the end of the run, an error, Ctrl-C or the watchdog stop all of them.
 */
import { spawn, ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { openSync, closeSync, readFileSync } from 'node:fs'

export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  /** Where its stdout and stderr go (shown when it dies early). */
  readonly log: string
  exited: Promise<number | null>
}

const procs = new Set<Proc>()

/**
 * Runs `cmd args` pinned to `cpu` with taskset (null: not pinned), output to `log`. The child gets its
 * own process group, so that stopping it also stops anything it started.
 */
export function start(name: string, cpu: number | null, cmd: string, args: string[], log: string): Proc {
  const fd = openSync(log, 'a')
  const argv = cpu === null ? [cmd, ...args] : ['taskset', '-c', String(cpu), cmd, ...args]
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], detached: true })
  closeSync(fd)
  const p: Proc = { name, child, log, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) }
  child.on('error', () => { /* reported through 'exit' or the readiness check */ })
  procs.add(p)
  void p.exited.then(() => procs.delete(p))
  return p
}

/** The last lines of a process's log, for an error message. */
export function tail(p: Proc, lines = 15): string {
  try {
    return readFileSync(p.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** SIGTERM to the process group, SIGKILL after `graceMs` if it is still there. */
export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  signal(p, 'SIGTERM')
  const timer = setTimeout(() => signal(p, 'SIGKILL'), graceMs)
  await p.exited
  clearTimeout(timer)
}

function signal(p: Proc, sig: NodeJS.Signals): void {
  try { process.kill(-p.child.pid!, sig) } catch { /* already gone */ }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...procs].map((p) => stop(p)))
}

/** Last resort on exit (synchronous): kill whatever is left. */
export function killAllSync(): void {
  for (const p of procs) signal(p, 'SIGKILL')
}

/** A port that is free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** Waits until 127.0.0.1:port accepts a connection; fails if `p` exits or `ms` pass. */
export async function ready(p: Proc, port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  let dead = false
  void p.exited.then(() => { dead = true })
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${p.name} exited before listening:\n${tail(p)}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${p.name} not listening on ${port} after ${ms} ms:\n${tail(p)}`)
}
