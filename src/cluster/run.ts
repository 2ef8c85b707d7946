/**
 * The primary's process, as cli.ts starts it when `workers` > 1: start the workers, then wire the
 * signals. SIGHUP re-reads and validates the config file here, once, and sends it to every worker;
 * SIGUSR2 replaces the workers one at a time; SIGTERM and SIGINT stop them all gracefully.
 */
import { loadFile } from '../config/load.js'
import type { Config } from '../config/schema.js'
import type { EventLog } from '../log/events.js'
import { Primary } from './primary.js'

/** Returns an exit code if the workers could not start, else -1: the process lives on its signals. */
export async function runCluster(config: Config, events: EventLog, file: string | undefined, started: Record<string, unknown>): Promise<number> {
  const primary = new Primary(config, events)
  try {
    await primary.start()
  } catch (err) {
    events.log('error', 'listen failed', { error: (err as Error).message })
    events.flushSync()
    return 1
  }
  events.log('info', 'started', { pid: process.pid, workers: config.workers, ...started })

  process.on('SIGHUP', () => {
    if (file === undefined) { events.log('warn', 'reload ignored', { reason: 'no --config file' }); return }
    let next: Config
    try {
      next = loadFile(file)
    } catch (err) {
      // Refused here, before any worker sees it: every worker keeps the last good config.
      events.log('error', 'reload refused', { error: (err as Error).message })
      return
    }
    primary.reload(next).then(
      () => events.log('info', 'reloaded', { config: file, workers: primary.pids().length }),
      (err: Error) => events.log('error', 'reload refused', { error: err.message }),
    )
  })
  process.on('SIGUSR2', () => {
    events.log('info', 'rolling restart', { workers: primary.pids().length })
    primary.rollingRestart().then(
      () => events.log('info', 'rolling restart done', { pids: primary.pids().join(',') }),
      (err: Error) => events.log('error', 'rolling restart stopped', { error: err.message, pids: primary.pids().join(',') }),
    )
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    events.log('info', 'stopping', { signal, workers: primary.pids().length })
    void primary.stop().then((total) => {
      // The workers' final counters, added up: one line for the whole run.
      events.log('info', 'stopped', { ...total })
      events.flushSync()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('uncaughtException', (err) => {
    events.log('error', 'uncaught exception', { error: err.stack ?? String(err) })
  })
  return -1
}
