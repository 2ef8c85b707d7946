/**
 * The frame of a bench process: run `main`, and whatever way it ends (done, an error, Ctrl-C,
 * SIGTERM, or the time budget passed) stop every process it started (procs.ts) and remove its
 * scratch dir. Also what every bench reads the same way: numeric env settings, the root, the pinning. Used by bench/peers/run.ts; bench/load/run.ts
 * has the same frame inline and can move to this one.
 */
import { rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killAllSync, stopAll } from './procs.js'

/** The repository's root (this file runs from dist/bench/load). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** A number from the environment, `d` when unset; a negative or non-numeric value is refused. */
export function envNumber(k: string, d: number): number {
  const v = Number(process.env[k] ?? d)
  if (!Number.isFinite(v) || v < 0) throw new Error(`${k} must be a number`)
  return v
}

/**
 * Pinning, for every bench: the load side (wrk and the peer) on one CPU, the proxy under test alone on
 * the other (BENCH_LOAD_CPU, BENCH_PROXY_CPU); null on a machine with fewer than two CPUs.
 */
export function pinning(): { loadCpu: number | null; proxyCpu: number | null } {
  const pin = availableParallelism() >= 2
  return { loadCpu: pin ? envNumber('BENCH_LOAD_CPU', 0) : null, proxyCpu: pin ? envNumber('BENCH_PROXY_CPU', 1) : null }
}

/** Runs `main` under the frame above; `label` prefixes its messages, `budgetS` bounds it in seconds. */
export function guard(label: string, budgetS: number, scratch: string, main: () => Promise<void>): void {
  let cleaning = false
  let interrupted = false
  const cleanup = async (): Promise<void> => {
    if (cleaning) return
    cleaning = true
    await stopAll()
    rmSync(scratch, { recursive: true, force: true })
  }
  setTimeout(() => {
    console.error(`${label}: over the time budget of ${budgetS} s, stopping everything`)
    killAllSync()
    rmSync(scratch, { recursive: true, force: true })
    process.exit(1)
  }, budgetS * 1000).unref()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      interrupted = true
      console.error(`\n${label}: ${sig}, stopping every process started`)
      void cleanup().finally(() => process.exit(130))
    })
  }
  process.on('exit', killAllSync) // whatever path we leave by, leave nothing behind
  main().then(cleanup, async (err: Error) => {
    if (interrupted) return // the signal handler cleans up and exits; a wrk cut short is no news
    console.error(`${label}: ${err.message}`)
    await cleanup()
    process.exitCode = 1
  })
}
