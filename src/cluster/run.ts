/**
 * The primary's process, as cli.ts starts it when `workers` > 1: start the workers, then wire the
 * signals (src/signals.ts). SIGHUP re-reads and validates the config file here, once, and the
 * primary sends it to every worker; SIGUSR2 replaces the workers one at a time; SIGTERM and SIGINT
 * stop them all gracefully, and the "stopped" line adds up their counters.
 */
import type { Config } from '../config/schema.js'
import type { EventLog } from '../log/events.js'
import { handleSignals } from '../signals.js'
import { Primary } from './primary.js'
import { Reloader } from '../reload.js'
import { Admin } from '../admin/api.js'
import { ClusterHost } from '../admin/cluster-host.js'
import type { TraceRecord } from '../trace/record.js'

/** Returns an exit code if the workers could not start, else -1: the process lives on its signals. */
export async function runCluster(config: Config, events: EventLog, file: string | undefined, started: Record<string, unknown>,
  print: ((r: TraceRecord) => void) | null = null): Promise<number> {
  // `rawproxy --trace`: the workers trace every request; their records are printed here, in one stream.
  const primary = new Primary(config, events, print !== null)
  if (print !== null) primary.traces.watchers.add(print)
  try {
    await primary.start()
  } catch (err) {
    events.log('error', 'listen failed', { error: (err as Error).message })
    events.flushSync()
    return 1
  }
  const reloader = new Reloader((next) => primary.reload(next), events, file)
  let admin: Admin
  try {
    admin = await Admin.follow(config, new ClusterHost(primary, reloader, String(started.parser)), events, reloader)
  } catch (err) {
    events.log('error', 'admin listen failed', { error: (err as Error).message })
    await primary.stop()
    events.flushSync()
    return 1
  }
  events.log('info', 'started', { pid: process.pid, workers: config.workers, ...started })
  handleSignals({
    stopping: () => { admin.stopping = true; return { workers: primary.pids().length } },
    stop: async () => { const counters = await primary.stop(); await admin.close(); return { ...counters } },
    restart: () => primary.rollingRestart().then(() => ({ pids: primary.pids().join(',') })),
  }, events, reloader)
  return -1
}
