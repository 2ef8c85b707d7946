/**
 * CPU time and memory of a design under test, over all of its processes: nginx is a master and a
 * worker, HAProxy or Caddy may fork helpers. Every design is started in its own process group
 * (bench/load/procs.ts spawns detached), so "its processes" are those whose group is that id.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { cpuSeconds } from '../load/noise.js'

const PAGE = (() => {
  try { return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096 } catch { return 4096 }
})()

/** The pids whose process group is `pgid` (from /proc/<pid>/stat: state ppid pgrp ...). */
export function groupPids(pgid: number): number[] {
  const out: number[] = []
  let pids: string[] = []
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)) } catch { return out } // not Linux
  for (const d of pids) {
    try {
      // comm, in parentheses, may hold spaces: split after its closing ") ".
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').slice(0, 1000).split(') ')[1].split(' ')
      if (Number(f[2]) === pgid) out.push(Number(d))
    } catch { /* exited meanwhile */ }
  }
  return out
}

/** CPU seconds (user + system) used so far by the processes of group `pgid`. */
export function groupCpu(pgid: number): number {
  return groupPids(pgid).reduce((a, pid) => a + (cpuSeconds(pid) || 0), 0)
}

/** Resident memory of the processes of group `pgid`, in bytes (/proc/<pid>/statm, 2nd field). */
export function groupRss(pgid: number): number {
  let bytes = 0
  for (const pid of groupPids(pgid)) {
    try { bytes += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE } catch { /* exited */ }
  }
  return bytes
}

/** Samples the group's RSS every `ms` until stopped; the highest sum seen is the run's RSS. */
export function rssSampler(pgid: number, ms = 250): () => number {
  let max = groupRss(pgid)
  const timer = setInterval(() => { max = Math.max(max, groupRss(pgid)) }, ms)
  return () => {
    clearInterval(timer)
    return Math.max(max, groupRss(pgid))
  }
}
