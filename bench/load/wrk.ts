/**
 * One wrk run and what we read from its --latency report.
 */
import { execFile } from 'node:child_process'

export interface WrkResult {
  rps: number
  /** Latency percentiles in milliseconds. */
  p50: number
  p99: number
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number
  requests: number
}

export interface WrkOptions {
  url: string
  seconds: number
  connections: number
  /** CPU for wrk (taskset), null: not pinned. */
  cpu: number | null
  /** Extra request header lines (wrk -H), e.g. `Connection: close` for a new connection per request. */
  headers?: readonly string[]
}

/** Runs wrk once (one thread: it shares one pinned core with the peer) and parses its report. */
export function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '--timeout', '2s',
    ...(o.headers ?? []).flatMap((h) => ['-H', h]), o.url]
  const argv = o.cpu === null ? ['wrk', ...args] : ['taskset', '-c', String(o.cpu), 'wrk', ...args]
  return new Promise((resolve, reject) => {
    // wrk stops itself after -d; the timeout is the bound if it does not.
    execFile(argv[0], argv.slice(1), { timeout: (o.seconds + 15) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err !== null) { reject(new Error(`wrk failed: ${err.message}\n${stderr}`)); return }
      try { resolve(parse(stdout)) } catch (e) { reject(e) }
    })
  })
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

function latency(report: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(report)
  if (m === null) throw new Error(`no ${pct}% line in the wrk report:\n${report}`)
  return Number(m[1]) * UNIT_MS[m[2]]
}

/** Reads Requests/sec, the 50% and 99% latency lines, and the error lines of a wrk report. */
export function parse(report: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(report)
  const total = /^\s*(\d+) requests in/m.exec(report)
  if (rps === null || total === null) throw new Error(`unexpected wrk report:\n${report}`)
  let errors = 0
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report)
  if (sock !== null) errors += sock.slice(1).reduce((a, n) => a + Number(n), 0)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(report)
  if (non2xx !== null) errors += Number(non2xx[1])
  return { rps: Number(rps[1]), p50: latency(report, '50'), p99: latency(report, '99'), errors, requests: Number(total[1]) }
}
