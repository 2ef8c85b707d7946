/**
 * The signals of a rawproxy the command line started (cli.ts), the same whether the process serves
 * alone or is a cluster primary (launch.ts starts either): SIGHUP re-reads and validates the config
 * file and hands it over (reload.ts); SIGUSR2 asks for a rolling restart; SIGTERM and SIGINT stop
 * gracefully, then exit. A program using the library keeps its process's signals to itself.
 */
import type { EventLog } from './log/events.js'
import type { Reloader } from './reload.js'

/** What the signals act on: a Server, or the cluster primary. */
export interface Service {
  /** The fields of the "stopping" line. */
  stopping(): Record<string, unknown>
  /** Stops gracefully; resolves with the fields of the "stopped" line. */
  stop(): Promise<Record<string, unknown>>
  /** Replaces the serving processes one at a time; resolves with the fields of the "done" line. */
  restart?(): Promise<Record<string, unknown>>
}

const EARLY = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const

/**
 * Until the service has started, a SIGHUP (a `systemctl reload` just after `start`) or SIGTERM would
 * end the process by the default action, unlogged: they are held instead. The returned function
 * stops holding and hands back what came, in order, for handleSignals's handlers to take.
 */
export function holdSignals(): () => string[] {
  const came: string[] = []
  const handlers = EARLY.map((sig) => { const h = (): void => { came.push(sig) }; process.on(sig, h); return [sig, h] as const })
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h)
    return came
  }
}

/** `reloader`: what SIGHUP runs (the admin API's POST /reload runs the same). */
export function handleSignals(service: Service, events: EventLog, reloader: Reloader): void {
  process.on('SIGHUP', () => { void reloader.run() })
  // Without a handler SIGUSR2 would end the process: a single process says why it does nothing.
  process.on('SIGUSR2', () => {
    if (service.restart === undefined) { events.log('warn', 'rolling restart ignored', { reason: 'workers: 1, no worker to replace' }); return }
    events.log('info', 'rolling restart')
    service.restart().then(
      (fields) => events.log('info', 'rolling restart done', fields),
      (err: Error) => events.log('error', 'rolling restart stopped', { error: err.message }),
    )
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    events.log('info', 'stopping', { signal, ...service.stopping() })
    void service.stop().then((fields) => {
      events.log('info', 'stopped', fields)
      events.flushSync()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('uncaughtException', (err) => {
    // A bug, not a client's doing: log it loudly; the proxy keeps serving.
    events.log('error', 'uncaught exception', { error: err.stack ?? String(err) })
  })
}
