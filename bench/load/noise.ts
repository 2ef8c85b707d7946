/**
 * How busy the rest of the machine was during a run: CPU time of every process that is not ours (not
 * this process nor a descendant) and not a kernel thread. On a shared machine another job on "our"
 * cores skews a row; this puts a number on it, so a noisy row can be spotted and re-run. Also the CPU
 * time of one process, for the cost per request of the design under test, which sharing the machine
 * disturbs far less than requests/s.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const TICKS = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

interface Stat { ppid: number; cpu: number }

function stats(): Map<number, Stat> {
  const out = new Map<number, Stat>()
  let pids: string[] = []
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)) } catch { return out } // not Linux
  for (const d of pids) {
    try {
      // Fields after "(comm)": state ppid ... utime(12th) stime(13th); comm may contain spaces.
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').slice(0, 2000).split(') ')[1].split(' ')
      out.set(Number(d), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICKS })
    } catch { /* exited meanwhile */ }
  }
  return out
}

function foreign(s: Map<number, Stat>, pid: number): boolean {
  // Kernel threads (children of kthreadd, pid 2) do our network work too; they are not "others".
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === process.pid || p === 2) return false
    p = s.get(p)?.ppid ?? 0
  }
  return true
}

/** CPU seconds (user + system) that process `pid` has used so far; NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / TICKS
  } catch {
    return NaN
  }
}

/** Starts a measurement; the function returned gives other processes' CPU use since, in % of one CPU. */
export function otherLoad(): () => number {
  const before = stats()
  const t0 = performance.now()
  return () => {
    const after = stats()
    let cpu = 0
    for (const [pid, s] of after) {
      if (foreign(after, pid)) cpu += s.cpu - (before.get(pid)?.cpu ?? 0)
    }
    return (100 * cpu) / ((performance.now() - t0) / 1000)
  }
}
